"""Dispute deadlines: automatic resolution when the seller did not respond in time, automatic
escalation of disputes left unresolved, and the refund of returns never confirmed. Each
dispute is saved by its service, with its order and money, in the batch's unit of work; the
batch's orders, stores and balances are loaded once (:func:`load_disputes`)."""

from datetime import datetime, timedelta

from backoffice.deadlines import process_due, register
from disputes.models import Dispute
from disputes.selectors import return_timeout_due
from disputes.services import (
    apply_auto_escalate,
    apply_auto_resolve,
    apply_deadline_reminder,
    apply_return_timeout,
    load_disputes,
)


@register("disputes.auto_resolve")
def auto_resolve(now: datetime) -> int:
    due = Dispute.objects.filter(status=Dispute.Status.OPEN, respond_by__lte=now)
    return process_due(due, lambda d: apply_auto_resolve(d, at=now), load=load_disputes)


@register("disputes.auto_escalate")
def auto_escalate(now: datetime) -> int:
    due = Dispute.objects.filter(status=Dispute.Status.RESPONDED, escalate_at__lte=now)
    return process_due(due, lambda d: apply_auto_escalate(d, at=now), load=load_disputes)


@register("disputes.return_timeout")
def return_timeout(now: datetime) -> int:
    """A return the seller never confirmed: the buyer is refunded ``RETURN_DAYS`` after the
    dispute began awaiting it."""
    return process_due(
        return_timeout_due(now), lambda d: apply_return_timeout(d, at=now), load=load_disputes
    )


@register("disputes.deadline_reminders")
def deadline_reminders(now: datetime) -> int:
    due = Dispute.objects.filter(
        status=Dispute.Status.OPEN,
        reminded_at__isnull=True,
        respond_by__lte=now + timedelta(hours=24),
        respond_by__gt=now,
    )
    return process_due(due, lambda d: apply_deadline_reminder(d, at=now), load=load_disputes)
