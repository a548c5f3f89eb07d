"""Webhooks: endpoints staff configure, and the job that POSTs events to them.

Deliveries are created with their event (:mod:`backoffice.events`). The job
``webhooks.deliver`` (registered with the deadlines runner, scheduled with the other jobs)
claims due deliveries in a short transaction (``SKIP LOCKED``, then a lease: their next attempt
is pushed past the request's time-out, so a worker that dies mid-way only delays them), POSTs
each outside any transaction, and records the attempt in another short one. A delivery that
fails is retried with exponential backoff; after ``WEBHOOK_MAX_ATTEMPTS`` it has failed for
good, and ``WEBHOOK_DISABLE_AFTER_FAILURES`` such deliveries in a row disable the endpoint.

Each request is signed like Stripe's: ``X-Webhook-Signature: v1=<hex HMAC-SHA256 of
"<X-Webhook-Timestamp>.<body>" keyed with the endpoint's secret>``; ``X-Webhook-Id`` is the
event's id, the same on every retry, for the receiver to accept each event once.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice import clock, db, events
from backoffice.deadlines import drain, register, retry_delay
from backoffice.errors import invalid
from backoffice.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from backoffice.permissions import require_staff_perm
from backoffice.text import clean_text

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
DUE = (Status.PENDING, Status.RETRYING)
ERROR_MAX_CHARS = 1000


# --- endpoints -------------------------------------------------------------------------------


def check_url(url: str, *, field: str | None = "url") -> str:
    """``url`` if webhooks may be sent there: http(s) only; unless
    ``WEBHOOK_ALLOW_PRIVATE_URLS``, https only and no host that resolves to a private,
    loopback, link-local or otherwise non-public address (the back-office must not be made to
    call its own network)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(_("Enter an http:// or https:// URL."), field=field)
    if len(url) > WebhookEndpoint._meta.get_field("url").max_length:
        raise invalid(_("The URL is too long."), field=field)
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return url
    if parts.scheme != "https":
        raise invalid(_("Webhook URLs must use https."), field=field)
    if not public_host(parts.hostname, parts.port or 443):
        raise invalid(
            _("The URL's host is not a public address (or does not resolve)."), field=field
        )
    return url


def public_host(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return bool(addresses) and all(address.is_global for address in addresses)


def _event_types(values: list[str] | None, field: str = "event_types") -> list[str]:
    chosen = sorted(set(values or []))
    unknown = [value for value in chosen if value not in events.TYPES]
    if unknown:
        raise invalid(
            _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}, field=field
        )
    return chosen


@transaction.atomic
def endpoint_create(
    *,
    actor: Any,
    url: str,
    event_types: list[str] | None = None,
    store_id: int | None = None,
    description: str = "",
) -> WebhookEndpoint:
    require_staff_perm(actor, "backoffice.add_webhookendpoint")
    from accounts.models import SellerAccount

    if store_id is not None and not SellerAccount.objects.filter(pk=store_id).exists():
        raise invalid(_("Store not found."), field="store")
    return WebhookEndpoint.objects.create(
        url=check_url(url),
        event_types=_event_types(event_types),
        store_id=store_id,
        description=clean_text(description, field="description"),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def endpoint_update(
    *,
    actor: Any,
    endpoint_id: int,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given. Turning an endpoint on again clears its failures."""
    require_staff_perm(actor, "backoffice.change_webhookendpoint")
    endpoint = db.lock(WebhookEndpoint, endpoint_id, what=_("Webhook endpoint"))
    if url is not None:
        endpoint.url = check_url(url)
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if description is not None:
        endpoint.description = clean_text(description, field="description")
    if active is not None and active != endpoint.active:
        endpoint.active = active
        endpoint.disabled_at = None if active else clock.now()
        endpoint.failure_count = 0
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Any, endpoint_id: int) -> None:
    require_staff_perm(actor, "backoffice.delete_webhookendpoint")
    db.lock(WebhookEndpoint, endpoint_id, what=_("Webhook endpoint")).delete()


@transaction.atomic
def delivery_retry(*, actor: Any, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again at once, with a fresh retry schedule (its attempts stay logged)."""
    require_staff_perm(actor, "backoffice.change_webhookendpoint")
    delivery = db.lock(WebhookDelivery, delivery_id, what=_("Webhook delivery"))
    if not WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, active=True).exists():
        raise invalid(_("The endpoint is disabled: turn it on first."), field="id")
    delivery.status = Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = clock.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    return delivery


# --- signing and sending ---------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def body_of(event: Event) -> bytes:
    return json.dumps(
        {
            "id": event.pk,
            "type": event.type,
            "store_id": event.store_id,
            "object": {"type": event.object_type, "id": event.object_id},
            "occurred_at": event.occurred_at.isoformat(),
            "created_at": event.created_at.isoformat(),
            "data": event.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def backoff(attempts: int) -> timedelta:
    return retry_delay(settings.WEBHOOK_RETRY_BASE_SECONDS, attempts)


@register("webhooks.deliver")
def deliver_due(now: datetime) -> int:
    """POST every delivery due at ``now``; returns how many were attempted."""
    return drain(_claim, _attempt, now)


def _claim(now: datetime) -> list[WebhookDelivery]:
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.filter(
                status__in=DUE, next_attempt_at__lte=now, endpoint__active=True
            )
            .select_related("endpoint", "event")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")[: settings.WEBHOOK_BATCH_SIZE]
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=lease)
    return due


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, int]:
    """POST the event: (status code or None, error, milliseconds)."""
    endpoint, body = delivery.endpoint, body_of(delivery.event)
    timestamp = str(int(clock.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "seller-backoffice-webhooks/1",
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event.type,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": sign(endpoint.secret, timestamp, body),
    }
    started = time.monotonic()
    try:
        check_url(endpoint.url)  # again: what a name resolves to may have changed
        response = requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}", _ms(started)
    except Exception as exc:  # a refused URL (ValidationError) or anything the client raised
        return None, " ".join(getattr(exc, "messages", [str(exc)])), _ms(started)
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return response.status_code, error, _ms(started)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _attempt(delivery: WebhookDelivery, now: datetime) -> None:
    code, error, duration = _post(delivery)
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status not in DUE:  # settled meanwhile (the endpoint was disabled)
            return
        WebhookAttempt.objects.create(
            delivery=current,
            at=now,
            status_code=code,
            duration_ms=duration,
            error=error[:ERROR_MAX_CHARS],
        )
        current.attempts += 1
        current.last_status_code = code
        current.last_error = error[:ERROR_MAX_CHARS]
        if not error:
            _succeeded(current, now)
        elif current.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            _failed(current, now)
        else:
            current.status = Status.RETRYING
            current.next_attempt_at = now + backoff(current.attempts)
        current.save()


def _succeeded(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = Status.SUCCEEDED
    delivery.delivered_at = now
    delivery.next_attempt_at = None
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failure_count__gt=0).update(
        failure_count=0
    )


def _failed(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = Status.FAILED
    delivery.next_attempt_at = None
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    endpoint.failure_count = F("failure_count") + 1
    endpoint.save(update_fields=["failure_count", "updated_at"])
    endpoint.refresh_from_db(fields=["failure_count", "active"])
    if endpoint.active and endpoint.failure_count >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        _disable(endpoint, now)


def _disable(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Turn a dead endpoint off: its waiting deliveries stop, staff (and the store, for a
    store's endpoint) are told."""
    endpoint.active = False
    endpoint.disabled_at = now
    endpoint.save(update_fields=["active", "disabled_at", "updated_at"])
    endpoint.deliveries.filter(status__in=DUE).update(status=Status.DISABLED, next_attempt_at=None)
    logger.warning(
        "webhook endpoint %s (%s) disabled after %s failed deliveries in a row",
        endpoint.pk,
        endpoint.url,
        endpoint.failure_count,
    )
    if endpoint.store_id is not None:
        from accounts.models import Notice
        from accounts.notices import notify

        notify(
            endpoint.store,
            Notice.Kind.WEBHOOK_DISABLED,
            title=gettext_lazy("Webhook endpoint disabled"),
            body=lambda: (
                _(
                    "Events are no longer sent to %(url)s: its last %(count)s deliveries failed. "
                    "Ask the platform's staff to turn it on again once it answers."
                )
                % {"url": endpoint.url, "count": endpoint.failure_count}
            ),
            at=now,
        )
