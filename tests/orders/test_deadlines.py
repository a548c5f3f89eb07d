"""Order deadlines, driven as an operator does: ``run_deadlines --now``."""

from datetime import datetime, timedelta
from io import StringIO

from django.core.management import call_command

from orders.models import EndReason, Order
from tests import factories as f

SECOND = timedelta(seconds=1)


def run_deadlines(now: datetime) -> dict[str, int]:
    """Run the command at ``now``; the count printed for each job."""
    out = StringIO()
    call_command("run_deadlines", "--now", now.isoformat(), stdout=out)
    return {
        name: int(count)
        for name, count in (line.rsplit(": ", 1) for line in out.getvalue().splitlines()[1:])
    }


def test_unpaid_order_is_not_cancelled_one_second_before_the_deadline():
    order = f.order(at=f.T0)

    counts = run_deadlines(f.T0 + timedelta(days=20) - SECOND)

    assert counts["orders.cancel_unpaid"] == 0
    order.refresh_from_db()
    assert order.status == Order.Status.UNPAID
    assert not order.history.exists()


def test_unpaid_order_is_cancelled_at_exactly_the_deadline_by_the_system():
    order = f.order(at=f.T0)
    now = f.T0 + timedelta(days=20)

    counts = run_deadlines(now)

    assert counts["orders.cancel_unpaid"] == 1
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.end_reason == EndReason.PAY_TIMEOUT
    assert order.closed_at == now
    (entry,) = order.history.all()
    assert (entry.transition, entry.source, entry.target) == ("cancel", "unpaid", "cancelled")
    assert entry.actor is None
    assert entry.at == now
    assert entry.note == "automatic: unpaid for 20 days"


def test_a_second_run_changes_nothing():
    order = f.order(at=f.T0)
    now = f.T0 + timedelta(days=25)
    run_deadlines(now)
    order.refresh_from_db()
    before = (order.status, order.updated_at, order.history.count())

    counts = run_deadlines(now + timedelta(hours=1))

    assert set(counts.values()) == {0}
    order.refresh_from_db()
    assert (order.status, order.updated_at, order.history.count()) == before


def test_an_order_paid_before_its_deadline_is_not_cancelled():
    # given an order paid on day 1 (factories walk one day per step)
    order = f.order(status="paid", at=f.T0)

    counts = run_deadlines(f.T0 + timedelta(days=30))

    assert counts["orders.cancel_unpaid"] == 0
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert [h.transition for h in order.history.all()] == ["pay"]


def test_the_unpaid_deadline_comes_from_settings(settings):
    settings.UNPAID_CANCEL_DAYS = 3
    order = f.order(at=f.T0)

    run_deadlines(f.T0 + timedelta(days=3))

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.history.get().note == "automatic: unpaid for 3 days"


def test_shipped_order_is_not_confirmed_one_second_before_the_deadline():
    order = f.order(status="shipped", at=f.T0)

    counts = run_deadlines(order.shipped_at + timedelta(days=60) - SECOND)

    assert counts["orders.auto_confirm"] == 0
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


def test_shipped_order_is_confirmed_60_days_after_shipment_by_the_system():
    order = f.order(status="shipped", at=f.T0)
    now = order.shipped_at + timedelta(days=60)

    counts = run_deadlines(now)

    assert counts["orders.auto_confirm"] == 1
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
    assert order.completed_at == now
    assert order.end_reason == EndReason.BUYER_ACCEPT_GOODS
    entry = order.history.last()
    assert (entry.transition, entry.source, entry.target) == ("confirm", "shipped", "completed")
    assert entry.actor is None
    assert entry.at == now
    assert entry.note == "automatic: 60 days after shipment"
    assert run_deadlines(now)["orders.auto_confirm"] == 0


def test_only_due_orders_move_among_many(settings):
    # given orders on both sides of each deadline and in states no deadline touches,
    # handled one per batch so the runner's batching is exercised too
    settings.DEADLINES_BATCH_SIZE = 1
    now = f.T0 + timedelta(days=100)
    store = f.store()
    due_unpaid = [f.order(store, at=now - timedelta(days=20 + d)) for d in (0, 5)]
    fresh_unpaid = f.order(store, at=now - timedelta(days=20) + SECOND)
    due_shipped = f.order(store, status="shipped", at=now - timedelta(days=62))  # shipped day 2
    fresh_shipped = f.order(store, status="shipped", at=now - timedelta(days=61))
    recent = now - timedelta(days=3)  # the dispute opens at `now`: its deadline is not due
    others = [f.order(store, status=s, at=recent) for s in ("completed", "refunded", "disputed")]

    counts = run_deadlines(now)

    assert counts["orders.cancel_unpaid"] == 2
    assert counts["orders.auto_confirm"] == 1
    statuses = {o.pk: o.status for o in Order.objects.all()}
    assert [statuses[o.pk] for o in due_unpaid] == ["cancelled", "cancelled"]
    assert statuses[fresh_unpaid.pk] == "unpaid"
    assert statuses[due_shipped.pk] == "completed"
    assert statuses[fresh_shipped.pk] == "shipped"
    assert [statuses[o.pk] for o in others] == ["completed", "refunded", "disputed"]
