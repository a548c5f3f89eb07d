"""Small database helpers shared by the services."""

from typing import TypeVar

from django.db import models

from backoffice.errors import not_found

M = TypeVar("M", bound=models.Model)


def lock(model: type[M], pk: int | str, *, what: str | None = None) -> M:
    """Load one row with ``SELECT ... FOR UPDATE`` (a no-op on SQLite, whose writers are
    serialised by the IMMEDIATE transactions set in settings). Must run inside ``atomic``."""
    try:
        return model.objects.select_for_update().get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise not_found(what or model._meta.verbose_name.capitalize()) from None
