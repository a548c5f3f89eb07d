"""Outbound events (the outbox): a row for every state change and every ledger posting, written
in the transaction of the change, so an event exists exactly when its change committed.

Two places write them, the two every change goes through: :func:`backoffice.audit.
record_transition` (orders, disputes, payouts, stores) and :mod:`payouts.ledger` (postings).
Both hand them to the unit of work (:mod:`backoffice.unit_of_work`): written at once outside a
batch; inside one (imports, the deadlines runner) collected like audit rows and inserted in bulk
after them: an import of thousands of rows adds a few statements per batch, not one per row.

When an event is written it is also fanned out, in the same transaction, to the active webhook
endpoints that want it (one :class:`~backoffice.models.WebhookDelivery` each); the delivery job
(:mod:`backoffice.composition.webhooks`) sends those. Fanning out at write time, rather than from a
cursor
over new events, cannot miss an event whose transaction commits after a later one's.
Events are never updated or deleted.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models

from backoffice import db, unit_of_work

# Event types (docs/operations.md "Events and webhooks").
ORDER_STATUS_CHANGED = "order.status_changed"
DISPUTE_STATUS_CHANGED = "dispute.status_changed"
PAYOUT_STATUS_CHANGED = "payout.status_changed"
STORE_STATUS_CHANGED = "store.status_changed"
LEDGER_POSTED = "ledger.posted"
TYPES = (
    ORDER_STATUS_CHANGED,
    DISPUTE_STATUS_CHANGED,
    PAYOUT_STATUS_CHANGED,
    STORE_STATUS_CHANGED,
    LEDGER_POSTED,
)

# model name -> (object label, event type, fields copied into the payload)
_STATE_EVENTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "order": ("order", ORDER_STATUS_CHANGED, ("order_number", "amount", "end_reason")),
    "dispute": (
        "dispute",
        DISPUTE_STATUS_CHANGED,
        ("platform_dispute_id", "order_id", "requested_refund", "final_refund"),
    ),
    "payout": (
        "payout",
        PAYOUT_STATUS_CHANGED,
        ("amount", "currency", "payout_amount", "failure_reason"),
    ),
    "selleraccount": (
        "store",
        STORE_STATUS_CHANGED,
        ("platform_store_id", "freeze_reason", "close_reason"),
    ),
}


# Values JSON keeps as they are: checked by exact type first, as most of a payload's values
# are (an ``isinstance`` against ``Mapping`` is an ABC check, the bulk of a batch's events' time).
_AS_IS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """A payload value as JSON keeps it: amounts as strings (exact), times in ISO 8601."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:  # the scalars inline: a posting's legs are most of an import's values
        return {str(k): v if type(v) in _AS_IS else plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _AS_IS else plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def record_state_change(
    instance: models.Model,
    *,
    transition: str,
    source: str,
    target: str,
    actor: Any,
    at: datetime,
    extra: Mapping[str, Any],
) -> None:
    """The event of a transition (called by :func:`backoffice.audit.record_transition`)."""
    known = _STATE_EVENTS.get(instance._meta.model_name)
    if known is None:
        return
    label, event_type, fields = known
    payload = {
        "object": label,
        "id": instance.pk,
        "transition": transition,
        "from": source,
        "to": target,
        "at": at,
        "actor_id": getattr(actor, "pk", None),
        **{name: getattr(instance, name, None) for name in fields},
        **{k: v for k, v in extra.items() if not k.endswith("_id")},
    }
    record(
        event_type,
        object_type=label,
        object_id=instance.pk,
        store_id=getattr(instance, "owner_store_id", None),
        payload=payload,
        at=at,
        instance=instance,
    )


def record(
    event_type: str,
    *,
    object_type: str,
    object_id: int | None,
    store_id: int | None,
    payload: dict[str, Any],
    at: datetime,
    instance: models.Model | None = None,
) -> None:
    """One event, written now or at the batch's flush (the unit of work decides).
    ``instance`` stands for an object not saved yet (its id is read when the event is
    written)."""
    from backoffice.models import Event

    event = db.build(
        Event,
        type=event_type,
        store_id=store_id,
        object_type=object_type,
        object_id=object_id,
        payload=plain(payload),
        occurred_at=at,
    )
    if object_id is None:
        event._instance = instance
    unit_of_work.current().record_event(event)


def write(events: list[Any]) -> None:
    """Insert ``events`` (ids taken up front) and their webhook deliveries; empties the list.
    Called by the unit of work (:mod:`backoffice.unit_of_work`)."""
    from backoffice.models import Event

    if not events:
        return
    for event in events:
        if event.object_id is None:
            event.object_id = event._instance.pk
            event.payload["id"] = event.object_id
            if event.store_id is None:
                event.store_id = getattr(event._instance, "owner_store_id", None)
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        for event, pk in zip(events, db.reserve_ids(Event, len(events)), strict=True):
            event.pk = pk
        db.insert_many(Event, events)
    fan_out(events)
    events.clear()


def fan_out(events: list[Any]) -> int:
    """One pending delivery per event and active endpoint that wants it; how many."""
    from backoffice.models import WebhookDelivery, WebhookEndpoint

    endpoints = list(
        WebhookEndpoint.objects.filter(active=True).only("id", "event_types", "store_id")
    )
    if not endpoints:
        return 0
    deliveries = [
        db.build(
            WebhookDelivery,
            endpoint_id=endpoint.pk,
            event_id=event.pk,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=event.occurred_at,
        )
        for event in events
        for endpoint in endpoints
        if endpoint.wants(event.type, event.store_id)
    ]
    db.insert_many(WebhookDelivery, deliveries)
    return len(deliveries)
