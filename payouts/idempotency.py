"""Idempotency keys for money-moving requests (CONTRACT.md): the same key with the same input
returns the first result and moves nothing; with another input it is ``idempotency_conflict``.

``@idempotent(model=..., payload=...)`` on a service gives it an ``idempotency_key`` argument.
A key is scoped per user (the service's ``actor``) and per operation (the service's name); the
``payload`` function says which of the call's arguments make it "the same input"."""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from backoffice.errors import Code, invalid
from payouts.models import IdempotencyRecord

M = TypeVar("M", bound=models.Model)
KEY_MAX_CHARS = 100


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _claim(key: str, operation: str, owner: Any, digest: str) -> IdempotencyRecord | int:
    """A new record for the key, or the pk of the result the first request with it left.
    A concurrent request with the same key waits on the unique index, then sees that result."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                key=key, operation=operation, user=owner, request_hash=digest, result_id=0
            )
    except IntegrityError:
        record = IdempotencyRecord.objects.get(key=key, operation=operation, user=owner)
        if record.request_hash != digest:
            raise invalid(
                _("This idempotency key was used with a different request."),
                field="idempotencyKey",
                code=Code.IDEMPOTENCY_CONFLICT,
            ) from None
        return record.result_id


def idempotent(
    *, model: type[M], payload: Callable[..., dict[str, Any]]
) -> Callable[[Callable[..., M]], Callable[..., M]]:
    """The decorated keyword-only service takes ``idempotency_key`` (optional, at most 100
    characters) and runs in one transaction. ``payload(**arguments)`` is what is compared;
    ``model`` is what the service returns (a repeat returns that row as it is now)."""

    def decorate(service: Callable[..., M]) -> Callable[..., M]:
        operation = service.__name__

        @functools.wraps(service)
        def wrapper(*, idempotency_key: str | None = None, **arguments: Any) -> M:
            with transaction.atomic():
                if not idempotency_key:
                    return service(**arguments)
                if len(idempotency_key) > KEY_MAX_CHARS:
                    raise invalid(
                        _("The idempotency key is at most 100 characters."),
                        field="idempotencyKey",
                    )
                actor = arguments.get("actor")
                owner = actor if getattr(actor, "pk", None) else None
                claimed = _claim(idempotency_key, operation, owner, _digest(payload(**arguments)))
                if not isinstance(claimed, IdempotencyRecord):
                    return model.objects.get(pk=claimed)
                result = service(**arguments)
                IdempotencyRecord.objects.filter(pk=claimed.pk).update(result_id=result.pk)
                return result

        return wrapper

    return decorate
