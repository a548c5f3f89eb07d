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
- :func:`direct_relations`: a to-one relation the page loaded (``Order.store``) is read from
  the object's cache as strawberry-django reads it, without its wrapper or the optimizer's
  hook; one not loaded goes through strawberry-django's resolver.
"""

import types
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import strawberry
from django.db import models
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    specified_rules,
    validate,
)
from graphql.execution.middleware import MiddlewareManager
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import DjangoOptimizerExtension
from strawberry_django.relay import resolve_model_id

from backoffice.graphql.executor import ATTRIBUTE, CACHED, NO_INFO, NOT_LOADED, Executor

LEAF = "_backoffice_leaf"
SPECIFIED = frozenset(specified_rules)
DIRECT = "_backoffice_direct"


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
    """strawberry's schema with :class:`LeafMiddleware` and our
    :class:`~backoffice.graphql.executor.Executor`; call :func:`speed_up` once built."""

    def __init__(self, *args: Any, extensions: Any = (), **kwargs: Any) -> None:
        kwargs.setdefault("execution_context_class", Executor)
        super().__init__(*args, extensions=[*extensions, KnownDocuments], **kwargs)

    def _get_middleware_manager(self, extensions: list[SchemaExtension]) -> MiddlewareManager:
        return LeafMiddleware(*(ext for ext in extensions if ext._implements_resolve()))


class KnownDocuments(SchemaExtension):
    """Validation by graphql-core's specified rules (and strawberry's two), once per query text:
    a frontend sends the same few documents again and again, and a document valid against the
    schema once stays valid. The rules our extensions add (depth, aliases, tokens, the
    introspection policy) depend on settings and on the viewer, and run on every request. A
    document the rules refuse is never remembered: it is validated in full each time, so its
    errors are exactly graphql-core's."""

    valid: ClassVar[dict[tuple[str, tuple[type, ...]], bool]] = {}
    limit = 500  # distinct documents remembered (the cache starts over when full)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document, query = context.graphql_document, context.query
        if context.pre_execution_errors is None and document is not None and query:
            rules = context.validation_rules
            specified = tuple(rule for rule in rules if rule in SPECIFIED)
            key = (query, specified)
            if specified and self._valid(key, context.schema._schema, document):
                others = [rule for rule in rules if rule not in SPECIFIED]
                context.pre_execution_errors = (
                    validate(context.schema._schema, document, others) if others else []
                )
        yield

    def _valid(self, key: tuple[str, tuple[type, ...]], schema: Any, document: Any) -> bool:
        if key in self.valid:
            return True
        if validate_document(schema, document, key[1]):
            return False  # refused: strawberry validates it in full, as before
        if len(self.valid) >= self.limit:
            self.valid.clear()
        self.valid[key] = True
        return True


def speed_up(schema: strawberry.Schema) -> None:
    cache_id_attrs(schema)
    plain_columns(schema)
    direct_resolvers(schema)
    direct_ids(schema)
    direct_relations(schema)
    plain_attributes(schema)
    mark_leaves(schema)


def mark_leaves(schema: strawberry.Schema) -> None:
    """Mark the resolver of every field whose type is a scalar or an enum, and of every field
    that reads a plain object (not a model type) by attribute or by a direct resolver
    (``Money``, ``balances``, a connection's ``edges``): none returns a queryset or a manager."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field in graphql_type.fields.values():
            named = get_named_type(field.type)
            leaf = isinstance(named, GraphQLScalarType | GraphQLEnumType)
            origin = getattr(named.extensions.get("strawberry-definition"), "origin", None)
            plain = isinstance(named, GraphQLObjectType) and not hasattr(
                origin, "__strawberry_django_definition__"
            )
            ours = getattr(field.resolve, "_is_default", False) or getattr(field.resolve, DIRECT, 0)
            if field.resolve is not None and (leaf or (plain and ours)):
                setattr(field.resolve, LEAF, True)


def direct_ids(schema: strawberry.Schema) -> int:
    """The ``id`` of a model Node type as strawberry(-django)'s ``Node._id`` makes it when the
    type keeps their ``resolve_id`` and ``resolve_typename`` (the type's name, the loaded id
    column), without strawberry's per-field wrapper: a page has two ids per order. A row
    without the column loaded takes strawberry's own resolver."""
    replaced = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or "id" not in graphql_type.fields:
            continue
        origin = getattr(graphql_type.extensions.get("strawberry-definition"), "origin", None)
        django = getattr(origin, "__strawberry_django_definition__", None)
        if django is None or not _plain_node(origin):
            continue
        field = graphql_type.fields["id"]
        if getattr(field.resolve, "_is_default", False):
            continue
        attr = origin.resolve_id_attr()
        attr = django.model._meta.pk.attname if attr == "pk" else attr
        field.resolve = _id_resolver(graphql_type.name, attr, field.resolve)
        replaced += 1
    return replaced


def _model_types(schema: strawberry.Schema) -> Iterator[tuple[GraphQLObjectType, Any, Any]]:
    """The schema's object types that stand for a Django model: each with its strawberry
    definition and its strawberry-django definition (``.model``)."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = graphql_type.extensions.get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        django = getattr(origin, "__strawberry_django_definition__", None)
        if django is not None:
            yield graphql_type, definition, django


def direct_relations(schema: strawberry.Schema) -> int:
    """A model type's to-one relation (``Order.store``) read from the object's cache when the
    page loaded it (prefetched through the related type's ``get_queryset``, or selected with
    it), as strawberry-django's ``get_result`` reads it, without its per-field wrapper and
    without the optimizer's hook (it acts on a queryset or a manager, never on one object).
    Not loaded: strawberry-django's own resolver, as before."""
    replaced = 0
    for graphql_type, definition, django in _model_types(schema):
        for field in definition.fields:
            cached = _cached_relation(field, django.model)
            if cached is None:
                continue
            name = schema.config.name_converter.get_graphql_name(field)
            graphql_field = graphql_type.fields[name]
            graphql_field.resolve = _relation_resolver(cached, graphql_field.resolve)
            replaced += 1
    return replaced


def _cached_relation(field: Any, model: type[models.Model]) -> Callable | None:
    """The cache reader of ``field``'s to-one relation (raises ``KeyError`` when not loaded),
    or None when strawberry-django's resolver has more to do (a resolver, arguments,
    extensions, permissions, not a to-one relation)."""
    if not isinstance(field, StrawberryDjangoField) or field.base_resolver is not None:
        return None
    if field.arguments or field.extensions or field.permission_classes:
        return None
    descriptor = getattr(model, field.django_name or field.python_name, None)
    if isinstance(descriptor, ForwardManyToOneDescriptor):
        return descriptor.field.get_cached_value
    if isinstance(descriptor, ReverseOneToOneDescriptor):
        return descriptor.related.get_cached_value
    return None


def _relation_resolver(cached: Callable, strawberrys: Callable) -> Callable:
    def read(root: Any) -> Any:
        try:
            return cached(root)
        except KeyError:
            return NOT_LOADED

    def resolve(root: Any, info: Any) -> Any:
        value = read(root)
        return strawberrys(root, info) if value is NOT_LOADED else value

    setattr(resolve, CACHED, read)
    setattr(resolve, LEAF, True)  # one object or None, never a queryset: no optimizer hook
    return resolve


def _plain_node(origin: type) -> bool:
    return (
        issubclass(origin, relay.Node)
        and origin.resolve_id.__func__ is resolve_model_id
        and origin.resolve_typename.__func__ is relay.Node.resolve_typename.__func__
    )


def _id_resolver(type_name: str, attr: str, strawberrys: Callable) -> Callable:
    def resolve(root: Any, info: Any) -> Any:
        try:
            node_id = root.__dict__[attr]
        except (AttributeError, KeyError):  # not loaded: strawberry's way (a query)
            return strawberrys(root, info)
        return relay.GlobalID(type_name=type_name, node_id=str(node_id))

    return resolve


def plain_attributes(schema: strawberry.Schema) -> int:
    """Tell :class:`~backoffice.graphql.executor.Executor` which attribute strawberry's resolver
    of a plain field (no resolver, no extension) reads, so that it reads it itself."""
    if schema.config.default_resolver is not getattr:
        return 0
    marked = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        definition = graphql_type.extensions.get("strawberry-definition")
        for field in getattr(definition, "fields", ()):
            name = schema.config.name_converter.get_graphql_name(field)
            resolve = graphql_type.fields[name].resolve
            if getattr(resolve, "_is_default", False) and field.is_basic_field:
                setattr(resolve, ATTRIBUTE, field.python_name)
                marked += 1
    return marked


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
    for graphql_type, definition, django in _model_types(schema):
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
    for graphql_type, definition, _django in _model_types(schema):
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

    setattr(resolve, DIRECT, True)
    if info_ is None:
        setattr(resolve, NO_INFO, True)
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

    setattr(resolve, ATTRIBUTE, attname)
    return resolve
