"""Error codes shared by every app (CONTRACT.md).

Services raise only ``ValidationError(code=...)`` or :class:`PermissionDenied`; the admin shows
them as messages, imports as row errors and GraphQL as ``OperationInfo`` with ``code`` set.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Code(StrEnum):
    INVALID_TRANSITION = "invalid_transition"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    NO_EXCHANGE_RATE = "no_exchange_rate"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    DEADLINE_PASSED = "deadline_passed"
    TOO_SOON = "too_soon"  # done again before its interval (a payment reminder)
    ALREADY_EXISTS = "already_exists"  # a record with this unique id exists (store, order...)
    NOTHING_OWED = "nothing_owed"  # an arrears hold on a store that owes no promotion arrears
    BUSY = "busy"  # a row lock not granted in time (an import holds it): try again later


class PermissionDenied(DjangoPermissionDenied):
    """Django's PermissionDenied with the contract's code attached (GraphQL reads ``code``)."""

    code = Code.PERMISSION_DENIED.value

    def __init__(self, message: str | None = None) -> None:
        message = message or gettext("You do not have permission to do this.")
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# What the loser of a race for one unique record is told (two requests creating the same store
# at the same moment pass the service's checks; the database's unique index refuses the second).
RACE_LOST = _(
    "Another request made the same record at the same moment; nothing was changed. "
    "Reload and try again."
)


def invalid(
    message: str, *, field: str | None = None, code: Code = Code.INVALID
) -> ValidationError:
    """A ValidationError with the contract code, keyed by ``field`` when one is named."""
    error = ValidationError(message, code=code.value)
    return ValidationError({field: error}) if field else error


def not_found(what: str, *, field: str | None = "id") -> ValidationError:
    return invalid(
        gettext("%(what)s not found.") % {"what": what}, field=field, code=Code.NOT_FOUND
    )


def error_code(error: ValidationError) -> str | None:
    """The first code carried by a ValidationError, whether it is keyed by field or not."""
    errors = (
        error.error_list
        if not hasattr(error, "error_dict")
        else [e for errs in error.error_dict.values() for e in errs]
    )
    return next((e.code for e in errors if e.code), None)


def error_text(error: ValidationError | DjangoPermissionDenied) -> str:
    """One human sentence for an error, as the admin and the command line show it."""
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return "; ".join(
                f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                for field, messages in error.message_dict.items()
            )
        return " ".join(error.messages)
    return str(error) or gettext("Permission denied.")
