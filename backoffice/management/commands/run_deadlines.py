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
    help = "Apply everything that is due at --now (default: the clock). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="ISO 8601 timestamp with offset; default: now")

    def handle(self, *args, **options) -> None:
        now = parse_now(options["now"])
        self.stdout.write(f"deadlines at {now.isoformat()}")
        for name, count in deadlines.run_all(now).items():
            self.stdout.write(f"{name}: {count}")
