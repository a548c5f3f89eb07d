"""Idempotency keys for money-moving requests (CONTRACT.md): the same key with the same input
returns the first result and moves nothing; with another input it is ``idempotency_conflict``."""

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from backoffice.errors import Code, invalid
from payouts.models import IdempotencyRecord

M = TypeVar("M", bound=models.Model)


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(
    *,
    key: str | None,
    operation: str,
    user: Any,
    payload: dict[str, Any],
    model: type[M],
    run: Callable[[], M],
) -> M:
    with transaction.atomic():
        if not key:
            return run()
        if len(key) > 100:
            raise invalid(
                _("The idempotency key is at most 100 characters."), field="idempotencyKey"
            )
        owner = user if getattr(user, "pk", None) else None
        digest = _digest(payload)
        try:
            # Claim the key first: a concurrent request with the same key waits here on the
            # unique index, then sees the first one's result.
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
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
            return model.objects.get(pk=record.result_id)
        result = run()
        IdempotencyRecord.objects.filter(pk=record.pk).update(result_id=result.pk)
        return result
