"""Relay helpers: a connection that refuses bad page arguments cleanly, and global IDs turned
into primary keys through the viewer's queryset."""

import re
import sys
from collections.abc import Callable
from typing import Any

import strawberry
from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from strawberry import Info, relay
from strawberry.extensions import FieldExtension
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
        raise invalid(
            _("%(name)r is not a cursor of this list.") % {"name": name}, field=name
        ) from None


def check_page_arguments(
    *, first: int | None, last: int | None, after: str | None, before: str | None
) -> None:
    """Refuse what strawberry would turn into a negative slice (a crash) or an unbounded one."""
    limit = max_page_size()
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= limit:
            raise invalid(
                _("%(name)r must be between 0 and %(limit)s.") % {"name": name, "limit": limit},
                field=name,
            )
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


# The primary keys are bigints: a global ID's node id is one written the one canonical way
# (ASCII digits, no sign, padding, leading zero, underscore or other digits Python's int()
# accepts) within the column's range; anything else names no object.
_CANONICAL_PK = re.compile(r"[1-9][0-9]{0,18}")
MAX_PK = 2**63 - 1


def pk_from_node_id(node_id: object) -> int | None:
    """The primary key a global ID's node id spells, or None when it spells none."""
    if not isinstance(node_id, str) or not _CANONICAL_PK.fullmatch(node_id):
        return None
    pk = int(node_id)
    return pk if pk <= MAX_PK else None


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
    except (ValueError, TypeError):  # GlobalIDValueError is a ValueError
        raise not_found(type_name, field=field) from None
    pk = pk_from_node_id(parsed.node_id)
    if parsed.type_name != type_name or pk is None or not queryset.filter(pk=pk).exists():
        raise not_found(type_name, field=field)
    return pk


def filter_pk(value: relay.GlobalID, type_name: str, *, field: str) -> int | None:
    """The pk a filter's global ID names; ``None`` (matches nothing) for an ID of another type,
    ``invalid`` for one of this type that spells no primary key."""
    if value.type_name != type_name:
        return None
    pk = pk_from_node_id(value.node_id)
    if pk is None:
        raise invalid(_("Not an ID of a %(type)s.") % {"type": type_name}, field=field)
    return pk


class StrictNodeId(FieldExtension):
    """On ``node(id:)``: an ID whose node id spells no primary key is ``invalid`` (field
    ``id``) instead of reaching the database (whose message would be the answer) or being
    read leniently (``Order: 1``, ``Order:01`` and Arabic-Indic digits would all be order 1)."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        global_id = kwargs.get("id")
        if isinstance(global_id, relay.GlobalID) and pk_from_node_id(global_id.node_id) is None:
            raise invalid(_("Not a valid ID."), field="id")
        return next_(source, info, **kwargs)
