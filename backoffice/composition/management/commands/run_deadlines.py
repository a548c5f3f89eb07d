from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice import clock, deadlines


def parse_now(value: str | None) -> datetime:
    if not value:
        return clock.now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now: {value!r} is not an ISO 8601 timestamp") from None
    if timezone.is_naive(moment):
        raise CommandError("--now needs a UTC offset, e.g. 2026-03-09T14:05:00+00:00")
    return moment


class Command(BaseCommand):
    help = (
        "Apply everything that is due at --now (default: the clock), every deadline job once in "
        "order: the same job functions the workers run periodically. Idempotent. A row that "
        "fails is listed, retried on later runs and parked after DEADLINES_MAX_ATTEMPTS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="ISO 8601 timestamp with offset; default: now")

    def handle(self, *args, **options) -> None:
        now = parse_now(options["now"])
        self.stdout.write(f"deadlines at {now.isoformat()}")
        for name in deadlines.jobs():
            self.report(deadlines.run_job(name, now))

    def report(self, result: deadlines.JobResult) -> None:
        line = f"{result.job}: {result.done}"
        if result.failures:
            line += f", failed: {len(result.failures)}"
        if result.error:
            line += f", job failed: {result.error}"
        self.stdout.write(line)
        for failure in result.failures:
            state = "parked" if failure.parked else f"attempt {failure.attempts}"
            self.stdout.write(f"  {failure.model} {failure.pk} ({state}): {failure.error}")
