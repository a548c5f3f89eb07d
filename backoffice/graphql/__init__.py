"""Shared GraphQL building blocks: types, relay helpers, mutation error handling."""

from backoffice.graphql.filters import (
    ChoiceFilter,
    DateRange,
    DateTimeRange,
    StableOrder,
    TextFilter,
    store_pk,
)
from backoffice.graphql.inputs import aware
from backoffice.graphql.mutations import GlobalId, mutation, service_mutation
from backoffice.graphql.relay import Connection, filter_pk, max_page_size, node_pk, pk_from_node_id
from backoffice.graphql.types import (
    AvailableTransition,
    FieldChangeEntry,
    HistoryEntry,
    Money,
    Scoped,
    SettlementCurrency,
    changes_field,
    choice,
    enum_from_choices,
    history_field,
    money_field,
    transitions_field,
)
from backoffice.graphql.viewer import http_request, request_now, require_user, viewer

__all__ = [
    "AvailableTransition",
    "ChoiceFilter",
    "Connection",
    "DateRange",
    "DateTimeRange",
    "FieldChangeEntry",
    "GlobalId",
    "HistoryEntry",
    "Money",
    "Scoped",
    "SettlementCurrency",
    "StableOrder",
    "TextFilter",
    "aware",
    "changes_field",
    "choice",
    "enum_from_choices",
    "filter_pk",
    "history_field",
    "http_request",
    "max_page_size",
    "money_field",
    "mutation",
    "node_pk",
    "pk_from_node_id",
    "request_now",
    "require_user",
    "service_mutation",
    "store_pk",
    "transitions_field",
    "viewer",
]
