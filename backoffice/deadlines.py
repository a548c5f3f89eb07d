"""The deadlines runner: every app registers the jobs that apply what is due at a given time.

A job takes ``now`` and returns how many objects it acted on. Jobs must be idempotent and safe
on several workers at once: they pick due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` in
small batches and re-check each row's state under the lock (see :func:`process_due`).
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import models, transaction

from backoffice.audit import batched_audit

Job = Callable[[datetime], int]
M = TypeVar("M", bound=models.Model)

_jobs: dict[str, Job] = {}


def register(name: str) -> Callable[[Job], Job]:
    def decorate(job: Job) -> Job:
        _jobs[name] = job
        return job

    return decorate


def jobs() -> dict[str, Job]:
    return dict(_jobs)


def run_all(now: datetime) -> dict[str, int]:
    return {name: job(now) for name, job in _jobs.items()}


def process_due(
    due: models.QuerySet[M],
    apply: Callable[[M], None],
    update_fields: Iterable[str],
) -> int:
    """Lock due rows batch by batch, ``apply`` the change to each loaded row, and write the batch
    with one ``bulk_update`` (unless ``update_fields`` is empty because ``apply`` saves) plus one
    bulk insert of audit rows. ``due`` must select only rows
    that still need the change, so a row handled by another worker (or an earlier run) is not
    picked again. Returns the number of rows changed."""
    done, last = 0, None
    fields = list(update_fields)
    while True:
        with transaction.atomic(), batched_audit():
            # after the last row of the batch before: a row ``apply`` left due (it could not
            # change it) is not taken again, so every run ends
            after = due if last is None else due.filter(pk__gt=last)
            batch = list(
                after.select_for_update(skip_locked=True).order_by("pk")[
                    : settings.DEADLINES_BATCH_SIZE
                ]
            )
            if not batch:
                return done
            last = batch[-1].pk
            model = type(batch[0])
            auto_now = [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
            for row in batch:
                apply(row)
                for field in auto_now:  # bulk_update does not touch auto_now fields itself
                    field.pre_save(row, add=False)
            if fields:  # empty when ``apply`` saves each row itself
                model.objects.bulk_update(batch, [*fields, *(f.name for f in auto_now)])
            done += len(batch)
