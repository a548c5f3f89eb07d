"""Deadline jobs run by real procrastinate worker processes on PostgreSQL.

Two ``manage.py procrastinate worker`` processes run against the test database with every
deadline job due each second: each due row is changed exactly once, a poisoned row is parked
while every other due row of every job is done, and every job ran as its own periodic task.
The data must be committed for the workers to see it (``transaction=True``); the workers are
stopped at the end of each test, whatever happened.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from backoffice import deadlines, jobs
from backoffice.models import FailedDeadlineItem, JobHeartbeat
from disputes.models import Dispute, DisputeTransition
from orders.models import Order, OrderTransition
from tests import factories as f
from tests.test_deadline_jobs import poisoned

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

QUEUE_TABLES = (
    "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"
)


def database_url() -> str:
    """DATABASE_URL pointed at the test database (pytest-django's ``test_backoffice``...)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


def empty_queue() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {QUEUE_TABLES} CASCADE")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    empty_queue()
    workers: list[subprocess.Popen] = []

    def start(name: str, **environ: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEADLINES_CRON": "* * * * * *",  # every second (6th field: seconds)
            "DEADLINES_BATCH_SIZE": "4",
            "DEADLINES_MAX_ATTEMPTS": "2",
            **environ,
        }
        log = (tmp_path / f"{name}.log").open("w")
        command = [sys.executable, "manage.py", "procrastinate", "worker", "--name", name]
        worker = subprocess.Popen(
            [*command, "--concurrency", "3"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)
        empty_queue()


def workers_that_ran_jobs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT worker_id) FROM procrastinate_jobs "
            "WHERE status IN ('succeeded', 'failed')"
        )
        return cursor.fetchone()[0]


def wait_until(condition: Callable[[], bool], *, timeout: float, workers, tmp_path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [w for w in workers if w.poll() is not None]
        logs = "\n".join(p.read_text()[-3000:] for p in tmp_path.glob("*.log"))
        assert not dead, f"a worker exited early:\n{logs}"
        assert time.monotonic() < deadline, f"not done in {timeout} s; worker logs:\n{logs}"
        time.sleep(0.5)


def test_two_workers_process_each_due_row_once_and_park_the_poisoned_one(start_worker, tmp_path):
    # given due rows for several jobs, one of them poisoned
    unpaid = [f.order(at=f.T0) for _ in range(14)]
    poison = unpaid[5]
    healthy = [o.pk for o in unpaid if o.pk != poison.pk]
    shipped = [f.order(status="shipped", at=f.T0).pk for _ in range(3)]
    disputes = [f.dispute(f.order(status="shipped", at=f.T0)).pk for _ in range(3)]

    def all_done() -> bool:
        parked = FailedDeadlineItem.objects.filter(parked=True).exists()
        cancelled = Order.objects.filter(pk__in=healthy, status=Order.Status.CANCELLED)
        confirmed = Order.objects.filter(pk__in=shipped, status=Order.Status.COMPLETED)
        resolved = Dispute.objects.filter(pk__in=disputes, status=Dispute.Status.RESOLVED)
        return (
            parked
            and workers_that_ran_jobs() == 2  # both took their share of the runs
            and cancelled.count() == len(healthy)
            and confirmed.count() == len(shipped)
            and resolved.count() == len(disputes)
        )

    with poisoned(poison):
        # when two workers run the periodic deadline jobs
        workers = [start_worker("one"), start_worker("two")]
        wait_until(all_done, timeout=120, workers=workers, tmp_path=tmp_path)

    # then each due row was changed exactly once, by one run of one job
    cancels = OrderTransition.objects.filter(transition="cancel", order__in=healthy)
    assert sorted(cancels.values_list("order", flat=True)) == sorted(healthy)
    confirms = OrderTransition.objects.filter(transition="confirm", order__in=shipped)
    assert sorted(confirms.values_list("order", flat=True)) == sorted(shipped)
    resolves = DisputeTransition.objects.filter(transition="auto_resolve")
    assert sorted(resolves.values_list("dispute", flat=True)) == sorted(disputes)
    # the poisoned order is untouched, parked after DEADLINES_MAX_ATTEMPTS (2) runs
    assert Order.objects.get(pk=poison.pk).status == Order.Status.UNPAID
    item = FailedDeadlineItem.objects.get()
    assert (item.object_pk, item.attempts, item.parked) == (str(poison.pk), 2, True)
    assert "poisoned row" in item.error
    # every job ran as its own periodic task and left its heartbeat
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT task_name FROM procrastinate_periodic_defers")
        periodic = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE status = 'succeeded' AND task_name LIKE 'deadlines:%%'"
        )
        assert cursor.fetchone()[0] >= len(deadlines.jobs())  # the workers ran them
    assert {f"deadlines:{job}" for job in deadlines.jobs()} <= periodic
    assert set(JobHeartbeat.objects.values_list("job", flat=True)) == set(deadlines.jobs())


def test_a_job_deferred_in_a_transaction_runs_on_a_worker_and_old_jobs_are_removed(
    start_worker, tmp_path
):
    # given a due order and a run of its job queued with the change that made it due
    order = f.order(at=f.T0)
    with transaction.atomic():
        jobs.deadline_task("orders.cancel_unpaid").defer()
    queued = ProcrastinateJob.objects.filter(task_name="deadlines:orders.cancel_unpaid")
    assert queued.count() == 1

    # when a worker runs with no deadline due by the clock and the cleanup every second
    worker = start_worker(
        "solo",
        DEADLINES_CRON="0 0 1 1 *",
        QUEUE_CLEANUP_CRON="* * * * * *",
        QUEUE_KEEP_HOURS="0",
    )

    # then it runs the queued job, and the cleanup then removes the finished job
    def done_and_forgotten() -> bool:
        cancelled = Order.objects.filter(pk=order.pk, status=Order.Status.CANCELLED).exists()
        return cancelled and not queued.exists()

    wait_until(done_and_forgotten, timeout=60, workers=[worker], tmp_path=tmp_path)
    assert JobHeartbeat.objects.get(job="orders.cancel_unpaid").items_done == 1
