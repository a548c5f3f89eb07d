"""GET /health/: database, cache, queue and deadline heartbeats
(backoffice/composition/health.py)."""

from datetime import datetime, timedelta

import pytest

from backoffice.composition.health import stale_jobs

URL = "/health/"
CHECKS = {
    "Database(alias='default')",
    "Cache(alias='default')",
    "Queue()",
    "DeadlineHeartbeats()",
    "Ledger()",
}
NOW = datetime.fromisoformat("2026-03-01T12:00:00+00:00")


def test_healthy_on_the_test_database_as_json_when_asked_by_parameter(client):
    response = client.get(URL, {"format": "json"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) == CHECKS
    assert set(body["checks"].values()) == {"OK"}


def test_json_when_the_client_accepts_json(client):
    response = client.get(URL, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "healthy"


def test_a_browser_gets_a_page_never_cached(client):
    response = client.get(URL, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]


def test_a_failing_check_makes_it_unhealthy_and_says_which(client, settings):
    # A cache that keeps nothing: the cache check reads back nothing.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    response = client.get(URL, {"format": "json"})

    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["Cache(alias='default')"].startswith("Unavailable: Cache key")
    assert body["checks"]["Database(alias='default')"] == "OK"


def test_health_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(URL, {"format": "json"}).status_code == 200
    assert client.get("/admin/login/").status_code == 301


@pytest.mark.parametrize(
    ("last", "stale"),
    [
        (NOW - timedelta(minutes=14), False),
        (NOW - timedelta(minutes=15), False),
        (NOW - timedelta(minutes=15, seconds=1), True),
        (None, True),
    ],
)
def test_a_job_is_stale_when_its_last_sign_of_life_is_older_than_the_limit(last, stale):
    heartbeats = [("orders:auto_confirm", NOW), ("disputes:auto_resolve", last)]

    found = stale_jobs(heartbeats, now=NOW, max_age=timedelta(minutes=15))

    assert found == (["disputes:auto_resolve"] if stale else [])


@pytest.mark.django_db
def test_a_deadline_job_that_stopped_running_makes_it_unhealthy(client, settings):
    from django.utils import timezone

    from backoffice.models import JobHeartbeat

    settings.HEALTH_HEARTBEAT_MAX_AGE_MINUTES = 15
    old = timezone.now() - timedelta(hours=2)
    JobHeartbeat.objects.create(
        job="orders.auto_confirm", last_started_at=old, last_finished_at=old
    )
    JobHeartbeat.objects.create(job="orders.auto_cancel", last_finished_at=timezone.now())

    response = client.get(URL, {"format": "json"})

    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "unhealthy"
    assert "orders.auto_confirm" in body["checks"]["DeadlineHeartbeats()"]
    assert "orders.auto_cancel" not in body["checks"]["DeadlineHeartbeats()"]
    assert body["checks"]["Database(alias='default')"] == "OK"
