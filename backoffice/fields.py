"""Model fields that every app declares alike."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models


def user_link(*, on_delete: Callable[..., Any] = models.PROTECT, **options: Any) -> Any:
    """The user who did something, empty for the system (an import, a deadline job). No
    reverse accessor on the user: nothing reads these rows from the user's side."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=on_delete,
        related_name="+",
        **options,
    )
