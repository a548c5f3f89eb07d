"""Running totals (payouts.DailyBalance): written with every posting, in bulk by a batch, moved
by postings dated in the past; ``balances(at:)`` reads each instant from them in one query per
page of stores."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.unit_of_work import unit_of_work
from payouts import ledger
from payouts.checks import check_ledger
from payouts.ledger import Leg
from payouts.models import Account
from tests import factories as f
from tests.gql import gid, gql

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)

AT = """
query($id: ID!, $at: DateTime) { node(id: $id) { ... on SellerAccount {
  then: balances(at: $at) { escrow { amount } available { amount } debt { amount } }
  now: balances { escrow { amount } available { amount } debt { amount } }
} } }
"""

PAGE = """
query($at: DateTime) { sellerAccounts(first: 100) { edges { node {
  balances(at: $at) { escrow { amount } available { amount } promotion { amount currency } }
} } } }
"""


def amounts(balances: dict) -> tuple[str, ...]:
    return tuple(balances[name]["amount"] for name in ("escrow", "available", "debt"))


def at(client, store, when) -> dict:
    body = gql(client, AT, {"id": gid(store), "at": when and when.isoformat()}, user=f.superuser())
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def assert_books_hold() -> None:
    assert not any(check_ledger().values()), check_ledger()


def test_balances_at_an_instant_show_the_ledger_as_it_was_then(client):
    store = f.store()
    f.order(store, status="completed", amount="100.00")  # paid T0+1d, shipped +2d, confirmed +3d

    assert amounts(at(client, store, f.T0)["then"]) == ("0.00", "0.00", "0.00")
    paid = f.T0 + DAY
    assert amounts(at(client, store, paid - timedelta(seconds=1))["then"]) == ("0.00",) * 3
    assert amounts(at(client, store, paid)["then"]) == ("100.00", "0.00", "0.00")  # inclusive
    assert amounts(at(client, store, paid + DAY + timedelta(hours=5))["then"]) == (
        "100.00",
        "0.00",
        "0.00",
    )
    view = at(client, store, f.T0 + 3 * DAY)
    assert amounts(view["then"]) == ("0.00", "100.00", "0.00")
    assert view["now"] == view["then"]
    assert at(client, store, None)["then"] == view["now"]  # at: null is now


def test_a_posting_dated_in_the_past_moves_every_later_day(client):
    store = f.store()
    f.order(store, status="completed", amount="100.00", at=f.T0 + 10 * DAY)
    # Written afterwards, dated ten days earlier (an import of older orders does this).
    f.order(store, status="completed", amount="30.00")

    assert amounts(at(client, store, f.T0 + 2 * DAY)["then"]) == ("30.00", "0.00", "0.00")
    assert amounts(at(client, store, f.T0 + 11 * DAY)["then"]) == ("100.00", "30.00", "0.00")
    assert amounts(at(client, store, f.T0 + 20 * DAY)["now"]) == ("0.00", "130.00", "0.00")
    assert_books_hold()


def test_a_batch_writes_its_running_totals_in_bulk_from_memory():
    store = f.store()
    f.order(store, status="completed", amount="10.00", at=f.T0 + 5 * DAY)
    with unit_of_work():
        batch = ledger.current()
        for day in (9, 2, 7, 2):  # out of order, two on one day
            ledger.post(
                reference=f"batch:{day}:{len(batch.postings)}",
                kind="promotion_adjustment",
                at=f.T0 + day * DAY,
                legs=[
                    Leg(Account.AVAILABLE, Decimal("1.50"), store.pk),
                    Leg(Account.BUYER_FUNDS, Decimal("-1.50")),
                ],
            )
        assert len(batch.postings) == 4  # nothing written yet
        with CaptureQueriesContext(connection) as queries:
            batch.flush()
    # ids, postings, entries, then the running totals (lock, read, create, update), then the
    # outbox (event ids, events, the endpoints that want them): the same for any number of
    # postings
    assert len(queries) <= 11, "\n".join(q["sql"][:90] for q in queries)
    assert ledger.store_balances(store.pk)["available"] == Decimal("16.00")
    assert ledger.balances_at([store.pk], f.T0 + 3 * DAY)[store.pk]["available"] == Decimal("3.00")
    assert_books_hold()


def test_a_naive_instant_is_refused(client):
    store = f.store()
    body = gql(client, AT, {"id": gid(store), "at": "2026-03-01T12:00:00"}, user=f.superuser())

    assert body["errors"][0]["extensions"]["code"] == "invalid"
    assert body["errors"][0]["extensions"]["field"] == "at"


def test_a_page_of_balances_at_an_instant_costs_the_same_queries_for_5_and_20(client):
    client.force_login(f.superuser())

    def count(n: int) -> tuple[int, list]:
        while len(stores) < n:
            store = f.store()
            f.order(store, status="completed", amount="100.00")
            f.order(store, status="paid", amount="20.00", at=f.T0 + 5 * DAY)
            stores.append(store)
        when = (f.T0 + 6 * DAY + timedelta(hours=1)).isoformat()
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, PAGE, {"at": when})
        assert "errors" not in body, body["errors"]
        return len(queries), [
            e["node"]["balances"] for e in body["data"]["sellerAccounts"]["edges"]
        ]

    stores: list = []
    (five, _), (twenty, nodes) = count(5), count(20)

    assert five == twenty <= 4  # session, user, the page with its balances, the count
    assert {(b["escrow"]["amount"], b["available"]["amount"]) for b in nodes} == {
        ("20.00", "100.00")
    }


def test_a_batch_whose_movements_of_a_day_cancel_out_still_writes_that_days_total():
    """A stateful-test run (issue 14): in one batch a refund took a store's debt below zero and
    a release repaid it the same day, so the day's net was zero and no running total was
    written for a day with entries (check_ledger: 'no running total')."""
    store = f.store()
    with unit_of_work():
        for n, amount in enumerate(("-5.00", "5.00")):
            ledger.post(
                reference=f"cancel-out:{n}",
                kind="promotion_adjustment",
                at=f.T0 + DAY,
                legs=[
                    Leg(Account.DEBT, Decimal(amount), store.pk),
                    Leg(Account.BUYER_FUNDS, -Decimal(amount)),
                ],
            )
    assert ledger.store_balances(store.pk)["debt"] == Decimal("0.00")
    assert_books_hold()
