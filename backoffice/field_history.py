"""Field-level history: every change a person makes to a store's or an order's plain fields
(name, settlement currency, opening date, buyer details...) is kept as one :class:`FieldChange`
row per field, with the old and new values as text, who and when. Services take a
:func:`snapshot` before they change an object and call :func:`record_field_changes` after."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from backoffice import clock
from backoffice.models import FieldChange


def field_text(value: Any) -> str:
    """A value as the history shows it: empty for none, ISO 8601 for times, ``str`` else (a
    related object by its own text and id)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return f"{value} (#{value.pk})"
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, str]:
    """The fields' current values as text."""
    return {name: field_text(getattr(obj, name)) for name in fields}


def record_field_changes(
    obj: models.Model,
    before: dict[str, str],
    after: dict[str, str],
    actor: Any,
    *,
    note: str = "",
    at: datetime | None = None,
) -> list[FieldChange]:
    """One row per field whose text differs between ``before`` and ``after``; none if equal."""
    at = clock.resolve(at)
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    rows = [
        FieldChange(
            content_type=content_type,
            object_id=obj.pk,
            field=name,
            old_value=old,
            new_value=after.get(name, ""),
            actor_id=actor.pk if getattr(actor, "pk", None) else None,
            at=at,
            note=note,
        )
        for name, old in before.items()
        if after.get(name, "") != old
    ]
    return FieldChange.objects.bulk_create(rows)
