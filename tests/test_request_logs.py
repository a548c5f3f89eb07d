"""Every request has an id (X-Request-ID), and every log line is one JSON object carrying it
(backoffice/request_id.py, backoffice/logs.py; LOG_FORMAT defaults to json without DEBUG)."""

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

URL = "/health/?format=json"
NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """What the configured console handler (settings.LOGGING) writes during the test."""
    (handler,) = [h for h in logging.getLogger().handlers if h.name == "console"]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def _records(log: io.StringIO) -> list[dict]:
    """Each line written is one JSON object."""
    return [json.loads(line) for line in log.getvalue().splitlines()]


def test_a_valid_request_id_is_echoed(client):
    response = client.get(URL, HTTP_X_REQUEST_ID="lb-7f3a.9_Z")

    assert response["X-Request-ID"] == "lb-7f3a.9_Z"


def test_without_one_each_request_gets_a_new_id(client):
    first = client.get(URL)["X-Request-ID"]
    second = client.get(URL)["X-Request-ID"]

    assert NEW_ID.fullmatch(first)
    assert NEW_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("sent", ["", "a" * 65, "id with spaces", "x\u00e9", "a/b", "{json}"])
def test_an_invalid_request_id_is_replaced(client, sent):
    response = client.get(URL, HTTP_X_REQUEST_ID=sent)

    assert NEW_ID.fullmatch(response["X-Request-ID"])


def test_the_longest_valid_id_is_kept(client):
    assert client.get(URL, HTTP_X_REQUEST_ID="a" * 64)["X-Request-ID"] == "a" * 64


def test_a_line_logged_while_a_request_runs_carries_its_id(client, settings, log):
    # A cache that keeps nothing makes the health check log a warning inside the view.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    client.get(URL, HTTP_X_REQUEST_ID="req-during-view")
    records = _records(log)

    warning = next(r for r in records if r["logger"] == "health_check")
    assert warning["request_id"] == "req-during-view"
    assert warning["level"] == "WARNING"
    assert {"time", "message"} <= warning.keys()


def test_djangos_own_line_about_a_refused_request_carries_its_id(client, log):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")
    records = _records(log)

    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-404"
    (line,) = [r for r in records if r["logger"] == "django.request"]
    assert line["message"] == "Not Found: /no-such-page/"
    assert line["request_id"] == "req-404"
    assert line["status_code"] == 404


def test_an_exception_is_logged_as_one_line_with_its_traceback(log):
    try:
        raise ValueError("a bad row")
    except ValueError:
        logging.getLogger("backoffice.test").exception("import failed")
    (record,) = _records(log)

    assert record["message"] == "import failed"
    assert record["request_id"] == "-"
    assert record["logger"] == "backoffice.test"
    assert record["level"] == "ERROR"
    assert "ValueError: a bad row" in record["exc_info"]
