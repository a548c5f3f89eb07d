"""How the deadlines runner takes its batches: every due row once whatever the order of its
deadline, a run that ends even when a job leaves rows due, and as many statements whatever the
store's ledger history."""

import io
from datetime import datetime, timedelta

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice import deadlines
from disputes.models import Dispute
from orders.models import Order, OrderTransition
from tests import factories as f

NOW = f.T0 + timedelta(days=90)  # unpaid orders placed at T0 are past their 20 days


def run_deadlines(now: datetime = NOW) -> list[str]:
    out = io.StringIO()
    call_command("run_deadlines", "--now", now.isoformat(), stdout=out)
    return out.getvalue().splitlines()


def test_every_due_row_is_done_once_when_deadline_order_and_pk_order_differ(settings):
    settings.DEADLINES_BATCH_SIZE = 2
    store = f.store()
    # Created newest first: the index of (status, placed_at) gives them in the reverse of pk.
    orders = [f.order(store, at=f.T0 - timedelta(days=day)) for day in range(7)]
    lines = run_deadlines()
    assert "orders.cancel_unpaid: 7" in lines
    for order in orders:
        assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
        assert OrderTransition.objects.filter(order=order, transition="cancel").count() == 1


def test_a_job_that_leaves_its_rows_due_still_ends_and_takes_each_once(settings):
    settings.DEADLINES_BATCH_SIZE = 2
    store = f.store()
    unpaid = {f.order(store, at=f.T0).pk for _ in range(5)}
    seen: list[object] = []
    done = deadlines.process_batches(
        Order.objects.filter(status=Order.Status.UNPAID),
        lambda batch: seen.extend(order.pk for order in batch),  # changes nothing
    )
    assert set(seen) == unpaid
    assert sorted(seen) == sorted(unpaid)  # each once: a row left due is not taken again
    assert done == len(seen)
    assert seen == sorted(seen)  # batches taken in order of pk


def overdue_disputes_statements(history: int) -> int:
    """Statements of a run over three overdue full-refund disputes of a store whose ledger
    already holds ``history`` completed orders."""
    store = f.store()
    for _ in range(history):
        f.order(store, status="completed", at=f.T0)
    for _ in range(3):
        f.dispute(f.order(store, status="shipped", at=f.T0))
    assert Dispute.objects.filter(store=store, respond_by__lte=NOW).count() == 3
    opened = Dispute.objects.filter(store=store).latest("opened_at").opened_at
    run_deadlines(opened)  # before their deadline: the jobs' heartbeats exist, nothing else due
    with CaptureQueriesContext(connection) as queries:
        lines = run_deadlines()
    assert "disputes.auto_resolve: 3" in lines
    return len(queries)


def test_automatic_refunds_cost_as_many_statements_whatever_the_store_history(settings):
    settings.DEADLINES_BATCH_SIZE = 2
    short = overdue_disputes_statements(history=0)
    long = overdue_disputes_statements(history=8)
    assert long == short
