"""Deadline jobs isolated from each other: a row that fails is redone alone, retried on later
runs, parked after DEADLINES_MAX_ATTEMPTS and shown in the admin, while every other due row of
every job is done; each run leaves a heartbeat.

The failing row is a real database refusal: a trigger that rejects any UPDATE of one order
(the same SQL idea on SQLite and PostgreSQL), so nothing of ours is mocked.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from backoffice import deadlines, jobs
from backoffice.models import FailedDeadlineItem, JobHeartbeat
from disputes.models import Dispute
from orders.models import Order
from tests import factories as f
from tests.payouts.test_admin import post, texts

NOW = f.T0 + timedelta(days=90)  # unpaid orders placed at T0 are past their 20 days


@contextmanager
def poisoned(order: Order) -> Iterator[None]:
    """Every UPDATE of ``order``'s row fails in the database until the block ends."""
    table, pk = Order._meta.db_table, int(order.pk)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION poisoned_row() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'poisoned row'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER poisoned BEFORE UPDATE ON {table} FOR EACH ROW "
                f"WHEN (OLD.id = {pk}) EXECUTE FUNCTION poisoned_row()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER poisoned BEFORE UPDATE ON {table} FOR EACH ROW "
                f"WHEN OLD.id = {pk} BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER poisoned ON {table}")
                cursor.execute("DROP FUNCTION poisoned_row()")
            else:
                cursor.execute("DROP TRIGGER poisoned")


def run_deadlines(now=NOW) -> list[str]:
    out = io.StringIO()
    call_command("run_deadlines", "--now", now.isoformat(), stdout=out)
    return out.getvalue().splitlines()


def due_everywhere() -> dict[str, object]:
    """Due rows for three jobs: unpaid orders (the second is the one to poison), a shipped
    order past auto-confirmation, a dispute past its response deadline."""
    unpaid = [f.order(at=f.T0) for _ in range(4)]
    shipped = f.order(status="shipped", at=f.T0)
    dispute = f.dispute(f.order(status="shipped", at=f.T0))
    return {"unpaid": unpaid, "poison": unpaid[1], "shipped": shipped, "dispute": dispute}


def test_a_poisoned_row_fails_alone_and_every_other_due_row_of_every_job_is_done(settings):
    settings.DEADLINES_BATCH_SIZE = 2  # the poisoned order shares its batch with a healthy one
    rows = due_everywhere()

    with poisoned(rows["poison"]):
        lines = run_deadlines()

    poison = rows["poison"]
    assert "orders.cancel_unpaid: 3, failed: 1" in lines
    assert any(
        line.startswith(f"  orders.Order {poison.pk} (attempt 1): ") and "poisoned row" in line
        for line in lines
    )
    assert "orders.auto_confirm: 1" in lines
    assert "disputes.auto_resolve: 1" in lines
    statuses = {o.pk: o.status for o in Order.objects.filter(pk__in=[o.pk for o in rows["unpaid"]])}
    assert statuses.pop(poison.pk) == Order.Status.UNPAID
    assert set(statuses.values()) == {Order.Status.CANCELLED}
    assert Order.objects.get(pk=rows["shipped"].pk).status == Order.Status.COMPLETED
    assert Dispute.objects.get(pk=rows["dispute"].pk).status == Dispute.Status.RESOLVED
    assert Order.objects.get(pk=poison.pk).history.count() == 0  # its batch's audit rolled back
    item = FailedDeadlineItem.objects.get()
    assert (item.job, item.model, item.object_pk) == (
        "orders.cancel_unpaid",
        "orders.Order",
        str(poison.pk),
    )
    assert (item.attempts, item.parked) == (1, False)
    assert "poisoned row" in item.error and "Traceback" in item.traceback


def test_a_failing_row_is_retried_on_later_runs_then_parked_and_skipped(settings):
    settings.DEADLINES_MAX_ATTEMPTS = 3
    order = f.order(at=f.T0)

    with poisoned(order):
        attempts = []
        for _ in range(4):
            run_deadlines()
            item = FailedDeadlineItem.objects.get()
            attempts.append((item.attempts, item.parked))
        fourth = run_deadlines()

    # three runs try it, the third parks it; later runs skip it
    assert attempts == [(1, False), (2, False), (3, True), (3, True)]
    assert "orders.cancel_unpaid: 0" in fourth
    assert Order.objects.get(pk=order.pk).status == Order.Status.UNPAID


def test_a_row_that_goes_through_on_a_retry_loses_its_failure_record():
    order = f.order(at=f.T0)
    with poisoned(order):
        run_deadlines()
    assert FailedDeadlineItem.objects.count() == 1

    assert "orders.cancel_unpaid: 1" in run_deadlines()
    assert not FailedDeadlineItem.objects.exists()
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_every_job_writes_its_heartbeat_with_items_done_and_failures():
    rows = due_everywhere()
    with poisoned(rows["poison"]):
        run_deadlines()

    beats = {b.job: b for b in JobHeartbeat.objects.all()}
    assert list(beats) == sorted(deadlines.jobs())
    assert all(b.last_started_at <= b.last_finished_at for b in beats.values())
    cancel = beats["orders.cancel_unpaid"]
    assert (cancel.items_done, cancel.failures) == (3, 1)
    assert "poisoned row" in cancel.last_error
    resolve = beats["disputes.auto_resolve"]
    assert (resolve.items_done, resolve.failures, resolve.last_error) == (1, 0, "")


def test_a_job_that_fails_as_a_whole_is_reported_and_the_next_jobs_still_run(settings):
    # a job registered by the test whose own query fails
    @deadlines.register("tests.broken")
    def broken(now):
        raise RuntimeError("the job's own query failed")

    try:
        order = f.order(at=f.T0)
        lines = run_deadlines()
    finally:
        deadlines._jobs.pop("tests.broken")

    assert "tests.broken: 0, job failed: RuntimeError: the job's own query failed" in lines
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    beat = JobHeartbeat.objects.get(job="tests.broken")
    assert beat.last_error == "RuntimeError: the job's own query failed"


def test_each_deadline_job_is_a_periodic_task_with_its_own_lock():
    app = jobs.queue_app
    periodic = {p.task.name: p for p in app.periodic_registry.periodic_tasks.values()}
    for job in deadlines.jobs():
        task = jobs.deadline_task(job)
        assert (
            (task.lock, task.queueing_lock) == (task.name, task.name) == (f"deadlines:{job}",) * 2
        )
        assert periodic[task.name].cron == "* * * * *"
    assert len({jobs.deadline_task(job).lock for job in deadlines.jobs()}) == len(deadlines.jobs())
    # and finished jobs are removed from the queue once a day
    assert periodic[jobs.CLEANUP_TASK].cron == "17 4 * * *"


# --- the admin ---


def test_failed_items_are_listed_with_their_error_and_heartbeats_with_their_run(client):
    order = f.order(at=f.T0)
    with poisoned(order):
        run_deadlines()
    client.force_login(f.superuser())

    failed = client.get(reverse("admin:backoffice_faileddeadlineitem_changelist"))
    beats = client.get(reverse("admin:backoffice_jobheartbeat_changelist"))

    assert failed.status_code == 200 and b"poisoned row" in failed.content
    assert b"orders.cancel_unpaid" in failed.content
    order_page = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{order_page}">{order.pk}</a>'.encode() in failed.content
    assert beats.status_code == 200 and b"disputes.auto_escalate" in beats.content
    item = FailedDeadlineItem.objects.get()
    detail = client.get(reverse("admin:backoffice_faileddeadlineitem_change", args=[item.pk]))
    assert detail.status_code == 200 and b"Traceback" in detail.content


def test_retry_now_unparks_the_item_and_runs_its_job_after_commit(
    client, settings, django_capture_on_commit_callbacks
):
    settings.DEADLINES_MAX_ATTEMPTS = 1
    order = f.order(at=f.T0)
    with poisoned(order):
        run_deadlines()
    item = FailedDeadlineItem.objects.get()
    assert item.parked
    client.force_login(f.superuser())

    # the database accepts the row again; staff retry it
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            reverse("admin:backoffice_faileddeadlineitem_changelist"),
            {"action": "retry_now", "_selected_action": [item.pk]},
            follow=True,
        )

    assert texts(response) == ["1 item will be retried by its job's next run (queued now)."]
    if jobs.uses_queue():  # PostgreSQL: the job's run is queued for a worker
        queued = ProcrastinateJob.objects.filter(task_name="deadlines:orders.cancel_unpaid")
        assert list(queued.values_list("status", flat=True)) == ["todo"]
        assert FailedDeadlineItem.objects.get().parked is False
    else:  # SQLite: the job ran in-process once the request committed
        assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
        assert not FailedDeadlineItem.objects.exists()


def test_dismiss_parks_the_item_for_good(client):
    order = f.order(at=f.T0)
    with poisoned(order):
        run_deadlines()
    item = FailedDeadlineItem.objects.get()
    client.force_login(f.superuser())

    post(
        client,
        reverse("admin:backoffice_faileddeadlineitem_changelist"),
        {"action": "dismiss", "_selected_action": [item.pk]},
    )

    item.refresh_from_db()
    assert (item.parked, item.dismissed) == (True, True)
    assert "orders.cancel_unpaid: 0" in run_deadlines()
    assert Order.objects.get(pk=order.pk).status == Order.Status.UNPAID


def test_staff_without_the_permission_cannot_act_on_failed_items(client):
    order = f.order(at=f.T0)
    with poisoned(order):
        run_deadlines()
    client.force_login(f.staff("support"))

    response = client.get(reverse("admin:backoffice_faileddeadlineitem_changelist"))

    assert response.status_code == 403
