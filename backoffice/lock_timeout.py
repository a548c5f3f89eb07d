"""A short wait for row locks in interactive requests (docs/operations.md "Import jobs").

An import holds the rows of every store in its file for as long as it runs (a minute for a big
file). A GraphQL mutation or an admin action on one of those stores would wait that long, past
proxy timeouts. :class:`InteractiveLockTimeoutMiddleware` sets PostgreSQL's ``lock_timeout`` to
``INTERACTIVE_LOCK_TIMEOUT_MS`` for the request and resets it after, so such a request fails in
seconds; the refusal is :data:`BUSY_MESSAGE` (GraphQL: ``OperationInfo`` with code ``busy``;
the admin: an error message). Workers and commands never pass through it and wait as long as
they need. SQLite has no row locks (its writers queue for the whole database).

The ``SET`` runs on the driver's connection, past Django's cursor, so requests whose number of
queries is counted (tests, the debug toolbar) count their own queries only.
"""

import contextlib
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

#: PostgreSQL's SQLSTATE for "lock_timeout expired" (psycopg.errors.LockNotAvailable).
LOCK_NOT_AVAILABLE = "55P03"
BUSY_MESSAGE = _("The store is busy (an import is running); try again in a minute.")


def is_lock_timeout(error: BaseException) -> bool:
    """Whether ``error`` (a Django database error, or the driver's own) is a lock wait that
    ran out of ``lock_timeout``."""
    while error is not None:
        if getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return True
        error = error.__cause__  # type: ignore[assignment]
    return False


def _run_raw(sql: str) -> None:
    """``sql`` on the open PostgreSQL connection (opened if need be), outside Django's cursor."""
    connection.ensure_connection()
    connection.connection.execute(sql)


class InteractiveLockTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = int(settings.INTERACTIVE_LOCK_TIMEOUT_MS)
        if timeout <= 0 or connection.vendor != "postgresql":
            return self.get_response(request)
        _run_raw(f"SET lock_timeout = {timeout}")
        try:
            return self.get_response(request)
        finally:
            # A request that ended inside a broken transaction has nothing to reset: the
            # rollback undoes the SET too.
            with contextlib.suppress(Exception):
                if connection.connection is not None:
                    _run_raw("RESET lock_timeout")

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The admin's answer to a lock wait that ran out: the message, and the page again."""
        if not is_lock_timeout(exception):
            return None
        logger.warning("%s %s: lock wait timed out", request.method, request.path)
        if request.method == "POST" and hasattr(request, "_messages"):
            messages.error(request, BUSY_MESSAGE)
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponse(str(BUSY_MESSAGE), status=503, content_type="text/plain")
