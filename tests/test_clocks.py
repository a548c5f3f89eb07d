"""One clock per object: `autoAction`/`autoActionAt` on orders, disputes, stores and reserve holds
say what the deadlines runner does next and when, and the runner does it exactly then: one
second before, nothing; at the moment shown, the job acts. Lists show the clock at a constant
number of queries, and the admin lists show it as a column."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import seller_account_freeze
from backoffice.deadlines import run_job
from payouts.models import ReserveHold
from payouts.promotion import promotion_charge
from payouts.services import early_payout_set
from tests import factories as f
from tests.gql import gid, gql
from tests.payouts.helpers import expect

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

CLOCK = "query($id: ID!) { node(id: $id) { ... on %s { autoAction autoActionAt } } }"


def clock_of(client, obj) -> tuple[str | None, datetime | None]:
    body = gql(client, CLOCK % type(obj).__name__, {"id": gid(obj)}, user=f.superuser())
    assert "errors" not in body, body["errors"]
    node = body["data"]["node"]
    at = node["autoActionAt"]
    return node["autoAction"], datetime.fromisoformat(at) if at else None


def acts_exactly_at(job: str, at: datetime) -> None:
    assert run_job(job, at - SECOND).done == 0, f"{job} acted before {at}"
    assert run_job(job, at).done == 1, f"{job} did not act at {at}"


# --- orders ---


def test_an_unpaid_order_is_cancelled_at_its_clock(client):
    order = f.order(status="unpaid")

    action, at = clock_of(client, order)

    assert action == "cancel (not paid in time)"
    assert at == order.placed_at + 20 * DAY
    acts_exactly_at("orders.cancel_unpaid", at)
    assert clock_of(client, order) == (None, None)


def test_a_shipped_order_is_confirmed_at_its_clock_and_its_escrow_released(client):
    order = f.order(status="shipped", amount="100.00")
    expect(order.store, escrow="100.00")

    action, at = clock_of(client, order)

    assert action == "confirm receipt (escrow released to the store)"
    assert at == order.shipped_at + 60 * DAY
    acts_exactly_at("orders.auto_confirm", at)
    expect(order.store, available="100.00")


@pytest.mark.parametrize("status", ["paid", "completed", "cancelled", "refunded", "disputed"])
def test_nothing_automatic_happens_to_other_orders(client, status):
    assert clock_of(client, f.order(status=status)) == (None, None)


# --- disputes (the response deadline; the return and arbitration: tests/disputes) ---


def test_an_open_dispute_is_refunded_at_its_clock(client):
    d = f.dispute(requested="30.00")

    action, at = clock_of(client, d)

    assert (action, at) == ("refund USD 30.00 to the buyer", d.respond_by)
    acts_exactly_at("disputes.auto_resolve", at)
    expect(d.store, escrow="70.00")


# --- stores: the arrears policy ---


def in_arrears(amount: str = "180.00"):
    store = f.store()
    promotion_charge(store_id=store.pk, actor=None, amount=amount, at=f.T0)
    return store


def test_a_store_in_arrears_is_frozen_then_closed_at_its_clocks(client):
    store = in_arrears()

    action, at = clock_of(client, store)

    assert action == "freeze the store (arrears unpaid for more than 3 days)"
    assert at == f.T0 + 3 * DAY + SECOND  # "more than 3 days": not at 3 days exactly
    acts_exactly_at("payouts.arrears_freeze", at)

    action, at = clock_of(client, store)
    assert action == "close the store (arrears unpaid for more than 90 days)"
    assert at == f.T0 + 90 * DAY + SECOND
    acts_exactly_at("payouts.arrears_close", at)
    assert clock_of(client, store) == (None, None)


def test_a_store_frozen_for_a_risk_review_gains_the_arrears_hold_at_its_clock(client):
    """Holds stack: a store already frozen for a risk reason whose arrears are overdue shows
    (and gets) the arrears hold, not "close" straight away."""
    store = in_arrears()
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk", at=f.T0 + DAY)

    action, at = clock_of(client, store)

    assert action == "add the arrears hold (arrears unpaid for more than 3 days)"
    assert at == f.T0 + 3 * DAY + SECOND
    client.force_login(f.superuser())
    page = client.get(reverse("admin:accounts_selleraccount_changelist"))
    assert "add the arrears hold (arrears unpaid for more than 3 days)" in page.text
    acts_exactly_at("payouts.arrears_freeze", at)
    store.refresh_from_db()
    assert store.active_reasons() == ["risk", "arrears"]
    assert clock_of(client, store) == (
        "close the store (arrears unpaid for more than 90 days)",
        f.T0 + 90 * DAY + SECOND,
    )


def test_arrears_above_the_close_amount_close_the_store_at_the_next_run(client):
    store = in_arrears("10000.01")

    action, at = clock_of(client, store)

    assert action == "close the store (arrears above CNY 10,000)"
    assert at == f.T0
    acts_exactly_at("payouts.arrears_close", at)


def test_a_store_without_arrears_has_no_clock(client):
    assert clock_of(client, f.store()) == (None, None)
    assert clock_of(client, f.store(status="frozen")) == (None, None)  # unfreezing is manual


# --- reserve holds ---


def test_a_reserve_hold_is_released_at_its_clock(client):
    store = f.store()
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.10", at=f.T0)
    order = f.order(store, status="shipped", amount="100.00")
    run_job("payouts.early_release", order.shipped_at + 3 * DAY)
    hold = ReserveHold.objects.get()
    assert clock_of(client, hold) == (None, None)  # no date until eligibility ends or it closes
    notice = f.T0 + 30 * DAY
    early_payout_set(store_id=store.pk, actor=None, eligible=False, reserve_rate="0", at=notice)

    action, at = clock_of(client, hold)

    assert (action, at) == ("release the reserve to the store", notice + 180 * DAY)
    expect(store, available="90.00", reserve="10.00")
    acts_exactly_at("payouts.reserve_release", at)
    expect(store, available="100.00")
    assert clock_of(client, hold) == (None, None)


# --- lists: constant queries; the admin lists show the clock ---

LISTS = {
    "orders": "{ orders(first: 100) { edges { node { autoAction autoActionAt } } } }",
    "stores": "{ sellerAccounts(first: 100) { edges { node { autoAction autoActionAt "
    "reserveSchedule(first: 5) { edges { node { autoAction autoActionAt } } } } } } }",
    "disputes": "{ disputes(first: 100) { edges { node { autoAction autoActionAt } } } }",
}


def some_objects(n: int) -> None:
    for i in range(n):
        store = in_arrears() if i % 2 else f.store()
        if i % 3 == 1:  # frozen for a risk review, with or without arrears
            seller_account_freeze(account_id=store.pk, actor=None, reason="risk", at=f.T0)
        f.order(store, status="shipped" if i % 3 else "unpaid")
        f.dispute(f.order(store, status="shipped"))


@pytest.mark.parametrize("name", sorted(LISTS))
def test_listing_clocks_costs_the_same_queries_for_3_and_9(client, name):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, LISTS[name])
        assert "errors" not in body, body["errors"]
        return len(queries)

    client.force_login(f.superuser())
    some_objects(3)
    three = count()
    some_objects(6)
    assert count() == three


def test_the_admin_lists_show_each_objects_next_automatic_action(client, time_machine):
    time_machine.move_to(f.T0 + DAY, tick=False)
    store = in_arrears()
    order = f.order(store, status="unpaid", at=f.T0 + DAY)
    client.force_login(f.superuser())

    orders = client.get(reverse("admin:orders_order_changelist"))
    stores = client.get(reverse("admin:accounts_selleraccount_changelist"))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert "Next automatic action" in orders.text
    assert "cancel (not paid in time) in 20 days" in orders.text
    assert "freeze the store (arrears unpaid for more than 3 days) in 2 days" in stores.text
    assert "cancel (not paid in time) in 20 days" in page.text
    assert Decimal(store.promotion_balance) == Decimal("-180.00")


def test_the_deposit_inquiry_shows_when_each_hold_is_released(client, time_machine):
    store = f.store()
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.10", at=f.T0)
    order = f.order(store, status="shipped", amount="100.00")
    run_job("payouts.early_release", order.shipped_at + 3 * DAY)
    early_payout_set(
        store_id=store.pk, actor=None, eligible=False, reserve_rate="0", at=f.T0 + 30 * DAY
    )
    time_machine.move_to(f.T0 + 40 * DAY, tick=False)
    client.force_login(f.staff("finance"))

    page = client.get(reverse("admin:payouts_reservehold_changelist"))

    assert page.status_code == 200
    assert "release the reserve to the store in 170 days" in page.text
