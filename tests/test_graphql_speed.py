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


# --- the executor's shortcuts (backoffice/graphql/executor.py) ---------------------------------


def test_a_page_answers_the_same_without_the_optimizer(client):
    """Without the optimizer nothing is loaded with the page: history is read from its relation
    and the store through strawberry-django's resolver, not from the object's cache."""
    from strawberry_django.optimizer import DjangoOptimizerExtension

    store = f.store()
    for status in STATES:
        f.order(store, status=status)
    seller = f.seller(store)
    optimized = gql(client, PAGE, {"first": 7}, user=seller)
    with DjangoOptimizerExtension.disabled(), CaptureQueriesContext(connection) as queries:
        plain = gql(client, PAGE, {"first": 7}, user=seller)
    assert "errors" not in optimized, optimized
    assert plain == optimized
    assert len(queries) > 10  # row by row: the shortcuts really had nothing loaded to read


def test_each_order_gets_its_own_store_and_each_seller_its_own_rows(client):
    """A model object is completed once per request and selection: orders of two stores on one
    page (a superuser's) each get their own store; two sellers asking the same document get
    their own rows."""
    first, second = f.store(name="First"), f.store(name="Second")
    orders = {f.order(store).order_number: store.name for store in [first, second, first]}
    query = "query { orders(first: 10) { edges { node { orderNumber store { id name } } } } }"

    body = gql(client, query, user=f.superuser())
    got = {
        e["node"]["orderNumber"]: e["node"]["store"]["name"]
        for e in body["data"]["orders"]["edges"]
    }
    assert got == orders
    for store in [first, second]:
        body = gql(client, query, user=f.seller(store))
        names = {e["node"]["store"]["name"] for e in body["data"]["orders"]["edges"]}
        assert names == {store.name}


def test_one_object_under_two_selections_answers_each_selection(client):
    store = f.store(name="Shop")
    for _ in range(2):
        f.order(store)
    query = """
      query($first: Int!) { orders(first: $first) { edges { node {
        store { name } again: store { status balances { available { amount } } }
      } } } }
    """
    for first in [1, 2]:  # the same document with other variables
        body = gql(client, query, {"first": first}, user=f.seller(store))
        nodes = [e["node"] for e in body["data"]["orders"]["edges"]]
        assert len(nodes) == first
        for node in nodes:
            assert node["store"] == {"name": "Shop"}
            assert node["again"] == {
                "status": "ACTIVE",
                "balances": {"available": {"amount": "0.00"}},
            }


def test_an_error_under_a_shared_object_is_reported_at_each_place(client):
    """A subtree that raised is never reused: each order's store reports its own error."""
    store = f.store()
    for _ in range(3):
        f.order(store)
    query = """
      query { orders(first: 3) { edges { node {
        store { name balances(at: "2026-01-01T00:00:00") { available { amount } } }
      } } } }
    """
    body = gql(client, query, user=f.seller(store))
    paths = sorted(tuple(e["path"]) for e in body["errors"])
    assert paths == [("orders", "edges", i, "node", "store", "balances") for i in range(3)]
    for edge in body["data"]["orders"]["edges"]:
        assert edge["node"]["store"]["balances"] is None
