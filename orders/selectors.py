"""Reads of orders scoped to the viewer (see :mod:`accounts.selectors` for the rule)."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from accounts.selectors import visible_to
from backoffice.autoaction import AutoAction
from orders.models import Order, PaymentReminder


def orders_visible_to(
    viewer: Any, queryset: models.QuerySet[Order] | None = None
) -> models.QuerySet[Order]:
    queryset = Order.objects.all() if queryset is None else queryset
    return visible_to(queryset, viewer, store_path="store_id")


def payment_reminders_visible_to(
    viewer: Any, queryset: models.QuerySet[PaymentReminder] | None = None
) -> models.QuerySet[PaymentReminder]:
    queryset = PaymentReminder.objects.all() if queryset is None else queryset
    return visible_to(queryset, viewer, store_path="order__store_id")


def last_reminder_at() -> Subquery:
    """Annotation: when the order's latest payment reminder was sent (one subquery per page,
    not one query per order)."""
    latest = PaymentReminder.objects.filter(order=OuterRef("pk")).order_by("-sent_at", "-id")
    return Subquery(latest.values("sent_at")[:1])


def next_reminder_at(*, status: str, last_sent_at: datetime | None) -> datetime | None:
    """When the next reminder may go: ``None`` if the order is not unpaid or none was sent yet.
    The one home of the interval rule (``PAYMENT_REMINDER_INTERVAL_HOURS``): the service, the
    admin's button and GraphQL's ``nextReminderAt`` all ask here."""
    if status != Order.Status.UNPAID or last_sent_at is None:
        return None
    return last_sent_at + timedelta(hours=settings.PAYMENT_REMINDER_INTERVAL_HOURS)


def reminder_too_soon(order: Order, at: datetime) -> str:
    """Why a payment reminder for ``order`` may not go at ``at`` (the last one is too recent),
    or ``""`` when it may."""
    last = order.payment_reminders.order_by("-sent_at").values_list("sent_at", flat=True).first()
    allowed_at = next_reminder_at(status=order.status, last_sent_at=last)
    if allowed_at is None or at >= allowed_at:
        return ""
    return _(
        "A reminder was sent less than %(hours)s hours ago; the next one can go at %(at)s UTC."
    ) % {"hours": settings.PAYMENT_REMINDER_INTERVAL_HOURS, "at": f"{allowed_at:%Y-%m-%d %H:%M}"}


# --- the order's clock: what the deadlines runner does to it next, and when ---
#
# auto_action() and the jobs' due querysets (orders.deadlines) read the same two periods, so
# the moment shown is the moment the job acts: it picks an order once ``now`` reaches it.


def unpaid_period() -> timedelta:
    return timedelta(days=settings.UNPAID_CANCEL_DAYS)


def confirm_period() -> timedelta:
    return timedelta(days=settings.AUTO_CONFIRM_DAYS)


def auto_action(order: Order) -> AutoAction | None:
    """An unpaid order is cancelled ``UNPAID_CANCEL_DAYS`` after it was placed; a shipped one
    is confirmed ``AUTO_CONFIRM_DAYS`` after shipment (its escrow then goes to the store).
    Nothing else happens to an order by itself (a disputed order follows its dispute's clock).
    Reads ``status``, ``placed_at`` and ``shipped_at`` only."""
    if order.status == Order.Status.UNPAID:
        return AutoAction(order.placed_at + unpaid_period(), _("cancel (not paid in time)"))
    if order.status == Order.Status.SHIPPED and order.shipped_at is not None:
        return AutoAction(
            order.shipped_at + confirm_period(),
            _("confirm receipt (escrow released to the store)"),
        )
    return None


def unpaid_due(now: datetime) -> models.QuerySet[Order]:
    """Unpaid orders whose :func:`auto_action` is due at ``now``."""
    return Order.objects.filter(status=Order.Status.UNPAID, placed_at__lte=now - unpaid_period())


def confirm_due(now: datetime) -> models.QuerySet[Order]:
    """Shipped orders whose :func:`auto_action` is due at ``now``."""
    return Order.objects.filter(status=Order.Status.SHIPPED, shipped_at__lte=now - confirm_period())
