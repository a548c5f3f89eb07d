"""Audit rows for state changes: who moved what from which state to which, when and why.

Each app keeps a concrete subclass of :class:`TransitionLog` with a foreign key named after
its model and ``related_name="history"``. Services call :func:`record_transition`; inside
:func:`batched_audit` the rows are collected and bulk-inserted once, so that a batch of
thousands of transitions (imports, the deadlines runner) costs one INSERT, not one per row.
Each audit row comes with its outbound event (:mod:`backoffice.events`), batched the same way.
"""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from backoffice import events
from backoffice.db import build, insert_many

_pending: ContextVar[list["TransitionLog"] | None] = ContextVar("pending_audit", default=None)


class TransitionLog(models.Model):
    transition = models.CharField(max_length=50)
    source = models.CharField(max_length=32)
    target = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the system (deadlines runner, integrations)."),
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True
        ordering = ("at", "id")

    def __str__(self) -> str:
        who = self.actor.get_username() if self.actor_id else "system"
        return f"{self.source} → {self.target} by {who} at {self.at:%Y-%m-%d %H:%M:%S}"


@functools.cache
def _log_of(model: type[models.Model]) -> tuple[type[TransitionLog], str]:
    """The log model of ``model`` and the name of its foreign key to it."""
    log = model._meta.get_field("history").related_model
    return log, log._meta.get_field(model._meta.model_name).name


def record_transition(
    instance: models.Model,
    *,
    transition: str,
    source: str,
    target: str,
    actor: Any,
    note: str,
    at: datetime,
    **extra: Any,
) -> TransitionLog:
    """One audit row; ``extra`` fills fields a log model adds (e.g. a dispute's amount)."""
    model, fk_name = _log_of(type(instance))
    values = {
        "transition": transition,
        "source": source,
        "target": target,
        "actor_id": actor.pk if getattr(actor, "pk", None) else None,
        "note": note,
        "at": at,
        **extra,
    }
    events.record_state_change(
        instance,
        transition=transition,
        source=source,
        target=target,
        actor=actor,
        at=at,
        extra=extra,
    )
    pending = _pending.get()
    if instance.pk is None:  # not saved yet: link the object, its id is taken when saving
        row = model(**{fk_name: instance}, **values)
    elif pending is not None:  # thousands of rows for the batch's bulk insert: built cheaply
        row = build(model, **{f"{fk_name}_id": instance.pk}, **values)
    else:
        row = model(**{f"{fk_name}_id": instance.pk}, **values)
    if pending is None:
        row.save()
    else:
        pending.append(row)
    return row


@contextmanager
def batched_audit() -> Iterator[list[TransitionLog]]:
    """Collect audit rows recorded inside the block and insert them in bulk at its end, with
    the outbound events recorded meanwhile (:mod:`backoffice.events`)."""
    if _pending.get() is not None:  # already batching: the outer block flushes
        yield _pending.get()
        return
    rows: list[TransitionLog] = []
    token = _pending.set(rows)
    try:
        with transaction.atomic(), events.batched():
            yield rows
            flush(rows)
    finally:
        _pending.reset(token)


def flush(rows: list[TransitionLog]) -> None:
    by_model: dict[type[TransitionLog], list[TransitionLog]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, model_rows in by_model.items():
        insert_many(model, model_rows)
    rows.clear()
    events.flush()
