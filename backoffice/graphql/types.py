"""GraphQL types shared by every app: money, audit history, available transitions, enums, and
:class:`Scoped`, the base of every type whose rows depend on who asks."""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import strawberry
import strawberry_django
from django.db import models
from django.db.models import Prefetch, QuerySet
from django.utils import translation
from strawberry import Info

from backoffice.audit import TransitionLog
from backoffice.fsm import transition_checks
from backoffice.graphql.actors import BY, actor_name
from backoffice.graphql.relay import node_pk
from backoffice.graphql.viewer import viewer
from backoffice.models import FieldChange
from backoffice.money import Currency, quantize


class Scoped:
    """Row permissions in one place: every type whose rows depend on the viewer inherits
    this ``get_queryset`` and names its one scoping function, ``scope = staticmethod(f)`` with
    ``f(viewer, queryset) -> queryset`` (the app's ``*_visible_to`` selector). Lists, nested
    relations, ``node(id:)`` and the mutations' global IDs (:meth:`pk_of`) all go through it."""

    @staticmethod
    def scope(viewer: Any, queryset: QuerySet) -> QuerySet:
        raise NotImplementedError("a Scoped type names its scoping function")

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: Info, **kwargs: Any) -> QuerySet:
        return cls.scope(viewer(info), queryset)

    @classmethod
    def pk_of(cls, info: Info, global_id: str, *, field: str = "id") -> int:
        """The pk behind ``global_id`` if it names one of this type's rows the viewer sees;
        else ``not_found`` (another store's object looks like one that does not exist)."""
        model = cls.__strawberry_django_definition__.model  # type: ignore[attr-defined]
        queryset = cls.scope(viewer(info), model._default_manager.all())
        name = cls.__strawberry_definition__.name  # type: ignore[attr-defined]
        return node_pk(global_id, queryset, type_name=name, field=field)


@strawberry.type(description="An amount of money: a decimal string with exactly 2 decimals.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | None, currency: str) -> "Money | None":
        return None if amount is None else cls(amount=quantize(amount), currency=currency)


@strawberry.type(description="One state change: who moved the object from where to where.")
class HistoryEntry:
    from_: str = strawberry.field(name="from", description="The state before, e.g. `PAID`.")
    to: str = strawberry.field(description="The state after, as `status` names it.")
    transition: str
    by: str | None = strawberry.field(description=BY)
    at: datetime
    note: str

    @classmethod
    def of(cls, row: TransitionLog, info: Info) -> "HistoryEntry":
        return cls(
            from_=row.source.upper(),  # the GraphQL enum names of the states
            to=row.target.upper(),
            transition=row.transition,
            by=actor_name(info, row.actor),
            at=row.at,
            note=row.note,
        )


@strawberry.type(description="A transition and whether the viewer may run it now.")
class AvailableTransition:
    name: str
    allowed: bool
    reason: str | None = strawberry.field(description="Why not, when not allowed.")
    code: str | None = strawberry.field(description="The error code the mutation would give.")


def enum_from_choices(
    name: str, choices: Iterable[tuple[str, Any]], *, description: str | None = None
) -> type[StrEnum]:
    """A GraphQL enum built from model choices: ``credit_card`` becomes ``CREDIT_CARD``. Its
    members are ``str`` equal to the stored value, so they go to services unchanged.

    Each value's description is its choice label, the enum's is ``description``: both in
    English in the schema (it is one document for every client) and both in the translation
    catalogue (labels are ``gettext_lazy``, enum descriptions ``gettext_noop``), so a client
    shows them in its reader's language; ``messages.message`` is translated by the server."""
    choices = list(choices)
    members = {str(value).upper(): str(value) for value, _label in choices}
    enum = strawberry.enum(StrEnum(name, members), description=description)
    with translation.override("en"):
        labels = {str(value): str(label) for value, label in choices}
    for value in enum.__strawberry_definition__.values:
        if labels.get(value.value) not in (None, value.value):
            value.description = labels[value.value]
    return enum


# The currencies of money the API takes (payouts, settlement, rates): USD and CNY.
SettlementCurrency = enum_from_choices("Currency", Currency.CHOICES)


def choice(enum: type[StrEnum], value: str) -> StrEnum | None:
    """A stored choice as its enum member; blank (not set) is ``None``."""
    return enum(value) if value else None


def history_field(log_model: type[TransitionLog]) -> Any:
    """``history``: the object's audit rows, oldest first, prefetched once for a whole page."""
    return _audit_rows_field(
        "history", log_model.objects.all(), HistoryEntry, "State changes, oldest first."
    )


def _audit_rows_field(relation: str, rows: QuerySet, entry: Any, description: str) -> Any:
    """A list field of ``entry`` read from the object's ``relation`` (audit rows with their
    actor), oldest first, prefetched once for a whole page."""

    to_attr = f"_page_{relation}"  # a plain list: Django builds no queryset per object

    def prefetch(info: Info) -> Prefetch:
        ordered = rows.select_related("actor").order_by("at", "id")
        return Prefetch(relation, queryset=ordered, to_attr=to_attr)

    def resolve(root: strawberry.Parent[models.Model], info: Info) -> list[Any]:
        loaded = root.__dict__.get(to_attr)
        if loaded is None:  # not loaded with the page (the optimizer off): one query
            loaded = getattr(root, relation).all()
        return [entry.of(row, info) for row in loaded]

    return strawberry_django.field(
        resolver=resolve,
        prefetch_related=[prefetch],
        graphql_type=list[entry],
        description=description,
    )


@strawberry.type(description="One field changed by a person: its old and new value, who and when.")
class FieldChangeEntry:
    field: str = strawberry.field(description="The field as the database names it, e.g. `name`.")
    old: str = strawberry.field(description="The value before, as text (empty: none).")
    new: str = strawberry.field(description="The value after, as text (empty: none).")
    by: str | None = strawberry.field(description=BY)
    at: datetime
    note: str

    @classmethod
    def of(cls, row: FieldChange, info: Info) -> "FieldChangeEntry":
        return cls(
            field=row.field,
            old=row.old_value,
            new=row.new_value,
            by=actor_name(info, row.actor),
            at=row.at,
            note=row.note,
        )


def changes_field() -> Any:
    """``changes``: the object's field-level history (``field_changes``), oldest first,
    prefetched once for a whole page."""
    return _audit_rows_field(
        "field_changes",
        FieldChange.objects.all(),
        FieldChangeEntry,
        "Changes of its fields by people (old and new value, who), oldest first.",
    )


def transitions_field(
    only: list[str],
    annotate: dict[str, Any] | None = None,
    prefetch_related: list[Any] | None = None,
) -> Any:
    """``availableTransitions`` for the viewer. ``only`` lists every column the guards and the
    permission check read, so that a page never loads a deferred field row by row; ``annotate``
    and ``prefetch_related`` give them what they would otherwise query per row."""

    def resolve(root: strawberry.Parent[models.Model], info: Info) -> list[AvailableTransition]:
        return [
            AvailableTransition(name=c.name, allowed=c.allowed, reason=c.reason, code=c.code)
            for c in transition_checks(root, viewer(info))
        ]

    return strawberry_django.field(
        resolver=resolve, only=only, annotate=annotate, prefetch_related=prefetch_related
    )


def money_field(
    attname: str, currency: str, *, nullable: bool = False, description: str | None = None
) -> Any:
    """A ``Money`` read from a decimal column in a fixed currency (the column's scale never
    leaks into the API)."""

    def resolve(root: strawberry.Parent[models.Model]) -> Money | None:
        return Money.of(getattr(root, attname), currency)

    resolve.__annotations__["return"] = Money | None if nullable else Money
    return strawberry_django.field(resolver=resolve, only=[attname], description=description)
