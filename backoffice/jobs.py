"""Background jobs on procrastinate (docs/operations.md, "Background jobs").

On PostgreSQL the queue is procrastinate's tables in our database: a job deferred inside a
transaction exists only if that transaction commits, and ``manage.py procrastinate worker``
processes run the jobs and the periodic tasks. On SQLite (development, the SQLite test run) there
is no queue server and procrastinate's SQL cannot run: its migrations are skipped, the app queues
in memory, and :func:`defer_after_commit` runs a job in-process once the transaction commits.

Every deadline job (backoffice/deadlines.py) is a periodic task of its own, with a lock (one run
of a job at a time across all workers; different jobs run side by side) and a queueing lock (at
most one run waiting). A daily task removes finished jobs older than QUEUE_KEEP_HOURS. Other
periodic work registers with :func:`periodic` (the ledger's checks, payouts/checks.py).
"""

import contextlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db import connections, transaction
from procrastinate import App, JobContext, builtin_tasks, exceptions, testing
from procrastinate.contrib.django import app as queue_app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.tasks import Task

from backoffice import clock, deadlines

DEADLINES_QUEUE = "deadlines"
CLEANUP_TASK = "queue:remove_old_jobs"


def on_postgres(alias: str = "default") -> bool:
    return connections[alias].vendor == "postgresql"


class ProcrastinateOnPostgresOnly:
    """Database router: procrastinate's migrations are PostgreSQL SQL; SQLite skips them."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == "procrastinate":
            return on_postgres(db)
        return None


def on_app_ready(app: App) -> None:
    """Queue in memory without PostgreSQL, register the deadlines (called by
    PROCRASTINATE_ON_APP_READY, backoffice.composition.apps.on_queue_ready)."""
    if not on_postgres():
        connector = testing.InMemoryConnector()
        app.connector = connector
        app.job_manager.connector = connector
        if admin.site.is_registered(ProcrastinateJob):  # its table exists on PostgreSQL only
            admin.site.unregister(ProcrastinateJob)
    register_deadline_tasks(app)


def uses_queue() -> bool:
    """Whether deferred jobs go to a real queue (PostgreSQL) rather than run in-process."""
    return not isinstance(queue_app.connector, testing.InMemoryConnector)


def defer_after_commit(task: Task, **kwargs: Any) -> None:
    """Queue ``task`` as part of the current transaction; without a real queue, run it in this
    process once the transaction commits. A run already waiting under the task's queueing lock
    is enough: nothing more is queued."""
    if not uses_queue():
        transaction.on_commit(lambda: task(**kwargs))
        return
    with contextlib.suppress(exceptions.AlreadyEnqueued):
        task.defer(**kwargs)


# --- deadlines as periodic tasks ---


class DeadlineJobFailed(Exception):
    """The job itself failed (not one of its rows): the queue records the run as failed."""


def deadline_task_name(job: str) -> str:
    return f"deadlines:{job}"


def deadline_cron(job: str) -> str:
    overrides = settings.DEADLINES_CRON_OVERRIDES
    return overrides.get(job.replace(".", "_"), settings.DEADLINES_CRON)


def deadline_task(job: str) -> Task:
    return queue_app.tasks[deadline_task_name(job)]


def _runner(job: str) -> Callable[..., None]:
    def run_deadline_job(timestamp: int = 0) -> None:
        """``timestamp`` is when the periodic task was due; the job runs at the clock's now."""
        result = deadlines.run_job(job, clock.now())
        if result.error:
            raise DeadlineJobFailed(f"{job}: {result.error}")

    run_deadline_job.__qualname__ = f"run_deadline_job[{job}]"
    return run_deadline_job


async def remove_old_jobs(context: JobContext, timestamp: int = 0) -> None:
    """Forget finished jobs older than QUEUE_KEEP_HOURS: the heartbeats and failed items keep
    what matters, and the queue table stays small."""
    await builtin_tasks.remove_old_jobs(
        context,
        max_hours=settings.QUEUE_KEEP_HOURS,
        remove_failed=True,
        remove_cancelled=True,
        remove_aborted=True,
    )


# --- other periodic tasks (e.g. payouts.checks: the ledger's checks) ---

_periodic: dict[str, tuple[Callable[[], Any], Callable[[], str]]] = {}


def periodic(name: str, *, cron: Callable[[], str]) -> Callable[[Callable[[], Any]], Any]:
    """Register ``work`` (no arguments) as a periodic task ``name`` of the queue, on the cron
    that ``cron()`` reads from the settings when the queue starts; one run at a time."""

    def decorate(work: Callable[[], Any]) -> Callable[[], Any]:
        _periodic[name] = (work, cron)
        return work

    return decorate


def _periodic_runner(work: Callable[[], Any]) -> Callable[..., None]:
    def run_periodic(timestamp: int = 0) -> None:
        work()

    run_periodic.__qualname__ = f"run_periodic[{work.__qualname__}]"
    return run_periodic


def register_deadline_tasks(app: App) -> None:
    if CLEANUP_TASK not in app.tasks:
        cleanup = app.task(name=CLEANUP_TASK, pass_context=True, queueing_lock=CLEANUP_TASK)(
            remove_old_jobs
        )
        app.periodic(cron=settings.QUEUE_CLEANUP_CRON)(cleanup)
    for job in deadlines.jobs():
        name = deadline_task_name(job)
        if name in app.tasks:
            continue
        task = app.task(name=name, queue=DEADLINES_QUEUE, lock=name, queueing_lock=name)(
            _runner(job)
        )
        app.periodic(cron=deadline_cron(job))(task)
    for name, (work, cron) in _periodic.items():
        if name in app.tasks:
            continue
        task = app.task(name=name, queue=DEADLINES_QUEUE, lock=name, queueing_lock=name)(
            _periodic_runner(work)
        )
        app.periodic(cron=cron())(task)
