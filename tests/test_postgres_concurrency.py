"""The deadlines runner on several workers at once, on PostgreSQL.

Row locks are what make this safe, and SQLite has none (``select_for_update`` is a no-op
there), so these tests are marked ``postgres``: they are selected only in the PostgreSQL run
(``make test-postgres``), never skipped. Each worker is a thread with its own connection, so
the data must be committed: ``transaction=True``.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Count

from accounts.models import StoreHold
from backoffice.deadlines import run_all
from orders.models import Order, OrderTransition
from orders.services import order_mark_paid
from payouts.promotion import promotion_charge, promotion_top_up
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = f.T0 + timedelta(days=21)  # every order placed at T0 is past its 20-day payment deadline


def in_threads(*targets: Callable[[], Any]) -> list[Any]:
    """Run each target in its own thread, all released at once; their results, in order."""
    start = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def work(i: int, target: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=30)
            results[i] = target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    assert not errors, errors
    return results


def waiting_on_a_lock() -> bool:
    """Whether another connection is waiting for a lock (a row, a unique index entry)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def racing(hold: Callable[[], Any], run: Callable[[], Any]) -> Any:
    """``hold`` in a transaction of its own, kept open until ``run`` (in another thread) waits on
    a lock it holds, then committed. What ``run`` returned, or the exception it raised."""
    held, commit = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                hold()
                held.set()
                commit.wait(timeout=60)
        finally:
            connections.close_all()

    def runner() -> None:
        try:
            outcome.append(run())
        except Exception as exc:
            outcome.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(timeout=30), "hold() did not finish"
    second = threading.Thread(target=runner)
    second.start()
    deadline = time.monotonic() + 30
    while not waiting_on_a_lock():
        assert time.monotonic() < deadline, "run() never waited on hold()'s locks"
        time.sleep(0.05)
    commit.set()
    first.join(timeout=30)
    second.join(timeout=60)
    assert not second.is_alive(), "run() hung"
    [result] = outcome
    return result


def run_all_while_held(hold: Callable[[], Any], at: Any) -> dict[str, int]:
    """``run_all(at)`` in one thread while ``hold`` runs in another in a transaction kept open
    until the runner finishes: the runner must skip the rows ``hold`` locked, not wait."""
    locked, runner_done = threading.Event(), threading.Event()

    def holder() -> None:
        with transaction.atomic():
            hold()
            locked.set()
            assert runner_done.wait(timeout=30), "the runner waited for the locked rows"

    def run() -> dict[str, int]:
        assert locked.wait(timeout=30)
        try:
            return run_all(at)
        finally:
            runner_done.set()

    _, counts = in_threads(holder, run)
    return counts


def test_two_runners_at_once_cancel_every_due_order_exactly_once(settings):
    # given 200 due unpaid orders, taken in small batches so the two workers interleave
    settings.DEADLINES_BATCH_SIZE = 20
    store = f.store()
    for _ in range(200):
        f.order(store, at=f.T0)

    # when two runners run at the same moment
    results = in_threads(lambda: run_all(NOW), lambda: run_all(NOW))

    # then their counts add up to 200 and each order was cancelled exactly once
    assert sum(r["orders.cancel_unpaid"] for r in results) == 200
    assert Order.objects.filter(status=Order.Status.CANCELLED).count() == 200
    per_order = OrderTransition.objects.values("order").annotate(rows=Count("id"))
    assert Counter(row["rows"] for row in per_order) == {1: 200}
    assert set(OrderTransition.objects.values_list("transition", "actor")) == {("cancel", None)}


def test_an_order_locked_by_a_payment_is_skipped_not_cancelled():
    # given ten due unpaid orders, one of which is being paid right now (its row is locked)
    store = f.store()
    paying = f.order(store, at=f.T0)
    others = [f.order(store, at=f.T0) for _ in range(9)]

    def pay() -> None:
        order_mark_paid(order_id=paying.pk, actor=None, payment_method="alipay", at=NOW)

    # when the runner runs while the payment's transaction is open
    counts = run_all_while_held(pay, NOW)

    # then the runner does not wait for it, cancels the nine others, and the payment lands
    assert counts["orders.cancel_unpaid"] == 9
    paying.refresh_from_db()
    assert paying.status == Order.Status.PAID
    assert [h.transition for h in paying.history.all()] == ["pay"]
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in others]).values_list("status", flat=True)
    ) == {Order.Status.CANCELLED}
    # and a later run finds nothing left to do
    assert run_all(NOW)["orders.cancel_unpaid"] == 0


def test_a_store_paying_its_arrears_is_skipped_by_the_arrears_jobs_not_frozen():
    # given two stores with arrears past the grace period, one of which is paying right now
    # (the top-up's transaction holds its row)
    paying, other = f.store(), f.store()
    for store in (paying, other):
        promotion_charge(store_id=store.pk, actor=None, amount="50.00", at=f.T0)
    now = f.T0 + timedelta(days=settings.ARREARS_GRACE_DAYS + 1)

    def top_up() -> None:
        promotion_top_up(store_id=paying.pk, actor=None, amount="50.00", method="alipay", at=now)

    # when the deadlines run while the top-up's transaction is open
    counts = run_all_while_held(top_up, now)

    # then the runner does not wait for it and freezes the other store only; the paid store
    # keeps no hold, and a later run finds nothing left to do
    assert counts["payouts.arrears_freeze"] == 1
    paying.refresh_from_db()
    other.refresh_from_db()
    assert (paying.status, other.status) == ("active", "frozen")
    assert not StoreHold.objects.filter(store=paying).exists()
    assert run_all(now)["payouts.arrears_freeze"] == 0
