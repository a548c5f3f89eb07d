"""Export-only resource of disputes (the admin's "Export" and "Export selected"); see
backoffice/exports.py for the rules every export follows."""

from backoffice.exports import ExportResource, amount, constant, flag, label, text, timestamp
from backoffice.money import Currency
from disputes.models import Dispute


class DisputeResource(ExportResource):
    dispute_id = text("pk", "Dispute")
    platform_dispute_id = text("platform_dispute_id", "Platform Dispute ID")
    order_number = text("order__order_number", "Order No.")
    store_id = text("store__platform_store_id", "Store ID")
    store_name = text("store__name", "Store Name")
    status = label("status", "Status")
    reason = label("reason", "Reason")
    description = text("description", "Description")
    protected = flag("protected", "After-sales Protection")
    currency = constant(Currency.USD, "Currency")  # refunds are kept in USD
    requested_refund = amount("requested_refund", "Requested Refund")
    proposed_refund = amount("proposed_refund", "Proposed Refund")
    final_refund = amount("final_refund", "Final Refund")
    return_required = flag("return_required", "Return Required")
    fault = label("fault", "Fault")
    opened_at = timestamp("opened_at", "Opened (UTC)")
    respond_by = timestamp("respond_by", "Respond By (UTC)")
    escalate_at = timestamp("escalate_at", "Escalates At (UTC)")
    responded_at = timestamp("responded_at", "Responded (UTC)")
    escalated_at = timestamp("escalated_at", "Escalated (UTC)")
    resolved_at = timestamp("resolved_at", "Resolved (UTC)")
    cancelled_at = timestamp("cancelled_at", "Cancelled (UTC)")

    select_related = ("order", "store")

    class Meta:
        model = Dispute
        name = "Disputes"
