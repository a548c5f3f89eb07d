"""Outbound events and webhooks from the outside: the events a change writes (and a rollback
takes back), a receiver on 127.0.0.1 that fails twice then accepts, signatures, retries with
the clock moved on, dead endpoints, and what imports cost."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import seller_account_freeze, seller_account_unfreeze
from backoffice.composition import webhooks
from backoffice.composition.imports.runner import import_export
from backoffice.errors import error_code
from backoffice.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests import factories as f
from tests.imports.helpers import order_row, write_orders


class Receiver:
    """An HTTP server on a free port of 127.0.0.1 that answers 500 to the first ``fail_first``
    requests for each event, then 200; it keeps every request."""

    def __init__(self, fail_first: int = 2) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.accepted: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event_id = int(self.headers["X-Webhook-Id"])
                seen = sum(1 for h, _, _ in receiver.requests if h["X-Webhook-Id"] == str(event_id))
                code = 500 if seen < receiver.fail_first else 200
                receiver.requests.append((dict(self.headers), body, code))
                if code == 200:
                    receiver.accepted.append(event_id)
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    server = Receiver()
    yield server
    server.close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/operations.md "Events and webhooks")."""
    signed = headers["X-Webhook-Timestamp"].encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Webhook-Signature"])


def endpoint(url: str, **kwargs) -> WebhookEndpoint:
    return webhooks.endpoint_create(actor=f.superuser(), url=url, **kwargs)


def test_a_state_change_writes_its_event_in_its_transaction_and_a_rollback_takes_it_back():
    store = f.store()
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    event = Event.objects.get(type="store.status_changed")
    assert (event.store_id, event.object_type, event.object_id) == (store.pk, "store", store.pk)
    assert event.payload | {"at": None} == {
        "object": "store",
        "id": store.pk,
        "transition": "freeze",
        "from": "active",
        "to": "frozen",
        "at": None,
        "actor_id": None,
        "platform_store_id": store.platform_store_id,
        "freeze_reason": "risk",
        "close_reason": "",
    }

    with pytest.raises(RuntimeError), transaction.atomic():
        seller_account_unfreeze(account_id=store.pk, actor=None)
        assert Event.objects.count() == 2
        raise RuntimeError("rolled back")
    assert Event.objects.count() == 1


def test_a_ledger_posting_writes_its_event_with_amounts_as_strings():
    from payouts.promotion import promotion_top_up

    store = f.store()
    promotion_top_up(
        store_id=store.pk, actor=None, amount="150.00", method="alipay", reference="t-1"
    )
    event = Event.objects.get(type="ledger.posted")
    assert event.store_id == store.pk
    assert {leg["amount"] for leg in event.payload["legs"]} == {"150.00", "-150.00"}


def test_the_receiver_accepts_each_event_once_after_two_failures_with_a_valid_signature(receiver):
    hook = endpoint(receiver.url, event_types=["store.status_changed"])
    store = f.store()
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
        seller_account_unfreeze(account_id=store.pk, actor=None)
    assert WebhookDelivery.objects.count() == 2  # the ledger's events are not wanted

    moments = [start, start + timedelta(seconds=59), start + timedelta(seconds=60)]
    moments += [start + timedelta(seconds=180), start + timedelta(days=1)]
    done = []
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            done.append(webhooks.deliver_due(timezone.now()))
    assert done == [2, 0, 2, 2, 0]  # fail, not due yet, fail (after 60 s), accepted (+120 s)

    assert sorted(receiver.accepted) == sorted(Event.objects.values_list("pk", flat=True))
    for headers, body, _code in receiver.requests:
        assert verify(hook.secret, headers, body)
        assert json.loads(body)["id"] == int(headers["X-Webhook-Id"])
    for delivery in WebhookDelivery.objects.all():
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "succeeded",
            3,
            200,
        )
        assert [a.status_code for a in delivery.log.all()] == [500, 500, 200]
    body = json.loads(receiver.requests[-1][1])
    assert body["type"] == "store.status_changed"
    assert body["data"]["from"] in {"active", "frozen"}


def test_a_dead_endpoint_is_disabled_after_its_deliveries_fail_for_good(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.fail_first = 99
    hook = endpoint(receiver.url, event_types=["store.status_changed"])
    store = f.store()
    f.seller(store).__class__.objects.filter(store=store).update(email="owner@example.com")
    hook.store = store
    hook.save()
    start = timezone.now()
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk", at=start)
    seller_account_unfreeze(account_id=store.pk, actor=None, at=start)
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk", at=start)

    later = start + timedelta(days=1)
    webhooks.deliver_due(later)  # first attempts
    webhooks.deliver_due(later + timedelta(hours=1))  # second: two failed for good

    hook.refresh_from_db()
    assert (hook.active, hook.failure_count) == (False, 2)
    assert hook.disabled_at is not None
    statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses.count("failed") == 2 and statuses.count("disabled") == 1
    assert store.notices.filter(kind="webhook_disabled").exists()
    assert webhooks.deliver_due(later + timedelta(days=9)) == 0  # nothing more is sent

    # redelivery needs the endpoint on again; then it is sent at once
    failed = WebhookDelivery.objects.filter(status="failed").first()
    with pytest.raises(Exception) as refused:
        webhooks.delivery_retry(actor=f.superuser(), delivery_id=failed.pk)
    assert error_code(refused.value) == "invalid"
    webhooks.endpoint_update(actor=f.superuser(), endpoint_id=hook.pk, active=True)
    receiver.fail_first = 0
    webhooks.delivery_retry(actor=f.superuser(), delivery_id=failed.pk)
    assert webhooks.deliver_due(timezone.now()) == 1
    failed.refresh_from_db()
    assert failed.status == "succeeded"
    assert WebhookAttempt.objects.filter(delivery=failed).count() == 3


def test_urls_are_checked(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    for url in ("ftp://example.com/x", "http://example.com/x", "https://127.0.0.1/x", "x"):
        with pytest.raises(Exception) as refused:
            endpoint(url)
        assert error_code(refused.value) == "invalid", url
    with pytest.raises(Exception) as refused:
        endpoint("https://localhost/hook")
    assert error_code(refused.value) == "invalid"
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert endpoint("http://127.0.0.1:9/hook").url == "http://127.0.0.1:9/hook"
    with pytest.raises(Exception) as refused:
        endpoint("http://127.0.0.1:9/hook", event_types=["order.eaten"])
    assert error_code(refused.value) == "invalid"


def test_staff_without_the_permission_cannot_create_endpoints(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    with pytest.raises(Exception) as refused:
        webhooks.endpoint_create(actor=f.staff("finance"), url="http://127.0.0.1:9/")
    assert getattr(refused.value, "code", None) == "permission_denied"
    assert not WebhookEndpoint.objects.exists()


def _import_2000_orders(tmp_path) -> tuple[int, int]:
    """Import 2,000 shipped orders in batches of 500: (all queries, those of the outbox)."""
    rows = [order_row(f"81000000{i:08d}", "shipped") for i in range(2000)]
    path = write_orders(tmp_path, rows)
    with CaptureQueriesContext(connection) as queries:
        report = import_export(path, batch_size=500)
    assert report.landed
    outbox = [q for q in queries if "backoffice_event" in q["sql"] or "webhook" in q["sql"]]
    return len(queries), len(outbox)


@pytest.mark.parametrize("with_endpoint", [False, True])
def test_an_import_of_2000_rows_writes_its_events_in_a_few_statements_per_batch(
    settings, tmp_path, with_endpoint
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    if with_endpoint:
        endpoint("http://127.0.0.1:9/hook")
    total, outbox = _import_2000_orders(tmp_path)
    events = Event.objects.count()
    assert events >= 2 * 2000  # each order's moves (paid, shipped) and its payment posting
    # 4 batches; per batch: ids taken, events inserted, endpoints read (+ deliveries), for the
    # audit rows' events and the postings' events
    assert outbox <= 4 * 2 * 4
    assert total < 150, total
    if with_endpoint:
        assert WebhookDelivery.objects.count() == events
