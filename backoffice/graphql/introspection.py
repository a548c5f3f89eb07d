"""Who may introspect the schema (``__schema``, ``__type``): ``GRAPHQL_INTROSPECTION``.

``always`` (the default with DEBUG), ``authenticated`` (the default without: a signed-in user
or a bearer token), or ``never``. A refused document is a validation error with code
``permission_denied``; ``__typename`` is not introspection and stays allowed. Code that runs
the schema itself (``export_schema``, ``schema.execute_sync`` without a request) is trusted.
"""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from graphql import FieldNode, GraphQLError, ValidationRule, get_named_type, is_introspection_type
from strawberry.extensions import SchemaExtension

from backoffice.errors import Code

POLICIES = ("always", "authenticated", "never")


class NoIntrospection(ValidationRule):
    """Reports each ``__schema``/``__type`` selection once (not every field inside it)."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        field_type = get_named_type(self.context.get_type())
        parent = self.context.get_parent_type()
        inside = parent is not None and is_introspection_type(parent)
        if field_type and is_introspection_type(field_type) and not inside:
            message = _("Schema introspection is not available to you (field %(field)s).")
            self.report_error(
                GraphQLError(
                    message % {"field": node.name.value},
                    node,
                    extensions={"code": Code.PERMISSION_DENIED.value},
                )
            )


def introspection_allowed(context: object) -> bool:
    policy = settings.GRAPHQL_INTROSPECTION
    if policy == "always":
        return True
    request = getattr(context, "request", None)
    if request is None:  # no HTTP request: the schema run from our own code
        return True
    user = getattr(request, "user", None)
    return policy == "authenticated" and bool(user and user.is_authenticated)


class IntrospectionPolicy(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        if not introspection_allowed(self.execution_context.context):
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoIntrospection)
        yield
