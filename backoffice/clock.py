"""The one place that reads the wall clock, so tests and ``run_deadlines --now`` can replay time."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def resolve(at: datetime | None) -> datetime:
    """``at`` when given (it must be timezone-aware), else the clock."""
    if at is None:
        return now()
    if timezone.is_naive(at):
        raise ValueError("timestamps must be timezone-aware")
    return at
