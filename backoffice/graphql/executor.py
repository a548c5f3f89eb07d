"""graphql-core's executor with a plan per selection, for the pages where every value counts
(issue 15: a page of 100 orders is about 6,400 resolved values).

graphql-core decides again for every value what its field is: it looks the field up in the
schema, wraps the resolver in the middleware, builds a ``ResolveInfo`` (a 15-field tuple) and
walks ``complete_value``'s chain of type tests. :class:`Executor` decides that once per
selection and request (:class:`FieldPlan`) and then, for each value:

- reads an attribute directly when the field's resolver is one that only reads it (strawberry's
  default resolver of a plain field, or a column of :func:`backoffice.graphql.speed.plain_columns`)
  and no middleware wraps it: no ``ResolveInfo`` is built for it;
- completes a leaf (scalar, enum), an object or a list of them in one step, with graphql-core's
  own checks and messages (an ``Exception`` result raised, null on a non-null field, a leaf that
  does not coerce, ``is_type_of``);
- reads a to-one relation the page loaded from the object's cache (``CACHED``, set by
  :func:`backoffice.graphql.speed.direct_relations`), the resolver only when it is not loaded;
- completes a model object once per selection within a query (``_object``): the same object
  under the same collected field set (a seller's page: one store behind every order) reuses the
  subtree completed the first time, unless that subtree raised an error (each place then
  reports its own) or returned an awaitable. Per request only, keyed by the object's identity
  (kept alive with the entry): nothing is shared between requests or viewers.

Everything else takes graphql-core's own path: fields with arguments still get them coerced per
call, an abstract type, an awaitable anywhere, ``@defer``/``@stream`` (any directive on the
field), mutations (executed serially by graphql-core's ``execute_field``). Errors are located
and nulled by graphql-core's ``handle_field_error`` with the same path as before.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    OperationType,
)
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

GENERIC, LEAF, OBJECT, LIST = range(4)
SETTLED = frozenset({str, int, float, bool, type(None), dict, list})  # never awaitable
ATTRIBUTE = "_backoffice_attribute"  # set on a resolver that only reads this attribute
NO_INFO = "_backoffice_no_info"  # set on a resolver that never reads its info argument
CACHED = "_backoffice_cached"  # set on a resolver: reads the value loaded with the page
NOT_LOADED = object()  # what a CACHED reader returns when the value was not loaded


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """What one selected field of one parent type needs, decided once per request."""

    response_name: str
    field_def: Any
    details: Any  # graphql-core's FieldDetailsList
    nodes: list
    parent_type: GraphQLObjectType
    resolve: Callable
    attribute: str | None  # read directly, no resolver called
    no_info: bool  # the resolver is called with ``None`` for its info
    cached: Callable | None  # reads a loaded value first (NOT_LOADED: call the resolver)
    quick_leaf: bool  # a leaf read by attribute or without info: see ``_quick_leaf``
    has_args: bool
    kind: int
    non_null: bool
    named: Any  # the leaf or object type (the list's item type for LIST)
    item_kind: int  # LIST: LEAF or OBJECT
    item_non_null: bool
    null_message: str
    memo: bool  # a model type: completed once per object and selection (see ``_object``)


class Executor(StrawberryGraphQLCoreExecutionContext):
    """See the module's docstring; given to the schema as its ``execution_context_class``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, int], tuple[Any, list[FieldPlan]]] = {}
        query = self.operation.operation == OperationType.QUERY
        self._memo: dict[tuple[int, int], tuple[Any, dict]] | None = {} if query else None

    # --- selections ------------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if position_context is not None:  # @defer/@stream bookkeeping: graphql-core's way
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        type_name = parent_type.name
        try:
            for plan in self._plan(parent_type, grouped_field_set):
                if plan.quick_leaf:
                    result = self._quick_leaf(plan, source_value, path, type_name)
                else:
                    field_path = Path(path, plan.response_name, type_name)
                    result = self._execute_planned(plan, source_value, field_path)
                results[plan.response_name] = result
                if result.__class__ not in SETTLED and is_awaitable(result):
                    awaitable_fields.append(plan.response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[FieldPlan]:
        key = (parent_type.name, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        plans = []
        for response_name, details in grouped_field_set.items():
            field_def = self.schema.get_field(parent_type, details[0].node.name.value)
            if field_def is not None:
                plans.append(self._plan_field(parent_type, response_name, field_def, details))
        self._plans[key] = (grouped_field_set, plans)  # kept alive: its id stays unique
        return plans

    def _plan_field(
        self, parent_type: GraphQLObjectType, response_name: str, field_def: Any, details: Any
    ) -> FieldPlan:
        resolver = field_def.resolve or self.field_resolver
        resolve = resolver
        if self.middleware_manager:
            resolve = self.middleware_manager.get_field_resolver(resolver)
        nodes = [d.node for d in details]
        has_args = bool(field_def.args or nodes[0].arguments)
        directives = any(node.directives for node in nodes)
        return_type = field_def.type
        non_null = isinstance(return_type, GraphQLNonNull)
        inner = return_type.of_type if non_null else return_type
        kind, named, item_kind, item_non_null = _kind(inner)
        if directives:
            kind = GENERIC
        attribute = getattr(resolver, ATTRIBUTE, None) if resolve is resolver else None
        no_info = resolve is resolver and not has_args and getattr(resolver, NO_INFO, False)
        return FieldPlan(
            response_name=response_name,
            field_def=field_def,
            details=details,
            nodes=nodes,
            parent_type=parent_type,
            resolve=resolve,
            attribute=attribute,
            no_info=no_info,
            cached=getattr(resolver, CACHED, None) if resolve is resolver else None,
            quick_leaf=kind == LEAF and (attribute is not None or no_info),
            has_args=has_args,
            kind=kind,
            non_null=non_null,
            named=named,
            item_kind=item_kind,
            item_non_null=item_non_null,
            memo=_is_model_type(named),
            null_message=(
                f"Cannot return null for non-nullable field {parent_type}.{nodes[0].name.value}."
            ),
        )

    # --- one field ---------------------------------------------------------------------------

    def _execute_planned(self, plan: FieldPlan, source: Any, path: Path) -> Any:
        info = None
        try:
            result = plan.cached(source) if plan.cached is not None else NOT_LOADED
            if result is not NOT_LOADED:
                pass  # loaded with the page: no resolver, no info
            elif plan.attribute is not None:
                result = getattr(source, plan.attribute)
            elif plan.no_info:
                result = plan.resolve(source, None)
            else:
                info = self._info(plan, path)
                args = (
                    get_argument_values(
                        plan.field_def,
                        plan.nodes[0],
                        self.variable_values,
                        plan.details[0].fragment_variable_values,
                        self.hide_suggestions,
                    )
                    if plan.has_args
                    else {}
                )
                result = plan.resolve(source, info, **args)
                if self.is_awaitable(result):
                    return self.complete_awaitable_value(
                        plan.field_def.type, plan.details, info, path, result, None
                    )
            if plan.kind == LEAF:
                return self._leaf(plan.named, plan.non_null, plan.null_message, result)
            if plan.kind == OBJECT:
                if isinstance(result, Exception):
                    raise result
                if result is None or result is Undefined:
                    if plan.non_null:
                        raise TypeError(plan.null_message)
                    return None
                return self._object(plan, plan.named, info, path, result)
            if plan.kind == LIST and type(result) is list:
                return self._list(plan, info, path, result)
            return self._generic(plan, info, path, result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_def.type, plan.details, path)
            return None

    def _quick_leaf(self, plan: FieldPlan, source: Any, path: Path | None, type_name: str) -> Any:
        """A leaf read by attribute or by a resolver without info: its path is built only for
        an error or an awaitable (graphql-core's ``execute_field`` + ``complete_value``)."""
        try:
            if plan.attribute is not None:
                result = getattr(source, plan.attribute)
            else:
                result = plan.resolve(source, None)
            if result.__class__ not in SETTLED and self.is_awaitable(result):
                field_path = Path(path, plan.response_name, type_name)
                info = self._info(plan, field_path)
                return self.complete_awaitable_value(
                    plan.field_def.type, plan.details, info, field_path, result, None
                )
            return self._leaf(plan.named, plan.non_null, plan.null_message, result)
        except Exception as raw_error:
            field_path = Path(path, plan.response_name, type_name)
            self.handle_field_error(raw_error, plan.field_def.type, plan.details, field_path)
            return None

    def _info(self, plan: FieldPlan, path: Path) -> Any:
        return self.build_resolve_info(plan.field_def, plan.nodes, plan.parent_type, path)

    def _generic(self, plan: FieldPlan, info: Any, path: Path, result: Any) -> Any:
        """graphql-core's ``complete_value`` and what ``execute_field`` does with it."""
        info = info or self._info(plan, path)
        return_type = plan.field_def.type
        completed = self.complete_value(return_type, plan.details, info, path, result, None)
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, plan.details, path)
                return None

        return await_completed()

    @staticmethod
    def _leaf(named: Any, non_null: bool, null_message: str, result: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if non_null:
                raise TypeError(null_message)
            return None
        coerced = named.coerce_output_value(result)
        if coerced is Undefined or coerced is None:
            return Executor.complete_leaf_value(named, result)  # raises graphql-core's error
        return coerced

    def _object(
        self, plan: FieldPlan, object_type: GraphQLObjectType, info: Any, path: Path, result: Any
    ) -> Any:
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, plan.details)
        memo = self._memo if plan.memo and not new_defer_usages else None
        if memo is not None:
            key = (id(result), id(grouped_field_set))
            hit = memo.get(key)
            if hit is not None:
                return hit[1]
            errors = len(self.collected_errors.errors)
        if object_type.is_type_of:
            info = info or self._info(plan, path)
            matches = object_type.is_type_of(result, info)
            if self.is_awaitable(matches):  # graphql-core's way for an awaitable answer
                return self.complete_object_value(
                    object_type, plan.details, info, path, result, None
                )
            if not matches:
                raise invalid_return_type_error(object_type, result, plan.details)
        completed = self.execute_collected_subfields(
            object_type, result, path, grouped_field_set, new_defer_usages, None
        )
        if (
            memo is not None
            and completed.__class__ is dict
            and len(self.collected_errors.errors) == errors
        ):
            memo[key] = (result, completed)
        return completed

    def _list(self, plan: FieldPlan, info: Any, path: Path, items: list) -> Any:
        """graphql-core's ``complete_iterable_value`` for a list of leaves or objects."""
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                if self._list_item(plan, info, Path(path, index, None), item, completed):
                    awaitable_indices.append(index)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed

        async def get_completed() -> list[Any]:
            awaited = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
            for index, value in zip(awaitable_indices, awaited, strict=True):
                completed[index] = value
            return completed

        return get_completed()

    def _list_item(
        self, plan: FieldPlan, info: Any, item_path: Path, item: Any, completed: list
    ) -> bool:
        """Append the completed item; True when it is awaitable (graphql-core's
        ``complete_list_item_value``)."""
        item_type = plan.field_def.type
        item_type = (item_type.of_type if plan.non_null else item_type).of_type
        if self.is_awaitable(item):
            info = info or self._info(plan, item_path.prev)
            completed.append(
                self.complete_awaitable_list_item_value(
                    item, item_type, plan.details, info, item_path, None
                )
            )
            return True
        try:
            if plan.item_kind == LEAF:
                value = self._leaf(plan.named, plan.item_non_null, plan.null_message, item)
            elif isinstance(item, Exception):
                raise item
            elif item is None or item is Undefined:
                if plan.item_non_null:
                    raise TypeError(plan.null_message)
                value = None
            else:
                value = self._object(plan, plan.named, info, item_path, item)
                if self.is_awaitable(value):
                    completed.append(self._await_item(value, item_type, plan.details, item_path))
                    return True
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, plan.details, item_path)
            value = None
        completed.append(value)
        return False

    async def _await_item(self, value: Any, item_type: Any, details: Any, path: Path) -> Any:
        try:
            return await value
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, path)
            return None


def _kind(inner: Any) -> tuple[int, Any, int, bool]:
    """(kind, named type, item kind, item non-null) of a field's type without its NonNull."""
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return LEAF, inner, GENERIC, False
    if isinstance(inner, GraphQLObjectType):
        return OBJECT, inner, GENERIC, False
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        item_non_null = isinstance(item, GraphQLNonNull)
        item = item.of_type if item_non_null else item
        if isinstance(item, GraphQLScalarType | GraphQLEnumType):
            return LIST, item, LEAF, item_non_null
        if isinstance(item, GraphQLObjectType):
            return LIST, item, OBJECT, item_non_null
    return GENERIC, None, GENERIC, False


def _is_model_type(named: Any) -> bool:
    definition = getattr(named, "extensions", {}).get("strawberry-definition")
    return hasattr(getattr(definition, "origin", None), "__strawberry_django_definition__")
