"""Audit rows for state changes: who moved what from which state to which, when and why.

Each app keeps a concrete subclass of :class:`TransitionLog` with a foreign key named after
its model and ``related_name="history"``. Services call :func:`record_transition`, which hands
the row to the unit of work (:mod:`backoffice.unit_of_work`): saved at once outside a batch;
inside one, collected and bulk-inserted at its flush, so that a batch of thousands of
transitions (imports, the deadlines runner) costs one INSERT, not one per row. Each audit row
comes with its outbound event (:mod:`backoffice.events`), collected the same way.
"""

import functools
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backoffice import events, unit_of_work
from backoffice.db import build


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
    if instance.pk is None:  # not saved yet: link the object, its id is taken when saving
        row = model(**{fk_name: instance}, **values)
    else:  # built cheaply: a batch builds thousands of them
        row = build(model, **{f"{fk_name}_id": instance.pk}, **values)
    unit_of_work.current().record_audit(row)
    return row
