"""The money GraphQL API: balances, reserve schedule and early payout on a store; the ledger
("fund records"); payouts; exchange rates; an order's escrow and refunds."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import seller_account_freeze
from backoffice.deadlines import run_all
from payouts.ledger import store_balances
from payouts.models import (
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    IdempotencyRecord,
    LedgerEntry,
    Payout,
    Posting,
    ReserveHold,
)
from payouts.services import (
    early_payout_set,
    exchange_rate_set,
    payout_mark_failed,
    payout_mark_paid,
    payout_request,
    refund,
)
from tests import factories as f
from tests.gql import codes, error_codes, gid, gql, mutate

DAY = timedelta(days=1)
D = Decimal

STORE = """
query($id: ID!) { node(id: $id) { ... on SellerAccount {
  balances {
    escrow { amount currency } available { amount currency } reserve { amount currency }
    promotion { amount currency } debt { amount currency }
  }
  earlyPayout { eligible reserveRate reason since }
  reserveSchedule {
    totalCount
    edges { node {
      order { id } held { amount currency } remaining { amount } heldAt releaseAt released
    } }
  }
} } }
"""

ACCOUNTS = """
{
  sellerAccounts(first: 100) {
    edges { node {
      id name
      balances { escrow { amount } available { amount } reserve { amount }
                 promotion { amount currency } debt { amount } }
      earlyPayout { eligible reserveRate reason since }
      reserveSchedule(first: 5) { totalCount edges { node {
        held { amount } remaining { amount } releaseAt released
        order { orderNumber escrow { amount } refunds { amount { amount } } }
      } } }
    } }
  }
}
"""

ENTRIES = """
query($filters: LedgerEntryFilter, $order: LedgerEntrySort, $first: Int) {
  ledgerEntries(filters: $filters, order: $order, first: $first) {
    totalCount
    edges { node {
      id account at amount { amount currency }
      posting { reference kind memo }
      store { id name }
      order { id orderNumber status }
      payout { id status amount { amount } }
      refund { id amount { amount } fromEscrow { amount } fromAvailable { amount }
               fromReserve { amount } toDebt { amount } fromProtectionFund { amount } }
    } }
  }
}
"""

PAYOUTS = """
query($filters: PayoutFilter, $order: PayoutSort) {
  payouts(first: 100, filters: $filters, order: $order) {
    totalCount
    edges { node {
      id status currency rate requestedAt paidAt failedAt failureReason requestedBy
      amount { amount currency } payoutAmount { amount currency }
      store { id name }
      history { from to transition by note }
      availableTransitions { name allowed reason code }
    } }
  }
}
"""

RATES = """
query($filters: ExchangeRateFilter, $order: ExchangeRateSort) {
  exchangeRates(filters: $filters, order: $order) {
    totalCount
    edges { node { date currency rateToCny setBy } }
  }
}
"""

ORDER_MONEY = """
query($id: ID!) { node(id: $id) { ... on Order {
  status
  escrow { amount currency }
  refunds { amount { amount } fromEscrow { amount } fromAvailable { amount }
            fromReserve { amount } toDebt { amount } fromProtectionFund { amount } }
} } }
"""


def iso(moment: datetime) -> str:
    return moment.isoformat()


def eligible(store, rate: str = "0.10", at: datetime = f.T0) -> None:
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate=rate, at=at)


def store_view(client, store, user) -> dict:
    body = gql(client, STORE, {"id": gid(store)}, user=user)
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def amounts(view: dict) -> dict[str, str]:
    """The balances as ``{account: amount}``; USD everywhere but the CNY promotion wallet."""
    balances = view["balances"]
    assert {k: v["currency"] for k, v in balances.items()} == {
        "escrow": "USD",
        "available": "USD",
        "reserve": "USD",
        "promotion": "CNY",
        "debt": "USD",
    }
    return {k: v["amount"] for k, v in balances.items()}


def money(**nonzero: str) -> dict[str, str]:
    zero = dict.fromkeys(("escrow", "available", "reserve", "promotion", "debt"), "0.00")
    return zero | nonzero


def schedule(view: dict) -> list[dict]:
    return [e["node"] for e in view["reserveSchedule"]["edges"]]


def funded(amount: str = "100.00", **store_kwargs):
    """A store whose available balance is ``amount`` (one completed order)."""
    store = f.store(**store_kwargs)
    f.order(store, status="completed", amount=amount)
    return store


def available(store) -> Decimal:
    return store_balances(store.pk)["available"]


# --- balances, reserve schedule, early payout ---


@pytest.mark.parametrize("viewer", ["seller", "finance", "superuser"])
def test_balances_schedule_and_terms_follow_payment_early_payout_payout_and_release(
    client, time_machine, viewer
):
    store = f.store()
    user = {"seller": lambda: f.seller(store), "finance": lambda: f.staff("finance")}.get(
        viewer, f.superuser
    )()

    # never evaluated: not eligible, nothing held
    view = store_view(client, store, user)
    assert view["earlyPayout"] == {
        "eligible": False,
        "reserveRate": "0.0000",
        "reason": "not evaluated yet",
        "since": None,
    }
    assert amounts(view) == money()
    assert view["reserveSchedule"] == {"totalCount": 0, "edges": []}

    # eligible at 10 %; a 100.00 order is paid: all in escrow
    early_payout_set(
        store_id=store.pk, actor=None, eligible=True, reserve_rate="0.1", reason="good", at=f.T0
    )
    order = f.order(store, status="shipped", amount="100.00")  # paid T0+1d, shipped T0+2d
    view = store_view(client, store, user)
    assert view["earlyPayout"] == {
        "eligible": True,
        "reserveRate": "0.1000",
        "reason": "good",
        "since": iso(f.T0),
    }
    assert amounts(view) == money(escrow="100.00")

    # 3 days after shipment: 90.00 available, 10.00 held as reserve for the order
    released_at = order.shipped_at + 3 * DAY
    run_all(released_at)
    view = store_view(client, store, user)
    assert amounts(view) == money(available="90.00", reserve="10.00")
    assert schedule(view) == [
        {
            "order": {"id": gid(order)},
            "held": {"amount": "10.00", "currency": "USD"},
            "remaining": {"amount": "10.00"},
            "heldAt": iso(released_at),
            "releaseAt": None,
            "released": False,
        }
    ]

    # a payout of 80.00 leaves 10.00 available
    payout_request(store_id=store.pk, actor=None, amount="80.00", at=released_at + DAY)
    assert amounts(store_view(client, store, user)) == money(available="10.00", reserve="10.00")

    # losing eligibility dates the release 180 days after the notice
    notice = f.T0 + 30 * DAY
    time_machine.move_to(notice, tick=False)
    payload = mutate(
        client,
        "earlyPayoutSet",
        {"id": gid(store), "eligible": False, "reserveRate": "0", "reason": "dispute rate"},
        user=f.staff("finance"),
    )
    assert payload["__typename"] == "SellerAccount"
    view = store_view(client, store, user)
    assert view["earlyPayout"] == {
        "eligible": False,
        "reserveRate": "0.0000",
        "reason": "dispute rate",
        "since": iso(notice),
    }
    assert [h["releaseAt"] for h in schedule(view)] == [iso(notice + 180 * DAY)]

    # the release: the reserve becomes available; the hold shows as released
    run_all(notice + 180 * DAY)
    view = store_view(client, store, user)
    assert amounts(view) == money(available="20.00")
    assert [(h["released"], h["remaining"]["amount"]) for h in schedule(view)] == [(True, "0.00")]


def test_debt_is_the_negative_ledger_balance_while_the_store_owes(client):
    # 100.00 early-paid at 20 % (80 available, 20 reserve), 70.00 withdrawn, then fully refunded
    store = f.store()
    eligible(store, rate="0.20")
    order = f.order(store, status="shipped", amount="100.00")
    run_all(order.shipped_at + 3 * DAY)
    payout_request(store_id=store.pk, actor=None, amount="70.00")
    refund(order, amount=D("100.00"), at=f.T0 + 9 * DAY, reference="t")

    view = store_view(client, store, f.superuser())
    money_view = gql(client, ORDER_MONEY, {"id": gid(order)})["data"]["node"]

    assert amounts(view) == money(debt="-70.00")
    assert schedule(view)[0]["remaining"] == {"amount": "0.00"}
    assert money_view["refunds"] == [
        {
            "amount": {"amount": "100.00"},
            "fromEscrow": {"amount": "0.00"},
            "fromAvailable": {"amount": "10.00"},
            "fromReserve": {"amount": "20.00"},
            "toDebt": {"amount": "70.00"},
            "fromProtectionFund": {"amount": "0.00"},
        }
    ]


def test_reserve_schedule_lists_dated_releases_first_and_filters_by_released(client):
    store = f.store()
    eligible(store)
    first = f.order(store, status="shipped", amount="100.00")
    second = f.order(store, status="shipped", amount="50.00", at=f.T0 + 5 * DAY)
    third = f.order(store, status="shipped", amount="20.00", at=f.T0 + 6 * DAY)
    run_all(third.shipped_at + 3 * DAY)
    # the second hold gets the earliest date, the third a later one, the first none
    ReserveHold.objects.filter(order=second).update(release_at=f.T0 + 100 * DAY)
    ReserveHold.objects.filter(order=third).update(release_at=f.T0 + 200 * DAY)
    query = """query($id: ID!, $filters: ReserveHoldFilter) { node(id: $id) {
        ... on SellerAccount { reserveSchedule(filters: $filters) {
            edges { node { order { id } held { amount } released } } } } } }"""
    admin = f.superuser()

    def orders(filters=None) -> list[str]:
        body = gql(client, query, {"id": gid(store), "filters": filters}, user=admin)
        return [e["node"]["order"]["id"] for e in body["data"]["node"]["reserveSchedule"]["edges"]]

    assert orders() == [gid(second), gid(third), gid(first)]
    listed = gql(
        client,
        "{ sellerAccounts { edges { node { reserveSchedule(first: 2) { edges { node { "
        "order { id } } } } } } } }",
    )
    page = listed["data"]["sellerAccounts"]["edges"][0]["node"]["reserveSchedule"]["edges"]
    assert [e["node"]["order"]["id"] for e in page] == [gid(second), gid(third)]
    run_all(f.T0 + 150 * DAY)  # the second is released
    assert orders() == [gid(third), gid(first), gid(second)]
    assert orders({"released": True}) == [gid(second)]
    assert orders({"released": False}) == [gid(third), gid(first)]


def test_staff_without_money_permissions_see_no_balances(client):
    store = f.store()
    eligible(store)
    order = f.order(store, status="shipped", amount="100.00")
    run_all(order.shipped_at + 3 * DAY)

    view = store_view(client, store, f.staff("support"))

    assert view["balances"] is None
    assert view["earlyPayout"] is None
    assert view["reserveSchedule"] == {"totalCount": 0, "edges": []}


@pytest.mark.parametrize("viewer", ["superuser", "finance"])
def test_listing_accounts_with_money_costs_the_same_queries_for_5_and_20(client, viewer):
    client.force_login(f.superuser() if viewer == "superuser" else f.staff("finance"))

    def count(n: int) -> tuple[int, list]:
        while EarlyPayoutTerms.objects.count() < n:
            store = f.store()
            eligible(store)
            f.order(store, status="shipped", amount="100.00")
            f.order(store, status="refunded", amount="30.00")
        run_all(f.T0 + 10 * DAY)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, ACCOUNTS)
        assert "errors" not in body, body["errors"]
        nodes = [e["node"] for e in body["data"]["sellerAccounts"]["edges"]]
        assert len(nodes) == n
        return len(queries), nodes

    (five, _), (twenty, nodes) = count(5), count(20)

    assert five == twenty
    # session + user, the permission cache (staff only: user perms, group perms), accounts
    # with their balances and terms, reserve holds, their orders, the orders' refunds
    assert twenty <= (6 if viewer == "superuser" else 8)
    assert {
        (
            n["balances"]["available"]["amount"],
            n["balances"]["reserve"]["amount"],
            n["reserveSchedule"]["edges"][0]["node"]["order"]["escrow"]["amount"],
        )
        for n in nodes
    } == {("90.00", "10.00", "0.00")}


# --- an order's escrow and refunds ---


def test_order_cancel_on_a_paid_order_shows_the_refund_from_escrow(client):
    store = f.store()
    seller = f.seller(store)
    order = f.order(store, status="paid", amount="80.00")
    assert gql(client, ORDER_MONEY, {"id": gid(order)}, user=seller)["data"]["node"] == {
        "status": "PAID",
        "escrow": {"amount": "80.00", "currency": "USD"},
        "refunds": [],
    }

    payload = mutate(
        client, "orderCancel", {"id": gid(order), "reason": "OUT_OF_STOCK"}, user=seller
    )

    assert payload["status"] == "REFUNDED"
    assert gql(client, ORDER_MONEY, {"id": gid(order)})["data"]["node"] == {
        "status": "REFUNDED",
        "escrow": {"amount": "0.00", "currency": "USD"},
        "refunds": [
            {
                "amount": {"amount": "80.00"},
                "fromEscrow": {"amount": "80.00"},
                "fromAvailable": {"amount": "0.00"},
                "fromReserve": {"amount": "0.00"},
                "toDebt": {"amount": "0.00"},
                "fromProtectionFund": {"amount": "0.00"},
            }
        ],
    }


def test_listing_orders_with_escrow_and_refunds_costs_the_same_queries_for_10_and_30(client):
    store = f.store()
    client.force_login(f.staff("finance"))
    query = """{ orders(first: 100) { edges { node {
        orderNumber escrow { amount } refunds { amount { amount } fromEscrow { amount } }
    } } } }"""

    def count(n: int) -> int:
        while LedgerEntry.objects.filter(store=store).count() < 2 * n:  # not every order pays
            f.order(store, status="refunded", amount="10.00")
            f.order(store, status="paid", amount="20.00")
            f.order(store)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, query)
        assert "errors" not in body, body["errors"]
        return len(queries)

    assert count(10) == count(30)


# --- payoutRequest ---


def request(client, store, user, **fields) -> dict:
    return mutate(
        client, "payoutRequest", {"id": gid(store), "amount": "50.00", **fields}, user=user
    )


def test_a_seller_requests_a_payout_in_usd_from_its_available_balance(client):
    store = funded("100.00")
    seller = f.seller(store)

    payload = request(client, store, seller, amount="60.00")

    assert payload["__typename"] == "Payout"
    assert payload["status"] == "REQUESTED"
    assert payload["currency"] == "USD"
    assert payload["rate"] is None
    assert payload["amount"] == {"amount": "60.00", "currency": "USD"}
    assert payload["payoutAmount"] == {"amount": "60.00", "currency": "USD"}
    assert available(store) == D("40.00")
    payout = Payout.objects.get()
    assert (payout.store_id, payout.requested_by) == (store.pk, seller)


def test_finance_requests_a_payout_for_any_store(client):
    store = funded("100.00")

    payload = request(client, store, f.staff("finance"))

    assert payload["status"] == "REQUESTED"
    assert available(store) == D("50.00")


def refused_request(client, store, user, expected, **fields) -> None:
    """The request is refused with ``expected`` codes and moves nothing."""
    before = (available(store), LedgerEntry.objects.count())

    payload = request(client, store, user, **fields)

    assert codes(payload) == expected
    assert not Payout.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert (available(store), LedgerEntry.objects.count()) == before


def test_a_payout_above_the_available_balance_is_insufficient_funds(client):
    store = funded("100.00")
    refused_request(
        client,
        store,
        f.seller(store),
        [("insufficient_funds", "amount")],
        amount="100.01",
        idempotencyKey="k1",
    )


def test_a_frozen_store_cannot_request_a_payout(client):
    store = funded("100.00")
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    refused_request(client, store, f.seller(store), [("invalid_transition", None)])


@pytest.mark.parametrize(
    ("amount", "field"), [("0", "amount"), ("-1", "amount"), ("1.001", "amount")]
)
def test_a_bad_payout_amount_is_invalid(client, amount, field):
    store = funded("100.00")
    refused_request(client, store, f.superuser(), [("invalid", field)], amount=amount)


def test_a_cny_payout_without_a_rate_for_the_day_is_no_exchange_rate(client, time_machine):
    store = funded("100.00")
    time_machine.move_to(f.T0 + 20 * DAY, tick=False)
    exchange_rate_set(actor=None, day=(f.T0 + 19 * DAY).date(), rate="7.1")  # yesterday only
    refused_request(
        client,
        store,
        f.seller(store),
        [("no_exchange_rate", "currency")],
        currency="CNY",
        idempotencyKey="k1",
    )


def test_a_cny_payout_records_the_days_rate_and_the_converted_amount(client, time_machine):
    store = funded("100.00")
    time_machine.move_to(f.T0 + 20 * DAY, tick=False)
    exchange_rate_set(actor=None, day=(f.T0 + 20 * DAY).date(), rate="7.123456")

    payload = request(client, store, f.seller(store), amount="10.00", currency="CNY")

    assert payload["currency"] == "CNY"
    assert payload["rate"] == "7.123456"
    assert payload["amount"] == {"amount": "10.00", "currency": "USD"}
    assert payload["payoutAmount"] == {"amount": "71.23", "currency": "CNY"}  # 71.23456
    assert available(store) == D("90.00")


def test_the_same_idempotency_key_and_input_returns_the_first_payout_and_moves_once(client):
    store = funded("100.00")
    seller = f.seller(store)

    first = request(client, store, seller, amount="30.00", idempotencyKey="withdraw-1")
    again = request(client, store, seller, amount="30.00", idempotencyKey="withdraw-1")

    assert first["__typename"] == again["__typename"] == "Payout"
    assert again["id"] == first["id"]
    assert Payout.objects.count() == 1
    assert available(store) == D("70.00")


def test_the_same_idempotency_key_with_another_amount_is_a_conflict(client):
    store = funded("100.00")
    seller = f.seller(store)
    request(client, store, seller, amount="30.00", idempotencyKey="withdraw-1")
    before = (available(store), LedgerEntry.objects.count())

    payload = request(client, store, seller, amount="40.00", idempotencyKey="withdraw-1")

    assert codes(payload) == [("idempotency_conflict", "idempotencyKey")]
    assert Payout.objects.count() == 1
    assert (available(store), LedgerEntry.objects.count()) == before


def test_idempotency_keys_are_scoped_per_user_and_per_operation(client):
    store = funded("100.00")
    seller, other_seller, admin = f.seller(store), f.seller(store), f.superuser()

    mine = request(client, store, seller, amount="10.00", idempotencyKey="k")
    theirs = request(client, store, other_seller, amount="10.00", idempotencyKey="k")
    admins = request(client, store, admin, amount="20.00", idempotencyKey="k")  # no conflict
    paid = mutate(client, "payoutMarkPaid", {"id": mine["id"], "idempotencyKey": "k"}, user=admin)

    assert len({mine["id"], theirs["id"], admins["id"]}) == 3
    assert paid["__typename"] == "Payout"
    assert paid["status"] == "PAID"
    assert Payout.objects.count() == 3


def test_a_seller_cannot_request_a_payout_for_another_store(client):
    mine, theirs = f.store(), funded("100.00")
    refused_request(client, theirs, f.seller(mine), [("not_found", "id")])


def test_support_staff_cannot_request_payouts(client):
    store = funded("100.00")
    refused_request(client, store, f.staff("support"), [("permission_denied", None)])


# --- payoutMarkPaid / payoutMarkFailed ---


def payout_in(state: str, store=None):
    store = store or funded("100.00")
    payout = payout_request(store_id=store.pk, actor=None, amount="60.00")
    if state == "paid":
        payout_mark_paid(payout_id=payout.pk, actor=None)
    elif state == "failed":
        payout_mark_failed(payout_id=payout.pk, actor=None, reason="bank said no")
    payout.refresh_from_db()
    return payout


def payout_snapshot(payout) -> tuple:
    payout = Payout.objects.get(pk=payout.pk)
    return (
        payout.status,
        payout.paid_at,
        payout.failed_at,
        payout.failure_reason,
        payout.history.count(),
        LedgerEntry.objects.count(),
        available(payout.store),
    )


SETTLE = {
    "payoutMarkPaid": ({"note": "wired"}, "PAID"),
    "payoutMarkFailed": ({"reason": "account closed"}, "FAILED"),
}


@pytest.mark.parametrize("viewer", ["finance", "superuser"])
@pytest.mark.parametrize("mutation", list(SETTLE))
def test_settling_a_requested_payout_moves_it_and_records_the_actor(client, mutation, viewer):
    user = f.staff("finance") if viewer == "finance" else f.superuser()
    payout = payout_in("requested")
    extra, target = SETTLE[mutation]

    payload = mutate(client, mutation, {"id": gid(payout), **extra}, user=user)

    assert payload["status"] == target
    assert payload["history"] == [
        {
            "from": "REQUESTED",
            "to": target,
            "transition": "mark_paid" if target == "PAID" else "mark_failed",
            "by": user.username,
            "note": next(iter(extra.values())),
        }
    ]
    assert Payout.objects.get(pk=payout.pk).status == target.lower()
    # a failed payout returns its money; a paid one leaves it paid out
    assert available(payout.store) == (D("100.00") if target == "FAILED" else D("40.00"))
    if target == "FAILED":
        assert payload["failureReason"] == "account closed"


FORBIDDEN_SETTLEMENTS = [
    ("paid", "payoutMarkFailed"),
    ("failed", "payoutMarkPaid"),
    ("paid", "payoutMarkPaid"),
    ("failed", "payoutMarkFailed"),
]


@pytest.mark.parametrize(("state", "mutation"), FORBIDDEN_SETTLEMENTS)
def test_a_settled_payout_cannot_move_again(client, state, mutation):
    payout = payout_in(state)
    before = payout_snapshot(payout)

    payload = mutate(
        client, mutation, {"id": gid(payout), **SETTLE[mutation][0]}, user=f.staff("finance")
    )

    assert codes(payload) == [("invalid_transition", None)]
    assert payout_snapshot(payout) == before


@pytest.mark.parametrize("mutation", list(SETTLE))
def test_a_repeated_settlement_with_its_key_returns_the_same_payout(client, mutation):
    finance = f.staff("finance")
    payout = payout_in("requested")
    extra, target = SETTLE[mutation]
    data = {"id": gid(payout), **extra, "idempotencyKey": "settle-1"}

    first = mutate(client, mutation, data, user=finance)
    after_first = payout_snapshot(payout)
    again = mutate(client, mutation, data, user=finance)
    without_key = mutate(client, mutation, {"id": gid(payout), **extra}, user=finance)
    other_input = mutate(
        client, mutation, {**data, next(iter(extra)): "something else"}, user=finance
    )

    assert first["status"] == again["status"] == target
    assert again["id"] == first["id"]
    assert codes(without_key) == [("invalid_transition", None)]
    assert codes(other_input) == [("idempotency_conflict", "idempotencyKey")]
    assert payout_snapshot(payout) == after_first


@pytest.mark.parametrize("mutation", list(SETTLE))
def test_a_seller_cannot_settle_its_own_payout_nor_see_another_stores(client, mutation):
    mine, theirs = funded("100.00"), funded("100.00")
    seller = f.seller(mine)
    own, other = payout_in("requested", mine), payout_in("requested", theirs)
    before = payout_snapshot(own), payout_snapshot(other)
    extra = SETTLE[mutation][0]

    on_own = mutate(client, mutation, {"id": gid(own), **extra}, user=seller)
    on_other = mutate(client, mutation, {"id": gid(other), **extra}, user=seller)

    assert codes(on_own) == [("permission_denied", None)]
    assert codes(on_other) == [("not_found", "id")]
    assert (payout_snapshot(own), payout_snapshot(other)) == before


def test_a_payout_cannot_fail_without_a_reason(client):
    payout = payout_in("requested")
    before = payout_snapshot(payout)

    payload = mutate(
        client, "payoutMarkFailed", {"id": gid(payout), "reason": " "}, user=f.superuser()
    )

    assert codes(payload) == [("invalid", "reason")]
    assert payout_snapshot(payout) == before


def test_payouts_list_is_scoped_filtered_and_explains_transitions(client):
    mine, theirs = funded("100.00"), funded("100.00")
    seller = f.seller(mine)
    paid, requested = payout_in("paid", mine), payout_in("requested", theirs)
    finance = f.staff("finance")

    def ids(user, **variables) -> list[str]:
        body = gql(client, PAYOUTS, variables, user=user)
        assert "errors" not in body, body["errors"]
        return [e["node"]["id"] for e in body["data"]["payouts"]["edges"]]

    assert ids(seller) == [gid(paid)]
    assert ids(seller, filters={"store": gid(theirs)}) == []
    assert set(ids(finance)) == {gid(paid), gid(requested)}
    assert ids(finance, filters={"status": {"exact": "REQUESTED"}}) == [gid(requested)]
    assert ids(finance, filters={"store": gid(mine)}) == [gid(paid)]
    assert ids(f.staff("risk")) == []  # no payouts.view_payout
    window = {"gte": iso(paid.requested_at), "lte": iso(paid.requested_at)}
    assert ids(finance, filters={"requestedAt": window}) == [gid(paid)]

    body = gql(client, PAYOUTS, {"filters": {"store": gid(theirs)}}, user=finance)
    node = body["data"]["payouts"]["edges"][0]["node"]
    checks = {t["name"]: t for t in node["availableTransitions"]}
    assert checks["mark_paid"]["allowed"] is True
    as_seller = gql(client, PAYOUTS, user=seller)["data"]["payouts"]["edges"][0]["node"]
    refused = {t["name"]: t["code"] for t in as_seller["availableTransitions"]}
    assert refused == {"mark_paid": "invalid_transition", "mark_failed": "invalid_transition"}


@pytest.mark.parametrize("viewer", ["finance", "seller"])
def test_listing_payouts_costs_the_same_queries_for_5_and_20(client, viewer):
    store = funded("10000.00")
    client.force_login(f.staff("finance") if viewer == "finance" else f.seller(store))

    def count(n: int) -> int:
        states = iter(["requested", "paid", "failed"] * 10)
        while Payout.objects.count() < n:
            payout_in(next(states), store)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, PAYOUTS)
        assert len(body["data"]["payouts"]["edges"]) == n
        return len(queries)

    assert count(5) == count(20)


# --- the ledger ---


def ledger(client, user, **variables) -> list[dict]:
    body = gql(client, ENTRIES, variables, user=user)
    assert "errors" not in body, body["errors"]
    return [e["node"] for e in body["data"]["ledgerEntries"]["edges"]]


@pytest.fixture
def two_busy_stores():
    """Two stores with payments, an early payout, a refund and a payout each."""
    stores = []
    for _ in range(2):
        store = f.store()
        eligible(store)
        shipped = f.order(store, status="shipped", amount="100.00")
        f.order(store, status="refunded", amount="30.00")
        run_all(shipped.shipped_at + 3 * DAY)
        payout_request(store_id=store.pk, actor=None, amount="50.00")
        stores.append(store)
    return stores


def test_a_seller_sees_only_its_stores_entries_each_linked_to_an_order_or_payout(
    client, two_busy_stores
):
    mine, _theirs = two_busy_stores
    seller = f.seller(mine)

    entries = ledger(client, seller)

    assert len(entries) == LedgerEntry.objects.filter(store=mine).count() == 7
    assert {e["store"]["id"] for e in entries} == {gid(mine)}
    assert all(e["order"] or e["payout"] for e in entries)
    kinds = {e["posting"]["kind"] for e in entries}
    assert kinds == {"PAYMENT", "EARLY_RELEASE", "REFUND", "PAYOUT"}
    refund_legs = [e for e in entries if e["posting"]["kind"] == "REFUND"]
    assert [e["refund"]["fromEscrow"]["amount"] for e in refund_legs] == ["30.00"]
    payout_legs = [e for e in entries if e["payout"]]
    assert [(e["account"], e["amount"]["amount"]) for e in payout_legs] == [("AVAILABLE", "-50.00")]
    # a balance is the sum of its entries
    total = sum(D(e["amount"]["amount"]) for e in entries if e["account"] == "AVAILABLE")
    assert total == available(mine) == D("40.00")


def test_another_stores_id_in_the_filters_gives_an_empty_list(client, two_busy_stores):
    mine, theirs = two_busy_stores
    seller = f.seller(mine)
    their_order = theirs.orders.first()

    assert ledger(client, seller, filters={"store": gid(theirs)}) == []
    assert ledger(client, seller, filters={"order": gid(their_order)}) == []
    assert ledger(client, seller, filters={"store": gid(their_order)}) == []  # not a store id


@pytest.mark.parametrize("viewer", ["finance", "superuser"])
def test_staff_see_the_platform_legs_and_every_posting_sums_to_zero(
    client, two_busy_stores, viewer
):
    user = f.staff("finance") if viewer == "finance" else f.superuser()

    entries = ledger(client, user)

    assert len(entries) == LedgerEntry.objects.count()
    assert any(e["store"] is None for e in entries)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        totals[e["posting"]["reference"], e["amount"]["currency"]] += D(e["amount"]["amount"])
    assert len(totals) == Posting.objects.count()
    assert set(totals.values()) == {D("0")}


def test_support_staff_see_no_ledger(client, two_busy_stores):
    assert ledger(client, f.staff("support")) == []


def test_ledger_filters_by_store_account_kind_order_payout_and_time(client, two_busy_stores):
    mine, theirs = two_busy_stores
    finance = f.staff("finance")
    refunded = mine.orders.get(status="refunded")
    payout = Payout.objects.get(store=mine)

    def refs(**filters) -> list[tuple[str, str]]:
        return [
            (e["posting"]["reference"], e["account"])
            for e in ledger(client, finance, filters=filters)
        ]

    assert {e["store"]["id"] for e in ledger(client, finance, filters={"store": gid(theirs)})} == {
        gid(theirs)
    }
    assert refs(store=gid(mine), account={"exact": "RESERVE"}) == [
        (f"order:{mine.orders.get(status='shipped').pk}:early_release", "RESERVE")
    ]
    assert {r for r, _ in refs(kind={"inList": ["PAYOUT"]})} == {
        f"payout:{p.pk}:request" for p in Payout.objects.all()
    }
    refund_ref = f"refund:{refunded.refunds.get().pk}"
    payment_ref = f"order:{refunded.pk}:payment"
    assert sorted(refs(order=gid(refunded))) == sorted(
        [
            (payment_ref, "BUYER_FUNDS"),
            (payment_ref, "ESCROW"),
            (refund_ref, "ESCROW"),
            (refund_ref, "BUYER_FUNDS"),
        ]
    )
    assert refs(payout=gid(payout)) == [
        (f"payout:{payout.pk}:request", "AVAILABLE"),
        (f"payout:{payout.pk}:request", "PAYOUT_CLEARING"),
    ]
    paid_at = refunded.paid_at
    assert {r for r, _ in refs(at={"gte": iso(paid_at), "lte": iso(paid_at)})} == {
        f"order:{o.pk}:payment" for o in mine.orders.all() | theirs.orders.all()
    }
    newest_first = ledger(client, finance, order={"at": "DESC"})
    assert [e["at"] for e in newest_first] == sorted((e["at"] for e in newest_first), reverse=True)


def test_a_naive_time_in_the_ledger_filter_is_invalid_at(client):
    body = gql(
        client, ENTRIES, {"filters": {"at": {"gte": "2026-03-01T00:00:00"}}}, user=f.superuser()
    )
    assert error_codes(body) == [("invalid", "at")]


@pytest.mark.parametrize("viewer", ["seller", "finance"])
def test_listing_the_ledger_costs_the_same_queries_for_10_and_50_entries(client, viewer):
    store = f.store()
    eligible(store)
    client.force_login(f.seller(store) if viewer == "seller" else f.staff("finance"))

    def count(n: int) -> int:
        # every 7 entries in time order hold a payment, a refund, an early payout, a payout
        while LedgerEntry.objects.filter(store=store).count() < n:
            at = f.T0 + 10 * DAY * Posting.objects.count()
            shipped = f.order(store, status="shipped", amount="100.00", at=at)
            f.order(store, status="refunded", amount="30.00", at=at)
            run_all(shipped.shipped_at + 3 * DAY)
            payout_request(store_id=store.pk, actor=None, amount="10.00", at=at + 6 * DAY)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, ENTRIES, {"filters": {"store": gid(store)}, "first": n})
        assert len(body["data"]["ledgerEntries"]["edges"]) == n
        return len(queries)

    assert count(10) == count(50)


# --- exchange rates ---


def test_finance_sets_a_days_rate_and_sellers_can_read_it(client):
    finance = f.staff("finance")
    seller = f.seller(f.store())

    payload = mutate(client, "exchangeRateSet", {"date": "2026-03-10", "rate": "7.1"}, user=finance)
    replaced = mutate(
        client, "exchangeRateSet", {"date": "2026-03-10", "rate": "7.25"}, user=finance
    )
    exchange_rate_set(actor=None, day=date(2026, 3, 12), rate="7.3")
    exchange_rate_set(actor=None, day=date(2026, 2, 1), rate="7.0")

    assert payload == {
        "__typename": "ExchangeRate",
        "id": payload["id"],
        "date": "2026-03-10",
        "currency": "USD",
        "rateToCny": "7.100000",
        "setBy": finance.username,
    }
    assert replaced["id"] == payload["id"]
    assert replaced["rateToCny"] == "7.250000"
    body = gql(
        client,
        RATES,
        {"filters": {"date": {"gte": "2026-03-01", "lte": "2026-03-31"}}, "order": {"date": "ASC"}},
        user=seller,
    )
    rows = [e["node"] for e in body["data"]["exchangeRates"]["edges"]]
    assert [(r["date"], r["rateToCny"]) for r in rows] == [
        ("2026-03-10", "7.250000"),
        ("2026-03-12", "7.300000"),
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rate": "7.1234567"}, "rate"),
        ({"rate": "0"}, "rate"),
        ({"rate": "-7.1"}, "rate"),
        ({"rate": "7.1", "currency": "CNY"}, "currency"),
    ],
)
def test_a_bad_rate_is_invalid_with_its_field(client, fields, field):
    payload = mutate(
        client, "exchangeRateSet", {"date": "2026-03-10", **fields}, user=f.staff("finance")
    )

    assert codes(payload) == [("invalid", field)]
    assert not ExchangeRate.objects.exists()


def test_a_seller_cannot_set_exchange_rates(client):
    payload = mutate(
        client,
        "exchangeRateSet",
        {"date": "2026-03-10", "rate": "7.1"},
        user=f.seller(f.store()),
    )

    assert codes(payload) == [("permission_denied", None)]
    assert not ExchangeRate.objects.exists()


# --- earlyPayoutSet ---


def test_finance_sets_early_payout_terms(client):
    store = f.store()
    finance = f.staff("finance")

    payload = mutate(
        client,
        "earlyPayoutSet",
        {"id": gid(store), "eligible": True, "reserveRate": "0.15", "reason": "top seller"},
        user=finance,
    )

    assert payload["__typename"] == "SellerAccount"
    view = store_view(client, store, finance)["earlyPayout"]
    assert (view["eligible"], view["reserveRate"], view["reason"]) == (True, "0.1500", "top seller")
    decision = EarlyPayoutDecision.objects.get()
    assert (decision.source, decision.decided_by) == ("override", finance)


@pytest.mark.parametrize("rate", ["1.5", "1", "-0.1", "0.12345"])
def test_a_reserve_rate_outside_0_to_1_is_invalid_reserve_rate(client, rate):
    store = f.store()

    payload = mutate(
        client,
        "earlyPayoutSet",
        {"id": gid(store), "eligible": True, "reserveRate": rate},
        user=f.superuser(),
    )

    assert codes(payload) == [("invalid", "reserveRate")]
    assert not EarlyPayoutTerms.objects.exists()
    assert not EarlyPayoutDecision.objects.exists()


def test_a_seller_cannot_set_early_payout_terms(client):
    mine, theirs = f.store(), f.store()
    seller = f.seller(mine)
    data = {"eligible": True, "reserveRate": "0"}

    own = mutate(client, "earlyPayoutSet", {"id": gid(mine), **data}, user=seller)
    other = mutate(client, "earlyPayoutSet", {"id": gid(theirs), **data}, user=seller)

    assert codes(own) == [("permission_denied", None)]
    assert codes(other) == [("not_found", "id")]
    assert not EarlyPayoutTerms.objects.exists()


def test_node_hides_another_stores_money_objects(client, two_busy_stores):
    mine, theirs = two_busy_stores
    seller = f.seller(mine)
    query = "query($id: ID!) { node(id: $id) { id } }"
    objects = {
        "payout": (Payout.objects.get(store=mine), Payout.objects.get(store=theirs)),
        "entry": (
            LedgerEntry.objects.filter(store=mine).first(),
            LedgerEntry.objects.filter(store=theirs).first(),
        ),
        "hold": (ReserveHold.objects.get(store=mine), ReserveHold.objects.get(store=theirs)),
        "refund": (mine.refunds.get(), theirs.refunds.get()),
    }

    for own, other in objects.values():
        assert gql(client, query, {"id": gid(own)}, user=seller)["data"]["node"] == {"id": gid(own)}
        assert gql(client, query, {"id": gid(other)})["data"]["node"] is None
    platform_leg = LedgerEntry.objects.filter(store__isnull=True).first()
    assert gql(client, query, {"id": gid(platform_leg)})["data"]["node"] is None
