"""What backoffice/graphql/speed.py and the per-state transition table must not change: the same
answers, and a page whose query count does not grow with its size (issue 15)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import SellerAccount
from accounts.services import seller_account_close
from backoffice.fsm import check_transition, transition_checks, transition_names
from orders.models import Order
from tests import factories as f
from tests.gql import gql

STATES = ["unpaid", "paid", "shipped", "completed", "cancelled", "refunded", "disputed"]

# The page of benchmarks/graphql_page.py: store, balances, history and availableTransitions.
PAGE = """
query($first: Int!) {
  orders(first: $first) {
    edges { node {
      id orderNumber status placedAt amount { amount currency }
      store {
        id name status
        balances { escrow { amount } available { amount } reserve { amount }
                   promotion { amount currency } debt { amount } }
      }
      history { from to transition by at note }
      availableTransitions { name allowed reason code }
    } }
  }
}
"""


@pytest.mark.parametrize("viewer", ["seller", "superuser"])
def test_the_page_of_orders_costs_the_same_queries_for_10_and_100(client, viewer):
    store = f.store()
    client.force_login(f.seller(store) if viewer == "seller" else f.superuser())

    def count(n: int) -> int:
        while Order.objects.count() < n:
            f.order(store, status=STATES[Order.objects.count() % len(STATES)])
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, PAGE, {"first": n})
        assert "errors" not in body, body
        assert len(body["data"]["orders"]["edges"]) == n
        return len(queries)

    assert count(10) == count(100)


def test_the_per_state_table_answers_as_each_transition_checked_alone():
    store = f.store()
    closed = f.store()
    orders = [f.order(store, status=s) for s in STATES] + [f.order(closed)]
    seller_account_close(account_id=closed.pk, actor=None, reason="risk")  # an unpaid order in it
    accounts = [store, closed, f.store(status="frozen")]
    actors = [None, f.superuser(), f.staff("support"), f.seller(store), f.seller(closed)]

    for language in ["en", "zh-hans", "en"]:  # the refusals are kept per language
        with translation.override(language):
            for obj in [*orders, *accounts]:
                obj = type(obj).objects.get(pk=obj.pk)
                for actor in actors:
                    names = transition_names(type(obj))
                    long_way = [check_transition(obj, name, actor) for name in names]
                    assert transition_checks(obj, actor) == long_way, (obj, actor, language)
    with translation.override("zh-hans"):
        reasons = [c.reason for c in transition_checks(orders[0], None) if c.reason]
    assert any("订单" in r for r in reasons), reasons


def test_a_page_answers_plain_columns_and_ids_as_before(client):
    store = f.store(name="Shop")
    order = f.order(store, status="completed", amount="12.50")
    body = gql(client, PAGE, {"first": 5}, user=f.seller(store))

    node = body["data"]["orders"]["edges"][0]["node"]
    assert node["orderNumber"] == order.order_number
    assert node["status"] == "COMPLETED"
    assert node["amount"] == {"amount": "12.50", "currency": "USD"}
    assert node["store"]["name"] == "Shop"
    assert node["store"]["status"] == SellerAccount.Status.ACTIVE.upper()
    assert [h["to"] for h in node["history"]] == ["PAID", "SHIPPED", "COMPLETED"]
    assert node["id"] and node["store"]["id"]


def test_a_known_document_still_meets_the_limits_of_the_request(client, settings):
    """KnownDocuments remembers what the specified rules said, never the depth, alias and
    introspection rules: a document valid once is refused when the limits tighten."""
    store = f.store()
    seller = f.seller(store)
    assert "errors" not in gql(client, PAGE, {"first": 1}, user=seller)
    assert "errors" not in gql(client, PAGE, {"first": 1}, user=seller)  # remembered

    settings.GRAPHQL_MAX_DEPTH = 3
    body = gql(client, PAGE, {"first": 1}, user=seller)
    assert body.get("data") is None and body["errors"], body

    settings.GRAPHQL_INTROSPECTION = "never"
    introspect = "query { __schema { queryType { name } } }"
    for _ in range(2):  # the second time from the remembered validation
        body = gql(client, introspect, user=seller)
        assert body["errors"][0]["extensions"]["code"] == "permission_denied", body


def test_a_refused_document_is_refused_the_same_way_each_time(client):
    seller = f.seller(f.store())
    bad = "query { orders(first: 1) { edges { node { noSuchField } } } }"
    first = gql(client, bad, user=seller)
    assert first["errors"] and "noSuchField" in first["errors"][0]["message"]
    assert gql(client, bad, user=seller) == first
