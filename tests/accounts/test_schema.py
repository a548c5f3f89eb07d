"""The seller-account GraphQL API: transitions, scoping, reads and the viewer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import SellerAccount
from tests import factories as f
from tests.gql import codes, gid, gql, mutate

STATES = ["active", "frozen", "closed"]
EDGES = {
    "sellerAccountFreeze": ({"reason": "RISK", "note": "review"}, {"active"}),
    "sellerAccountUnfreeze": ({"note": "cleared"}, {"frozen"}),
    "sellerAccountClose": ({"reason": "SELLER_REQUEST"}, {"active", "frozen"}),
}
TARGET = {
    "sellerAccountFreeze": "FROZEN",
    "sellerAccountUnfreeze": "ACTIVE",
    "sellerAccountClose": "CLOSED",
}
FORBIDDEN = [(m, s) for m, (_, sources) in EDGES.items() for s in STATES if s not in sources]
ALLOWED = [(m, s) for m, (_, sources) in EDGES.items() for s in sorted(sources)]

ACCOUNTS = """
query($filters: SellerAccountFilter, $order: SellerAccountSort) {
  sellerAccounts(filters: $filters, order: $order) {
    totalCount
    edges { node { name platformStoreId status settlementCurrency freezeReason } }
  }
}
"""

LISTING = """
{
  sellerAccounts(first: 100) {
    totalCount
    edges { node {
      id name status settlementCurrency freezeReason closeReason frozenAt
      history { from to transition by at note }
      availableTransitions { name allowed reason code }
    } }
  }
}
"""


def snapshot(account: SellerAccount) -> tuple:
    account = SellerAccount.objects.get(pk=account.pk)
    return account.status, account.history.count(), account.updated_at


def names(body: dict) -> list[str]:
    return [e["node"]["name"] for e in body["data"]["sellerAccounts"]["edges"]]


@pytest.mark.parametrize(("mutation", "state"), FORBIDDEN)
def test_a_forbidden_account_edge_is_invalid_transition(client, mutation, state):
    account = f.store(status=state)
    before = snapshot(account)

    payload = mutate(
        client, mutation, {"id": gid(account), **EDGES[mutation][0]}, user=f.superuser()
    )

    assert codes(payload) == [("invalid_transition", None)]
    assert snapshot(account) == before


@pytest.mark.parametrize(("mutation", "state"), ALLOWED)
def test_an_allowed_account_edge_moves_the_state_with_the_actor(client, mutation, state):
    risk = f.staff("risk")
    account = f.store(status=state)
    rows = account.history.count()

    payload = mutate(client, mutation, {"id": gid(account), **EDGES[mutation][0]}, user=risk)

    assert payload["status"] == TARGET[mutation]
    assert payload["history"][-1]["by"] == risk.username
    assert account.history.count() == rows + 1


def test_support_staff_cannot_freeze_a_store(client):
    account = f.store()
    before = snapshot(account)

    payload = mutate(
        client,
        "sellerAccountFreeze",
        {"id": gid(account), "reason": "RISK"},
        user=f.staff("support"),
    )

    assert codes(payload) == [("permission_denied", None)]
    assert snapshot(account) == before


def test_seller_account_create(client):
    payload = mutate(
        client,
        "sellerAccountCreate",
        {"storeId": "3000001", "name": "Acme", "settlementCurrency": "CNY"},
        user=f.staff("risk"),
    )
    duplicate = mutate(client, "sellerAccountCreate", {"storeId": "3000001", "name": "Again"})

    assert payload["__typename"] == "SellerAccount"
    assert SellerAccount.objects.get(platform_store_id="3000001").settlement_currency == "CNY"
    assert codes(duplicate) == [("already_exists", "storeId")]


# --- scoping ---


def test_a_seller_sees_only_its_own_store(client):
    mine, theirs = f.store(name="Mine"), f.store(name="Theirs")
    seller = f.seller(mine)
    node = "query($id: ID!) { node(id: $id) { id } }"

    listed = gql(client, ACCOUNTS, user=seller)
    other = gql(client, node, {"id": gid(theirs)})
    own = gql(client, node, {"id": gid(mine)})

    assert names(listed) == ["Mine"]
    assert listed["data"]["sellerAccounts"]["totalCount"] == 1
    assert other == {"data": {"node": None}}
    assert own == {"data": {"node": {"id": gid(mine)}}}


@pytest.mark.parametrize("mutation", list(EDGES))
def test_a_seller_cannot_change_another_store(client, mutation):
    seller, theirs = f.seller(f.store()), f.store(status=sorted(EDGES[mutation][1])[0])
    before = snapshot(theirs)

    payload = mutate(client, mutation, {"id": gid(theirs), **EDGES[mutation][0]}, user=seller)

    assert codes(payload) == [("not_found", "id")]
    assert snapshot(theirs) == before


def test_a_seller_cannot_freeze_or_close_its_own_store(client):
    mine = f.store()
    seller = f.seller(mine)
    before = snapshot(mine)

    freeze = mutate(client, "sellerAccountFreeze", {"id": gid(mine), "reason": "RISK"}, user=seller)
    close = mutate(client, "sellerAccountClose", {"id": gid(mine), "reason": "SELLER_REQUEST"})
    create = mutate(client, "sellerAccountCreate", {"storeId": "3000002", "name": "Mine too"})

    assert codes(freeze) == [("permission_denied", None)]
    assert codes(close) == [("permission_denied", None)]
    assert codes(create) == [("permission_denied", None)]
    assert snapshot(mine) == before


# --- reads ---


def test_me_describes_the_viewer(client):
    store = f.store(name="Mine")
    query = "{ me { username isStaff roles store { name status } } }"

    support = gql(client, query, user=f.staff("support", username="sam"))
    seller = gql(client, query, user=f.seller(store, username="sally"))

    assert support["data"]["me"] == {
        "username": "sam",
        "isStaff": True,
        "roles": ["support"],
        "store": None,
    }
    assert seller["data"]["me"]["store"] == {"name": "Mine", "status": "ACTIVE"}


def test_account_history_and_reasons(client):
    account = f.store(status="frozen")
    query = """query($id: ID!) { node(id: $id) { ... on SellerAccount {
        status freezeReason history { from to by } availableTransitions { name allowed code }
    } } }"""

    node = gql(client, query, {"id": gid(account)}, user=f.staff("risk"))["data"]["node"]

    assert node["status"] == "FROZEN"
    assert node["freezeReason"] == "RISK"
    assert node["history"] == [{"from": "ACTIVE", "to": "FROZEN", "by": None}]
    allowed = {t["name"]: (t["allowed"], t["code"]) for t in node["availableTransitions"]}
    assert allowed == {
        "freeze": (True, None),  # another reason adds a hold
        "unfreeze": (True, None),
        "close": (True, None),
    }


def test_account_filters_and_order(client):
    admin = f.superuser()
    f.store(name="Beta Shop", platform_store_id="900002")
    f.store(name="alpha shop", status="frozen", platform_store_id="900001")
    f.store(name="Gamma", status="closed", platform_store_id="900003")

    def run(variables: dict) -> list[str]:
        body = gql(client, ACCOUNTS, variables, user=admin)
        assert body["data"]["sellerAccounts"]["totalCount"] == len(names(body))
        return names(body)

    assert run({"filters": {"status": {"exact": "FROZEN"}}}) == ["alpha shop"]
    assert run(
        {"filters": {"status": {"inList": ["ACTIVE", "CLOSED"]}}, "order": {"name": "ASC"}}
    ) == ["Beta Shop", "Gamma"]
    assert run({"filters": {"platformStoreId": "900003"}}) == ["Gamma"]
    assert sorted(run({"filters": {"nameContains": "SHOP"}})) == ["Beta Shop", "alpha shop"]
    assert run({"order": {"platformStoreId": "DESC"}}) == ["Gamma", "Beta Shop", "alpha shop"]


@pytest.mark.parametrize("viewer", ["superuser", "risk"])
def test_listing_accounts_costs_the_same_queries_for_10_and_100(client, viewer):
    user = f.superuser() if viewer == "superuser" else f.staff("risk")
    client.force_login(user)

    def count(n: int) -> int:
        while SellerAccount.objects.count() < n:
            f.store(status=STATES[SellerAccount.objects.count() % 3])
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, LISTING)
        assert len(body["data"]["sellerAccounts"]["edges"]) == n
        return len(queries)

    ten, hundred = count(10), count(100)

    assert ten == hundred
    # session + user, permission cache (staff only), accounts, history, active holds
    assert hundred <= 7
