"""Webhooks delivered by a real procrastinate worker process on PostgreSQL: the receiver on
127.0.0.1 fails the first two attempts of each event, and still sees each event accepted once,
with a valid signature. The worker runs ``webhooks.deliver`` as its periodic task, every second,
with a one-second retry base."""

import json

import pytest

from accounts.services import seller_account_freeze, seller_account_unfreeze
from backoffice.models import Event, WebhookDelivery
from tests import factories as f
from tests.test_deadline_workers import start_worker, wait_until  # noqa: F401  (start_worker: a fixture)
from tests.test_webhooks import Receiver, endpoint, verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_worker_delivers_each_event_once_after_two_failed_attempts(start_worker, tmp_path):  # noqa: F811
    receiver = Receiver(fail_first=2)
    try:
        hook = endpoint(receiver.url, event_types=["store.status_changed"])
        store = f.store()
        seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
        seller_account_unfreeze(account_id=store.pk, actor=None)
        events = set(Event.objects.filter(type="store.status_changed").values_list("pk", flat=True))
        assert len(events) == 2

        worker = start_worker("hooks", WEBHOOK_RETRY_BASE_SECONDS="1", WEBHOOK_MAX_ATTEMPTS="5")

        def delivered() -> bool:
            return WebhookDelivery.objects.filter(status="succeeded").count() == len(events)

        wait_until(delivered, timeout=90, workers=[worker], tmp_path=tmp_path)
    finally:
        receiver.close()

    assert sorted(receiver.accepted) == sorted(events)  # each event accepted once
    assert [code for _h, _b, code in receiver.requests].count(500) == 2 * len(events)
    for headers, body, _code in receiver.requests:
        assert verify(hook.secret, headers, body)
        assert json.loads(body)["id"] == int(headers["X-Webhook-Id"])
    for delivery in WebhookDelivery.objects.all():
        assert (delivery.attempts, delivery.last_status_code) == (3, 200)
        assert [a.status_code for a in delivery.log.order_by("pk")] == [500, 500, 200]
