"""Outbound events (the outbox): a row for every state change and every ledger posting, written
in the transaction of the change, so an event exists exactly when its change committed.

Two places write them, the two every change goes through: :func:`backoffice.audit.
record_transition` (orders, disputes, payouts, stores) and :mod:`payouts.ledger` (postings).
Both hand them to the unit of work (:mod:`backoffice.unit_of_work`): written at once outside a
batch; inside one (imports, the deadlines runner) collected like audit rows and inserted in bulk
after them: an import of thousands of rows adds a few statements per batch, not one per row.

Inside a batch an event is not a model instance: :func:`record` keeps its column values with
its payload already encoded (the JSON text JSONField would write, by one encoder that turns
amounts and times as :func:`plain` does), and :func:`write` inserts them with one statement for
the batch, values as the database takes them: an import records about 3.4 events a row, and
building an ``Event``, copying its payload with :func:`plain` and having JSONField encode it
again cost more than the insert. The rows written are the same as one by one.

When an event is written it is also fanned out, in the same transaction, to the active webhook
endpoints that want it (one :class:`~backoffice.models.WebhookDelivery` each); the delivery job
(:mod:`backoffice.composition.webhooks`) sends those. Fanning out at write time, rather than from a
cursor
over new events, cannot miss an event whose transaction commits after a later one's.
Events are never updated or deleted.
"""

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

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

    unit = unit_of_work.current()
    if unit.batching:  # its values only (see the module's docstring)
        unit.record_event(
            _pending(event_type, object_type, object_id, store_id, payload, at, instance)
        )
        return
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
    unit.record_event(event)


# A pending event: [type, object_type, object_id, store_id, payload, occurred_at(, instance)],
# the payload JSON text (``json_text``), or on a database whose JSON columns adapt values
# themselves (PostgreSQL) the plain payload; ``instance`` when object_id is not known yet.
PENDING_OBJECT_ID, PENDING_STORE, PENDING_PAYLOAD = 2, 3, 4


def _pending(
    event_type: str,
    object_type: str,
    object_id: int | None,
    store_id: int | None,
    payload: dict[str, Any],
    at: datetime,
    instance: models.Model | None,
) -> list[Any]:
    if object_id is None:  # encoded once its id is known (write_pending)
        return [event_type, object_type, object_id, store_id, plain(payload), at, instance]
    value = json_text(payload) if _encodes_json_text() else plain(payload)
    return [event_type, object_type, object_id, store_id, value, at]


def _json_default(value: Any) -> Any:
    """What :func:`plain` makes of a value JSON has no type for, for :func:`json_text`."""
    convert = _CONVERT.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_CONVERT: dict[type, Any] = {Decimal: str, datetime: datetime.isoformat}
# json.dumps()'s own settings (what JSONField writes): the same text as json.dumps(plain(x)).
_ENCODER = json.JSONEncoder(default=_json_default)
# The C encoder JSONEncoder.encode() makes anew for every call, made once (a third of the
# time of encoding a payload); without circular-reference checks, which payloads never need.
_ENCODE = (
    c_make_encoder(
        None,
        _json_default,
        encode_basestring_ascii,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,
        False,
        True,
    )
    if c_make_encoder is not None
    else None
)


def json_text(payload: dict[str, Any]) -> str:
    """``json.dumps(plain(payload))`` in one pass of the C encoder: the text JSONField stores."""
    if _ENCODE is None:
        return _ENCODER.encode(payload)
    return "".join(_ENCODE(payload, 0))


@functools.cache
def _encodes_json_text() -> bool:
    """Whether the events' database stores JSON as the text json.dumps makes (SQLite), so a
    batch may hand it the text; PostgreSQL adapts the value itself."""
    from backoffice.models import Event

    ops = connections[router.db_for_write(Event)].ops
    return type(ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value


def write(events: list[Any]) -> None:
    """Insert ``events`` (ids taken up front) and their webhook deliveries; empties the list.
    Called by the unit of work (:mod:`backoffice.unit_of_work`): a batch's pending events
    (:func:`record`) or one ``Event``."""
    from backoffice.models import Event

    if not events:
        return
    if type(events[0]) is list:
        write_pending(events)
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


_COLUMNS = ("id", "type", "object_type", "object_id", "store_id", "payload", "occurred_at")


def write_pending(pending: list[list[Any]]) -> None:
    """Insert a batch's pending events (:func:`record`) in one statement, with ids taken up
    front and their webhook deliveries; empties the list. The same rows as :func:`write` makes
    of ``Event`` objects: the payload JSONField's text (or, where the database adapts JSON
    itself, its value adapted by the field), the times adapted as every insert adapts them,
    ``created_at`` now."""
    from backoffice.models import Event

    text = _encodes_json_text()
    payload_field = Event._meta.get_field("payload")
    connection = connections[router.db_for_write(Event)]
    for row in pending:
        if row[PENDING_OBJECT_ID] is None:
            instance = row.pop()
            row[PENDING_OBJECT_ID] = row[PENDING_PAYLOAD]["id"] = instance.pk
            if row[PENDING_STORE] is None:
                row[PENDING_STORE] = getattr(instance, "owner_store_id", None)
            if text:
                row[PENDING_PAYLOAD] = json_text(row[PENDING_PAYLOAD])
        if not text:
            row[PENDING_PAYLOAD] = payload_field.get_db_prep_save(row[PENDING_PAYLOAD], connection)
    ids, now = db.reserve_ids(Event, len(pending)), timezone.now()
    rows = [[pk, *row, now] for pk, row in zip(ids, pending, strict=True)]
    endpoints = _endpoints()  # once for the batch
    # (id, type, store id, occurred at) of each event, before the insert adapts the times
    written = [(row[0], row[1], row[4], row[6]) for row in rows] if endpoints else []
    db.insert_rows(Event, [*_COLUMNS, "created_at"], rows, moments=(6, 7))
    _fan_out(written, endpoints)
    pending.clear()


def fan_out(events: list[Any]) -> int:
    """One pending delivery per event and active endpoint that wants it; how many."""
    endpoints = _endpoints()
    return _fan_out([(e.pk, e.type, e.store_id, e.occurred_at) for e in events], endpoints)


def _endpoints() -> list[Any]:
    from backoffice.models import WebhookEndpoint

    return list(WebhookEndpoint.objects.filter(active=True).only("id", "event_types", "store_id"))


def _fan_out(events: list[tuple[int, str, int | None, datetime]], endpoints: list[Any]) -> int:
    """:func:`fan_out` of (id, type, store id, occurred at) of each event."""
    from backoffice.models import WebhookDelivery

    if not endpoints:
        return 0
    deliveries = [
        db.build(
            WebhookDelivery,
            endpoint_id=endpoint.pk,
            event_id=pk,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=at,
        )
        for pk, event_type, store_id, at in events
        for endpoint in endpoints
        if endpoint.wants(event_type, store_id)
    ]
    db.insert_many(WebhookDelivery, deliveries)
    return len(deliveries)
