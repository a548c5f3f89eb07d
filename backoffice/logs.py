"""JSON log lines (LOG_FORMAT=json): one object per line, for a log collector to parse.

Each line has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and ``request_id``
(``-`` outside a request), ``exc_info`` (the traceback) when an exception was logged, and any
``extra`` fields the caller passed (Django adds ``status_code`` to its request errors).
Built on python-json-logger.
"""

import logging

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from backoffice.request_id import NO_REQUEST

FIELDS = ("levelname", "name", "message", "request_id")
RENAMED = {"levelname": "level", "name": "logger"}
# Django puts the request object itself on its request records: its repr says nothing a
# log collector needs (the request id is already there).
NOT_LOGGED = (*RESERVED_ATTRS, "request")


class JsonFormatter(BaseJsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            fmt=list(FIELDS),
            rename_fields=RENAMED,
            timestamp="time",
            reserved_attrs=NOT_LOGGED,
        )


class GunicornRequestIdFilter(logging.Filter):
    """gunicorn's access line knows the response's X-Request-ID (deploy/gunicorn.conf.py):
    put it in the line's ``request_id`` as the application does in its own lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        request_id = atoms.get("{x-request-id}o")
        record.request_id = request_id if request_id not in (None, "", "-") else NO_REQUEST
        return True
