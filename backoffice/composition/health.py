"""``GET /health/``: is this deployment able to work? (django-health-check)

Five checks, each must pass for a 200 (else 500, naming the failing check):

- ``Database``: a ``SELECT 1`` on the default database (django-health-check's own);
- ``Cache``: set and read a key in the default cache (django-health-check's own);
- ``Queue``: the task queue's database tables answer (procrastinate's ``check_connection``);
  passes when no queue is installed;
- ``DeadlineHeartbeats``: every deadline job that has ever run finished a run within
  ``HEALTH_HEARTBEAT_MAX_AGE_MINUTES`` (``backoffice.models.JobHeartbeat``); passes when that
  model does not exist;
- ``Ledger``: the last run of the ledger's checks (``manage.py check_ledger`` or its daily
  periodic task) found no offending row; passes before the first run.

The answer is HTML for a browser, JSON for ``Accept: application/json`` or ``?format=json``:
``{"status": "healthy" | "unhealthy", "checks": {"<check>": "OK" | "<why>"}}``.
"""

import dataclasses
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.apps import apps
from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from backoffice import clock

QUEUE_APP = "procrastinate.contrib.django"


def stale_jobs(
    heartbeats: list[tuple[str, datetime | None]], *, now: datetime, max_age: timedelta
) -> list[str]:
    """The jobs (name, time of the last sign of life) whose last sign is older than max_age."""
    cutoff = now - max_age
    return [job for job, last in heartbeats if last is None or last < cutoff]


@dataclasses.dataclass
class DeadlineHeartbeats(HealthCheck):
    """Each deadline job's last finished run (or, before its first one ends, its start) is
    recent. Runs in the request's thread (its database connection)."""

    async def run(self) -> None:
        await sync_to_async(self.check)()

    def check(self) -> None:
        try:
            heartbeat = apps.get_model("backoffice", "JobHeartbeat")
        except LookupError:  # the queue's deadline jobs are not installed
            return
        rows = heartbeat.objects.values_list("job", "last_finished_at", "last_started_at")
        max_age = timedelta(minutes=settings.HEALTH_HEARTBEAT_MAX_AGE_MINUTES)
        heartbeats = [(job, finished or started) for job, finished, started in rows]
        stale = stale_jobs(heartbeats, now=clock.now(), max_age=max_age)
        if stale:
            raise ServiceUnavailable(
                _("no run finished in the last %(minutes)s minutes: %(jobs)s")
                % {"minutes": settings.HEALTH_HEARTBEAT_MAX_AGE_MINUTES, "jobs": ", ".join(stale)}
            )


@dataclasses.dataclass
class Queue(HealthCheck):
    """The task queue (procrastinate, in this database) answers and has its tables."""

    async def run(self) -> None:
        await sync_to_async(self.check)()

    def check(self) -> None:
        if not apps.is_installed(QUEUE_APP):
            return
        from procrastinate.contrib.django import app as queue_app

        try:
            has_tables = queue_app.check_connection()
        except Exception as error:  # the message may name hosts or users: only its kind
            raise ServiceUnavailable(
                _("the queue does not answer (%(error)s)") % {"error": type(error).__name__}
            ) from error
        if not has_tables:
            raise ServiceUnavailable(_("the queue's tables are missing: run `manage.py migrate`"))


@dataclasses.dataclass
class Ledger(HealthCheck):
    """The last run of the ledger's checks (``manage.py check_ledger`` or its periodic task,
    payouts/checks.py) found nothing wrong; passes before the first run."""

    async def run(self) -> None:
        await sync_to_async(self.check)()

    def check(self) -> None:
        try:
            runs = apps.get_model("payouts", "LedgerCheck")
        except LookupError:
            return
        last = runs.objects.order_by("-finished_at", "-id").first()
        if last is not None and last.problems:
            raise ServiceUnavailable(
                _("the ledger check of %(at)s found %(n)s offending rows (manage.py check_ledger)")
                % {"at": f"{last.finished_at:%Y-%m-%d %H:%M} UTC", "n": last.problems}
            )


class HealthView(HealthCheckView):
    checks = (Database, Cache, Queue, DeadlineHeartbeats, Ledger)

    def render_to_response_json(self, status: int) -> JsonResponse:
        checks = {
            repr(result.check): str(result.error) if result.error else "OK"
            for result in self.results
        }
        healthy = not any(result.error for result in self.results)
        return JsonResponse(
            {"status": "healthy" if healthy else "unhealthy", "checks": checks}, status=status
        )
