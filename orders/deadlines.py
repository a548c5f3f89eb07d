"""Order deadlines: unpaid orders cancel, shipped orders confirm automatically."""

from datetime import datetime, timedelta

from django.conf import settings

from backoffice.deadlines import process_due, register
from orders.models import EndReason, Order
from orders.services import SAVE_FIELDS, apply_cancel, apply_confirm


@register("orders.cancel_unpaid")
def cancel_unpaid(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.UNPAID_CANCEL_DAYS)
    due = Order.objects.filter(status=Order.Status.UNPAID, placed_at__lte=cutoff)
    note = f"automatic: unpaid for {settings.UNPAID_CANCEL_DAYS} days"
    return process_due(
        due,
        lambda order: apply_cancel(
            order, actor=None, at=now, reason=EndReason.PAY_TIMEOUT, note=note
        ),
        SAVE_FIELDS["cancel"],
    )


@register("orders.auto_confirm")
def auto_confirm(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.AUTO_CONFIRM_DAYS)
    due = Order.objects.filter(status=Order.Status.SHIPPED, shipped_at__lte=cutoff)
    note = f"automatic: {settings.AUTO_CONFIRM_DAYS} days after shipment"
    return process_due(
        due,
        lambda order: apply_confirm(order, actor=None, at=now, note=note),
        SAVE_FIELDS["confirm"],
    )
