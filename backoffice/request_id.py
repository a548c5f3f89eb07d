"""A request id for every request, in the response header and in every log line.

The id is the client's (or the proxy's) ``X-Request-ID`` when it is a plausible id: 1 to 64
characters of ``[A-Za-z0-9._-]``; anything else is replaced by a new one (32 hex digits), so a
client cannot write arbitrary text into the logs. The id lives in a context variable for the
duration of the request: :class:`RequestIdFilter` puts it on every log record (``-`` outside a
request).
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
NO_REQUEST = "-"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")

current_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def request_id_from(value: str | None) -> str:
    """The id to use for a request whose header is ``value``: that value if valid, else new."""
    if value is not None and _VALID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (the logging config puts it on the handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Django logs a 4xx/5xx response after the middleware has returned: its records
            # carry the request itself.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or current_request_id.get()
        return True
