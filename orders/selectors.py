"""Reads of orders scoped to the viewer (see :mod:`accounts.selectors` for the rule)."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery

from accounts.selectors import visible_to
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
    """When the next reminder may go: ``None`` if the order is not unpaid or none was sent yet
    (same interval rule as :func:`orders.services.order_send_payment_reminder`)."""
    if status != Order.Status.UNPAID or last_sent_at is None:
        return None
    return last_sent_at + timedelta(hours=settings.PAYMENT_REMINDER_INTERVAL_HOURS)
