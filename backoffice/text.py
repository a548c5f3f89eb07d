"""Text from input (GraphQL, admin forms, imports), bounded before it reaches a column.

A CharField's ``max_length`` is enforced by PostgreSQL with a raw "value too long" error and
not at all by SQLite (which stores a megabyte happily); long free text (TextField: notes,
descriptions, messages) has no column limit. Services call :func:`clean_text` on every text a
client gives, so each refusal is ``invalid`` naming the field. docs/money.md "Input rules".
"""

import re
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _

from backoffice.errors import invalid

# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators; free text
# on several lines may hold newlines, carriage returns and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def text_max_chars() -> int:
    """The longest free text (notes, descriptions, messages, reasons): TEXT_MAX_CHARS."""
    return int(settings.TEXT_MAX_CHARS)


def column_length(model: type[models.Model], name: str) -> int:
    """A CharField's ``max_length``; free text (a TextField) gets :func:`text_max_chars`."""
    return model._meta.get_field(name).max_length or text_max_chars()


def clean_text(
    value: Any,
    *,
    field: str,
    max_length: int | None = None,
    multiline: bool = False,
    strip: bool = True,
) -> str:
    """``value`` (None is "") stripped, at most ``max_length`` characters (default: free text's
    limit), without control characters (multi-line text keeps newlines and tabs); or
    ``invalid`` naming ``field``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(_("Text expected."), field=field)
    text = value.strip() if strip else value
    limit = max_length or text_max_chars()
    if len(text) > limit:
        raise invalid(
            _("At most %(limit)d characters (%(length)d given).")
            % {"limit": limit, "length": len(text)},
            field=field,
        )
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(text):
        raise invalid(
            _("Control characters are not allowed here.")
            if not multiline
            else _("Control characters other than newlines and tabs are not allowed here."),
            field=field,
        )
    return text
