"""Order deadlines: unpaid orders cancel, shipped orders confirm automatically, when
``orders.selectors.auto_action`` says (the same periods pick the due rows)."""

from datetime import datetime

from django.conf import settings

from backoffice.deadlines import process_due, register
from orders.models import EndReason
from orders.selectors import confirm_due, unpaid_due
from orders.services import apply_cancel, apply_confirm
from payouts.services import load_for_orders


@register("orders.cancel_unpaid")
def cancel_unpaid(now: datetime) -> int:
    due = unpaid_due(now)
    note = f"automatic: unpaid for {settings.UNPAID_CANCEL_DAYS} days"
    return process_due(
        due,
        lambda order: apply_cancel(
            order, actor=None, at=now, reason=EndReason.PAY_TIMEOUT, note=note
        ),
    )


@register("orders.auto_confirm")
def auto_confirm(now: datetime) -> int:
    due = confirm_due(now)
    note = f"automatic: {settings.AUTO_CONFIRM_DAYS} days after shipment"
    return process_due(
        due,
        lambda order: apply_confirm(order, actor=None, at=now, note=note),
        load=load_for_orders,  # its escrow is released to its store
    )
