"""Small filter and order inputs: only the lookups the contract names (no regex, no joins)."""

from datetime import date, datetime
from typing import Any, Generic, TypeVar

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import UNSET, Info, relay
from strawberry_django.ordering import OrderSequence

from backoffice.graphql.inputs import aware
from backoffice.graphql.relay import filter_pk

T = TypeVar("T")


@strawberry.input(name="ChoiceFilter", description="One value, or any of a list.")
class ChoiceFilter(Generic[T]):
    exact: T | None = UNSET
    in_list: list[T] | None = UNSET


@strawberry.input(description="Exact text or a prefix.")
class TextFilter:
    exact: str | None = UNSET
    starts_with: str | None = UNSET


@strawberry.input(description="A time range; both ends included, each optional.")
class DateTimeRange:
    gte: datetime | None = UNSET
    lte: datetime | None = UNSET

    def q(self, lookup: str, *, field: str) -> Q:
        """The range as a filter on ``lookup``; naive times are refused, not guessed."""
        q = Q()
        for name in ("gte", "lte"):
            value = getattr(self, name)
            if value is UNSET or value is None:
                continue
            q &= Q(**{f"{lookup}__{name}": aware(value, field=field)})
        return q


@strawberry.input(description="A range of days; both ends included, each optional.")
class DateRange:
    gte: date | None = UNSET
    lte: date | None = UNSET

    def q(self, lookup: str) -> Q:
        q = Q()
        for name in ("gte", "lte"):
            value = getattr(self, name)
            if value is not UNSET and value is not None:
                q &= Q(**{f"{lookup}__{name}": value})
        return q


def store_pk(value: relay.GlobalID, type_name: str = "SellerAccount") -> int | None:
    """The pk a store filter names; ``None`` (matches nothing) for an ID of another type."""
    return filter_pk(value, type_name, field="store")


class StableOrder:
    """Mixin for ``order`` inputs: the primary key breaks ties after the client's fields, so
    that consecutive pages never overlap or skip rows."""

    @strawberry_django.order_field
    def order(
        self,
        info: Info,
        queryset: QuerySet,
        prefix: str,
        sequence: dict[str, OrderSequence] | None,
    ) -> tuple[QuerySet, list[Any]]:
        queryset, args = strawberry_django.process_order(
            self,  # type: ignore[arg-type]
            info,
            queryset,
            sequence=sequence,
            prefix=prefix,
            skip_object_order_method=True,
        )
        return queryset, [*args, f"{prefix}pk"] if args else list(args)
