"""What a page costs per field, cut where the framework adds nothing (issue 15).

Both are applied once to the built schema (backoffice/composition/schema.py):

- :func:`cache_id_attrs`: strawberry's ``resolve_id_attr`` scans and evaluates every annotation
  of a Node type's MRO on each call, and caches nothing for a type without a ``NodeID`` field
  (all of ours: the primary key). That was a fifth of a page of orders' time, once per id.
- :func:`plain_columns`: a model type's field that only reads a loaded column (no resolver,
  no extension, not a relation) is resolved by reading the attribute. strawberry-django's own
  path re-inspects the model class on every call and, for a column whose descriptor it does
  not know (django-fsm's state fields), builds a fresh sync/async wrapper per value. The
  optimizer still sees the field (the type's definition is unchanged), so it is still loaded
  with ``only()``; only the per-value wrapper goes.
- :class:`Schema`: the optimizer's per-field hook (graphql-core middleware) is left out of the
  fields whose type is a scalar or an enum: it acts only on a field that returns a queryset or
  a manager, which a leaf never does, and wrapping the leaves of a page (about 5,000 values
  for 100 orders) was a sixth of its time. Every other hook still runs on every field.
"""

import types
from collections.abc import Callable
from typing import Any

import strawberry
from django.db import models
from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, get_named_type
from graphql.execution.middleware import MiddlewareManager
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import DjangoOptimizerExtension

LEAF = "_backoffice_leaf"


class LeafMiddleware(MiddlewareManager):
    """graphql-core's middleware, without the optimizer on the resolvers marked as leaves."""

    def __init__(self, *middlewares: Any) -> None:
        super().__init__(*middlewares)
        others = [m for m in middlewares if not isinstance(m, DjangoOptimizerExtension)]
        self.for_leaves = MiddlewareManager(*others)

    def get_field_resolver(self, field_resolver: Any) -> Any:
        if getattr(field_resolver, LEAF, False):
            return self.for_leaves.get_field_resolver(field_resolver)
        return super().get_field_resolver(field_resolver)


class Schema(strawberry.Schema):
    """strawberry's schema with :class:`LeafMiddleware`; call :func:`speed_up` once built."""

    def _get_middleware_manager(self, extensions: list[SchemaExtension]) -> MiddlewareManager:
        return LeafMiddleware(*(ext for ext in extensions if ext._implements_resolve()))


def speed_up(schema: strawberry.Schema) -> None:
    cache_id_attrs(schema)
    plain_columns(schema)
    direct_resolvers(schema)
    mark_leaves(schema)


def mark_leaves(schema: strawberry.Schema) -> None:
    """Mark the resolver of every field whose type is a scalar or an enum."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field in graphql_type.fields.values():
            leaf = isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType)
            if leaf and field.resolve is not None:
                setattr(field.resolve, LEAF, True)


def cache_id_attrs(schema: strawberry.Schema) -> None:
    """Give each model Node type its id attribute once and for all."""
    for type_definition in schema.schema_converter.type_map.values():
        origin = getattr(type_definition.definition, "origin", None)
        model_type = hasattr(origin, "__strawberry_django_definition__")
        if model_type and issubclass(origin, relay.Node):
            attr = origin.resolve_id_attr()
            origin.resolve_id_attr = types.MethodType(lambda cls, attr=attr: attr, origin)


def plain_columns(schema: strawberry.Schema) -> int:
    """Resolve plain column fields of model types by attribute; returns how many."""
    replaced = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = graphql_type.extensions.get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        django = getattr(origin, "__strawberry_django_definition__", None)
        if definition is None or django is None:
            continue
        for field in definition.fields:
            getter = _column_getter(field, django.model)
            if getter is not None:
                name = schema.config.name_converter.get_graphql_name(field)
                graphql_type.fields[name].resolve = getter
                replaced += 1
    return replaced


def direct_resolvers(schema: strawberry.Schema) -> int:
    """Call a model type's own resolver directly when it takes no argument and returns no
    model: a scalar, an enum or plain objects (``Money``, ``history``, ``availableTransitions``).
    strawberry's path builds the arguments, the extension chain and a sync/async wrapper for
    each value; none of them has anything to do there. The field's ``only``, ``annotate`` and
    ``prefetch_related`` hints still reach the optimizer (its definition is unchanged)."""
    replaced = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = graphql_type.extensions.get("strawberry-definition")
        if not hasattr(getattr(definition, "origin", None), "__strawberry_django_definition__"):
            continue
        for field in definition.fields:
            name = schema.config.name_converter.get_graphql_name(field)
            resolve = _direct(field, graphql_type.fields[name], schema.config.info_class)
            if resolve is not None:
                graphql_type.fields[name].resolve = resolve
                replaced += 1
    return replaced


def _direct(field: Any, graphql_field: Any, info_class: type) -> Callable | None:
    resolver = field.base_resolver
    if not isinstance(field, StrawberryDjangoField) or resolver is None or resolver.is_async:
        return None
    if field.arguments or field.extensions or field.permission_classes:
        return None
    named = get_named_type(graphql_field.type)
    origin = getattr(named.extensions.get("strawberry-definition"), "origin", None)
    if not isinstance(named, GraphQLScalarType | GraphQLEnumType | GraphQLObjectType):
        return None
    if isinstance(named, GraphQLObjectType) and (
        origin is None or hasattr(origin, "__strawberry_django_definition__")
    ):
        return None  # a model type (or a connection): the optimizer's queryset hooks apply
    func = resolver.wrapped_func
    self_, parent, root, info_ = (
        resolver.self_parameter,
        resolver.parent_parameter,
        resolver.root_parameter,
        resolver.info_parameter,
    )

    def resolve(source: Any, info: Any) -> Any:
        kwargs = {}
        if parent is not None:
            kwargs[parent.name] = source
        if root is not None:
            kwargs[root.name] = source
        if info_ is not None:
            kwargs[info_.name] = info_class(_raw_info=info, _field=field)
        return func(source, **kwargs) if self_ is not None else func(**kwargs)

    return resolve


def _column_getter(field: Any, model: type[models.Model]) -> Callable | None:
    if not isinstance(field, StrawberryDjangoField):
        return None
    if field.base_resolver is not None or field.extensions or field.permission_classes:
        return None
    try:
        column = model._meta.get_field(field.django_name or field.python_name)
    except Exception:  # not a model field (a property, an annotation): keep the default
        return None
    if not column.concrete or column.is_relation or isinstance(column, models.FileField):
        return None
    attname = column.attname

    def resolve(root: Any, info: Any, **kwargs: Any) -> Any:
        return getattr(root, attname)

    return resolve
