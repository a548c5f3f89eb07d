"""Mutations: thin calls to a service whose refusals become ``OperationInfo`` with a code.

strawberry-django's ``handle_django_errors`` builds the ``<Name>Payload`` union, but it leaves
``code`` empty for a plain ``PermissionDenied``, ``ObjectDoesNotExist`` or a ``ValidationError``
without a code. :func:`mutation` converts those errors itself so that every message has one.

A unique index that refuses a write the service's own checks passed means another request made
the same record at the same moment (two checkouts of one order number): the service's
transaction was rolled back, and the client gets ``invalid``, never an uncoded error. A row lock
not granted within ``INTERACTIVE_LOCK_TIMEOUT_MS`` (an import holds the store) is ``busy``.
"""

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import strawberry_django
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, OperationalError
from django.utils.translation import gettext
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.types import OperationInfo, OperationMessage

from backoffice.errors import RACE_LOST, Code
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
