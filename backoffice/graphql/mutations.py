"""Mutations: thin calls to a service whose refusals become ``OperationInfo`` with a code.
:func:`service_mutation` builds the usual one (global IDs in, service call, object out).

strawberry-django's ``handle_django_errors`` builds the ``<Name>Payload`` union, but it leaves
``code`` empty for a plain ``PermissionDenied``, ``ObjectDoesNotExist`` or a ``ValidationError``
without a code. :func:`mutation` converts those errors itself so that every message has one.

A unique index that refuses a write the service's own checks passed means another request made
the same record at the same moment (two checkouts of one order number): the service's
transaction was rolled back, and the client gets ``invalid``, never an uncoded error. A row lock
not granted within ``INTERACTIVE_LOCK_TIMEOUT_MS`` (an import holds the store) is ``busy``.
"""

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry_django
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, OperationalError
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from strawberry import Info
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.types import OperationInfo, OperationMessage

from backoffice.errors import RACE_LOST, Code
from backoffice.graphql.viewer import require_user
from backoffice.lock_timeout import BUSY_MESSAGE, is_lock_timeout

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
Kind = OperationMessage.Kind


def race_lost_message() -> OperationMessage:
    """In the request's language (``RACE_LOST`` is lazy)."""
    return OperationMessage(kind=Kind.VALIDATION, message=str(RACE_LOST), code=Code.INVALID.value)


def busy_message() -> OperationMessage:
    """A row the mutation needs is held by a long transaction (an import): the request gave up
    after ``INTERACTIVE_LOCK_TIMEOUT_MS`` (backoffice/lock_timeout.py); nothing changed."""
    return OperationMessage(kind=Kind.ERROR, message=str(BUSY_MESSAGE), code=Code.BUSY.value)


def _validation_messages(error: ValidationError) -> Iterator[OperationMessage]:
    by_field = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: [error]}
    for field, errors in by_field.items():
        for item in errors:
            for e in item.error_list:
                yield OperationMessage(
                    kind=Kind.VALIDATION,
                    message=e.message % e.params if e.params else str(e.message),
                    field=None if field == NON_FIELD_ERRORS else to_camel_case(field),
                    code=e.code or Code.INVALID.value,
                )


def messages(error: Exception) -> list[OperationMessage]:
    """``error`` as OperationInfo messages, ``code`` always set."""
    if isinstance(error, ValidationError):
        return list(_validation_messages(error))
    if isinstance(error, DjangoPermissionDenied):
        return [
            OperationMessage(
                kind=Kind.PERMISSION,
                message=str(error) or gettext("You do not have permission to do this."),
                code=Code.PERMISSION_DENIED.value,
            )
        ]
    return [OperationMessage(kind=Kind.VALIDATION, message=str(error), code=Code.NOT_FOUND.value)]


def with_error_codes(resolver: F) -> F:
    @functools.wraps(resolver)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return resolver(*args, **kwargs)
        except (ValidationError, DjangoPermissionDenied, ObjectDoesNotExist) as error:
            return OperationInfo(messages=messages(error))
        except IntegrityError:
            logger.warning("%s refused by a unique index", resolver.__name__, exc_info=True)
            return OperationInfo(messages=[race_lost_message()])
        except OperationalError as error:
            if not is_lock_timeout(error):
                raise
            logger.warning("%s waited too long for a row lock", resolver.__name__)
            return OperationInfo(messages=[busy_message()])

    return wrapper  # type: ignore[return-value]


def mutation(resolver: F | None = None, *, description: str | None = None) -> Any:
    """``@mutation`` on a resolver ``(self, info, input) -> ObjectType``: the GraphQL return type
    becomes ``ObjectType | OperationInfo``."""

    def decorate(func: F) -> Any:
        field = strawberry_django.mutation(handle_django_errors=True, description=description)
        return field(with_error_codes(func))

    return decorate(resolver) if resolver is not None else decorate


@dataclass(frozen=True)
class GlobalId:
    """An input field that names an object by its global ID: decoded through ``type``'s scope
    (``Scoped.pk_of``: another store's object is ``not_found``) into the service's ``arg``.
    ``type`` is a ``Scoped`` type, or another app's as a dotted path (``"orders.schema.OrderType"``)
    imported on first use, so that no app's schema imports another's."""

    type: Any
    arg: str

    def pk(self, info: Info, global_id: str, *, field: str) -> int:
        scoped = import_string(self.type) if isinstance(self.type, str) else self.type
        return scoped.pk_of(info, global_id, field=field)


def service_mutation(
    service: Callable[..., Any],
    input_type: type,
    returns: Any,
    *,
    ids: Mapping[str, GlobalId] | None = None,
    rename: Mapping[str, str] | None = None,
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
    result: Callable[[Any], Any] | None = None,
    description: str | None = None,
) -> Any:
    """A mutation that only translates: the signed-in user becomes the service's ``actor``,
    every field of ``input`` becomes the keyword argument of the same name (``ids`` decoded to
    primary keys, ``rename``d, ``convert``ed), and the service's return value, through
    ``result``, is the payload (``returns | OperationInfo``, named ``<Mutation>Payload``).
    The rules (permissions, states, amounts) are the service's."""
    ids, rename, convert = ids or {}, rename or {}, convert or {}
    names = [f.name for f in dataclasses.fields(input_type)]

    def arguments(info: Info, input: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name in names:
            value = getattr(input, name)
            if name in ids:
                ref, field = ids[name], to_camel_case(name)
                kwargs[ref.arg] = None if value is None else ref.pk(info, value, field=field)
                continue
            if name in convert:
                value = convert[name](value)
            kwargs[rename.get(name, name)] = value
        return kwargs

    def resolve(self: Any, info: Info, input: Any) -> Any:
        actor = require_user(info)
        value = service(actor=actor, **arguments(info, input))
        return value if result is None else result(value)

    resolve.__name__ = service.__name__
    resolve.__qualname__ = service.__name__
    resolve.__annotations__ = {"info": Info, "input": input_type, "return": returns}
    return mutation(resolve, description=description)
