"""Checks on input values that GraphQL's types cannot express."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.errors import invalid


def aware(value: datetime | None, *, field: str) -> datetime | None:
    """``value`` if it carries a time zone (or is not given): a naive time is ambiguous."""
    if value is not None and timezone.is_naive(value):
        raise invalid(_("Give the time with a time zone, e.g. 2026-03-01T12:00:00Z."), field=field)
    return value
