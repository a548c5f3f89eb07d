"""The deadlines runner: every app registers the jobs that apply what is due at a given time;
the composition root says in which order they run (backoffice/composition/deadlines.py,
DEADLINE_JOBS).

A job takes ``now`` and returns how many objects it acted on. Jobs must be idempotent and safe
on several workers at once: they pick due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` in
small batches and re-check each row's state under the lock (see :func:`process_batches`).

Each job runs on its own (:func:`run_job`): a periodic task of the queue (backoffice/jobs.py)
in production, ``run_deadlines`` for replay and development. A row whose change raises never
stops its batch, its job or the other jobs: the batch is rolled back and redone row by row, and
the failing row is recorded (:class:`~backoffice.models.FailedDeadlineItem`), retried on later
runs and parked after ``DEADLINES_MAX_ATTEMPTS``. Each run leaves a
:class:`~backoffice.models.JobHeartbeat`.
"""

import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from backoffice import clock, unit_of_work
from backoffice.models import FailedDeadlineItem, JobHeartbeat

logger = logging.getLogger(__name__)

Job = Callable[[datetime], int]
M = TypeVar("M", bound=models.Model)
T = TypeVar("T")

_jobs: dict[str, Job] = {}
_order: list[str] = []


def register(name: str) -> Callable[[Job], Job]:
    def decorate(job: Job) -> Job:
        _jobs[name] = job
        return job

    return decorate


def set_order(names: Sequence[str]) -> None:
    """The order the jobs run in: every registered job named once, nothing else."""
    missing, unknown = set(_jobs) - set(names), set(names) - set(_jobs)
    if missing or unknown or len(set(names)) != len(names):
        raise ImproperlyConfigured(
            f"DEADLINE_JOBS must name every registered deadline job once: missing "
            f"{sorted(missing)}, unknown {sorted(unknown)}."
        )
    _order[:] = names


def jobs() -> dict[str, Job]:
    """Every registered job, in the order :func:`set_order` gave; a job registered after it
    (a test's) runs last."""
    later = [name for name in _jobs if name not in _order]
    return {name: _jobs[name] for name in [*_order, *later]}


@dataclass
class Failure:
    model: str
    pk: str
    error: str
    attempts: int
    parked: bool


@dataclass
class JobResult:
    job: str
    done: int = 0
    failures: list[Failure] = field(default_factory=list)
    error: str = ""  # the job itself failed (not one of its rows)


class _Run:
    """What one run of a job knows about its failing rows, per model."""

    def __init__(self, job: str) -> None:
        self.result = JobResult(job)
        self._known: dict[str, dict[str, FailedDeadlineItem]] = {}

    def known(self, label: str) -> dict[str, FailedDeadlineItem]:
        if label not in self._known:
            items = FailedDeadlineItem.objects.filter(job=self.result.job, model=label)
            self._known[label] = {item.object_pk: item for item in items}
        return self._known[label]

    def parked(self, label: str) -> list[str]:
        return [pk for pk, item in self.known(label).items() if item.parked]

    def succeeded(self, label: str, pks: Iterable[object]) -> None:
        """A row that failed before and went through now is no longer a failure."""
        known = self.known(label)
        cleared = [str(pk) for pk in pks if str(pk) in known]
        if cleared:
            FailedDeadlineItem.objects.filter(
                job=self.result.job, model=label, object_pk__in=cleared
            ).delete()
            for pk in cleared:
                del known[pk]

    def failed(self, label: str, pk: object, exc: Exception) -> None:
        item = _record_failure(self.result.job, label, str(pk), exc)
        self.known(label)[item.object_pk] = item
        self.result.failures.append(
            Failure(label, item.object_pk, item.error, item.attempts, item.parked)
        )
        logger.warning("deadline %s: %s %s failed: %s", self.result.job, label, pk, item.error)


_current: ContextVar[_Run | None] = ContextVar("deadline_run", default=None)


def _record_failure(job: str, label: str, pk: str, exc: Exception) -> FailedDeadlineItem:
    at = clock.now()
    error = f"{type(exc).__name__}: {exc}"[:2000]
    trace = "".join(traceback.format_exception(exc))
    with transaction.atomic():
        item, created = FailedDeadlineItem.objects.select_for_update().get_or_create(
            job=job,
            model=label,
            object_pk=pk,
            defaults={"error": error, "first_failed_at": at, "last_failed_at": at},
        )
        if not created:
            item.attempts += 1
        item.error, item.traceback, item.last_failed_at = error, trace, at
        item.parked = item.attempts >= settings.DEADLINES_MAX_ATTEMPTS
        item.save()
    return item


def run_job(name: str, now: datetime) -> JobResult:
    """Run one job at ``now`` and write its heartbeat. Never raises for the job's own errors:
    they are in the result (``error``, ``failures``) and the heartbeat."""
    JobHeartbeat.objects.update_or_create(job=name, defaults={"last_started_at": clock.now()})
    run = _Run(name)
    token = _current.set(run)
    try:
        run.result.done = _jobs[name](now)
    except Exception as exc:
        logger.exception("deadline job %s failed", name)
        run.result.error = f"{type(exc).__name__}: {exc}"
    finally:
        _current.reset(token)
    result = run.result
    last_error = result.error or (result.failures[-1].error if result.failures else "")
    JobHeartbeat.objects.filter(job=name).update(
        last_finished_at=clock.now(),
        items_done=result.done,
        failures=len(result.failures),
        last_error=last_error,
    )
    return result


def run_all(now: datetime) -> dict[str, int]:
    """Every job once, in order (``run_deadlines``); how many rows each changed."""
    return {name: run_job(name, now).done for name in jobs()}


def process_batches(due: models.QuerySet[M], handle: Callable[[list[M]], None]) -> int:
    """Lock due rows batch by batch and ``handle`` each batch in one transaction and one unit
    of work (:mod:`backoffice.unit_of_work`, as an import's batches: the batch's postings,
    audit rows and events are written together at its end). ``due`` must select only rows that
    still need the change, so a row handled by another worker (or an earlier run) is not picked
    again. Rows are taken in order of pk: a row ``handle`` left due is not taken again, so every
    run ends.

    When ``handle`` raises, the batch is rolled back and redone one row per transaction; a row
    that raises again is recorded as failed (and parked after ``DEADLINES_MAX_ATTEMPTS``) while
    the others go through. Parked rows are skipped. Returns the number of rows handled."""
    run = _current.get() or _Run(f"(direct) {due.model._meta.label}")
    label = due.model._meta.label
    parked = run.parked(label)
    if parked:
        due = due.exclude(pk__in=parked)
    done, last = 0, None
    while True:
        after = due if last is None else due.filter(pk__gt=last)
        pks: list[object] = []
        try:
            with unit_of_work.unit_of_work():
                batch = list(_locked(after)[: settings.DEADLINES_BATCH_SIZE])
                if not batch:
                    return done
                pks = [row.pk for row in batch]
                handle(batch)
        except Exception:
            if not pks:  # the due query itself failed: the job cannot go on
                raise
            done += _row_by_row(due, pks, handle, run)
        else:
            run.succeeded(label, pks)
            done += len(pks)
        last = pks[-1]


def _locked(due: models.QuerySet[M]) -> models.QuerySet[M]:
    return due.select_for_update(skip_locked=True, of=("self",)).order_by("pk")


def _row_by_row(
    due: models.QuerySet[M], pks: list[object], handle: Callable[[list[M]], None], run: _Run
) -> int:
    label, done = due.model._meta.label, 0
    for pk in pks:
        try:
            with unit_of_work.unit_of_work():
                rows = list(_locked(due.filter(pk=pk)))
                if not rows:  # no longer due, or another worker holds it
                    continue
                handle(rows)
        except Exception as exc:
            run.failed(label, pk, exc)
        else:
            run.succeeded(label, [pk])
            done += 1
    return done


def process_due(
    due: models.QuerySet[M],
    apply: Callable[[M], None],
    *,
    load: Callable[[list[M]], None] | None = None,
) -> int:
    """:func:`process_batches` where ``apply`` changes (and saves) each loaded row: the unit of
    work holds the batch's rows, so their saves are written together at the batch's end.
    ``load`` locks and loads up front what the batch will touch besides its rows (their orders,
    stores and balances), so that ``apply`` needs no query of its own for them. Returns the
    number of rows changed."""

    def handle(batch: list[M]) -> None:
        unit_of_work.current().hold(batch)
        if load is not None:
            load(batch)
        for row in batch:
            apply(row)

    return process_batches(due, handle)


def drain(
    claim: Callable[[datetime], list[T]], handle: Callable[[T, datetime], None], now: datetime
) -> int:
    """Handle what ``claim`` hands out (items due at ``now``, claimed by this worker) until it
    hands out nothing: the outbound jobs' loop (notice e-mails, webhook deliveries). Returns how
    many were handled."""
    done = 0
    while claimed := claim(now):
        for item in claimed:
            handle(item, now)
            done += 1
    return done


def retry_delay(base_seconds: float, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base..."""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))
