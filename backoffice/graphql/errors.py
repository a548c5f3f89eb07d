"""Top-level GraphQL errors get the contract's ``extensions.code`` (and ``field`` when known).

Mutations report refusals as ``OperationInfo``; what reaches ``errors`` is a request GraphQL
itself refused (unknown enum value, malformed decimal or ID, page arguments, depth/alias/token
limits) or an error raised while reading. Clients branch on ``extensions.code`` either way.
"""

import re
from collections.abc import Iterator

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from graphql import ArgumentNode, DocumentNode, GraphQLError, Node, ObjectFieldNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalIDValueError

from backoffice.errors import Code, error_code

# How graphql-core 3.3 names the offending input of a variable: "Variable '$input' has invalid
# value at .amount: ...", or "... to include required field 'amount', found: ...".
_VARIABLE_PATH = re.compile(r"invalid value at ((?:\.\w+|\[\d+\])+)")
_MISSING_FIELD = re.compile(r"required field '(\w+)'")


class _FieldOfValue(Visitor):
    """Finds the argument or input field whose value is a given AST node."""

    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target
        self.name: str | None = None

    def enter(self, node: Node, *args: object) -> None:
        if isinstance(node, (ArgumentNode, ObjectFieldNode)) and node.value is self.target:
            self.name = node.name.value


def _field_in_document(error: GraphQLError, document: DocumentNode | None) -> str | None:
    if document is None or not error.nodes:
        return None
    finder = _FieldOfValue(error.nodes[0])
    visit(document, finder)
    return finder.name


def _field_in_message(message: str) -> str | None:
    if missing := _MISSING_FIELD.search(message):
        return missing.group(1)
    path = _VARIABLE_PATH.search(message)
    names = re.findall(r"\.(\w+)", path.group(1)) if path else []
    return names[-1] if names else None


def _code_and_field(
    error: GraphQLError, document: DocumentNode | None
) -> tuple[str | None, str | None]:
    original = error.original_error
    if isinstance(original, ValidationError):
        field = next(iter(original.error_dict), None) if hasattr(original, "error_dict") else None
        return error_code(original) or Code.INVALID.value, field
    if isinstance(original, DjangoPermissionDenied):
        return Code.PERMISSION_DENIED.value, None
    if isinstance(original, ObjectDoesNotExist):
        return Code.NOT_FOUND.value, None
    if isinstance(original, GlobalIDValueError):  # a malformed ID or one of no known type
        return Code.INVALID.value, "id"
    if original is None or isinstance(original, GraphQLError):  # the request itself is invalid
        field = _field_in_document(error, document) or _field_in_message(error.message)
        return Code.INVALID.value, field
    return None, None  # a bug: leave it to the logs


def annotate(errors: list[GraphQLError], document: DocumentNode | None) -> Iterator[GraphQLError]:
    for error in errors:
        if isinstance(error.original_error, ValidationError):  # its sentences, not a dict's repr
            error.message = " ".join(error.original_error.messages)
        if not (error.extensions or {}).get("code"):
            code, field = _code_and_field(error, document)
            if code:
                extra = {"code": code, **({"field": field} if field else {})}
                error.extensions = {**(error.extensions or {}), **extra}
        yield error


class ErrorCodes(SchemaExtension):
    """Runs after the operation, on every error it produced (validation or execution)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            document = self.execution_context.graphql_document
            result.errors = list(annotate(result.errors, document))
