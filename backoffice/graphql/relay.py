"""Relay helpers: a connection that refuses bad page arguments cleanly, and global IDs turned
into primary keys through the viewer's queryset."""

import sys
from typing import Any

import strawberry
from django.conf import settings
from django.db import models
from strawberry import Info, relay
from strawberry.relay.utils import from_base64
from strawberry_django.relay import DjangoListConnection

from backoffice.errors import invalid, not_found


def max_page_size() -> int:
    return settings.STRAWBERRY_DJANGO["PAGINATION_MAX_LIMIT"]


def _cursor_offset(cursor: str | None, name: str) -> None:
    if cursor is None:
        return
    try:
        _prefix, offset = from_base64(cursor)
        if not 0 <= int(offset) <= sys.maxsize // 2:  # larger offsets overflow the database
            raise ValueError
    except (ValueError, TypeError):
        raise invalid(f"{name!r} is not a cursor of this list.", field=name) from None


def check_page_arguments(
    *, first: int | None, last: int | None, after: str | None, before: str | None
) -> None:
    """Refuse what strawberry would turn into a negative slice (a crash) or an unbounded one."""
    limit = max_page_size()
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= limit:
            raise invalid(f"{name!r} must be between 0 and {limit}.", field=name)
    _cursor_offset(after, "after")
    _cursor_offset(before, "before")


@strawberry.type(name="Connection", description="A page of a list, with the list's total count.")
class Connection(DjangoListConnection[relay.NodeType]):
    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Info,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        **kwargs: Any,
    ) -> Any:
        check_page_arguments(first=first, last=last, after=after, before=before)
        return super().resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
        )


def node_pk(
    global_id: str,
    queryset: models.QuerySet,
    *,
    type_name: str,
    field: str = "id",
) -> int:
    """The primary key behind ``global_id`` if it names a ``type_name`` the viewer can see
    (``queryset`` is already scoped to the viewer). Anything else is ``not_found``: a seller
    cannot tell another store's object from one that does not exist."""
    try:
        parsed = relay.GlobalID.from_id(global_id)
        pk = int(parsed.node_id)
    except (ValueError, TypeError):  # GlobalIDValueError is a ValueError
        raise not_found(type_name, field=field) from None
    in_range = -sys.maxsize <= pk <= sys.maxsize  # larger ints overflow the database driver
    if parsed.type_name != type_name or not in_range or not queryset.filter(pk=pk).exists():
        raise not_found(type_name, field=field)
    return pk
