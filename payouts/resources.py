"""Export-only resources of payouts and ledger entries (the admin's "Export" and "Export
selected"); see backoffice/exports.py for the rules every export follows."""

from backoffice.exports import ExportResource, amount, constant, label, text, timestamp
from backoffice.money import Currency
from payouts.models import LedgerEntry, Payout


class PayoutResource(ExportResource):
    payout_id = text("pk", "Payout")
    store_id = text("store__platform_store_id", "Store ID")
    store_name = text("store__name", "Store Name")
    status = label("status", "Status")
    amount_currency = constant(Currency.USD, "Currency")  # taken from the USD balance
    amount_usd = amount("amount", "Amount")
    payout_currency = text("currency", "Payout Currency")
    rate = amount("rate", "USD/CNY Rate", places=6)
    payout_amount = amount("payout_amount", "Payout Amount")
    requested_at = timestamp("requested_at", "Requested (UTC)")
    requested_by = text("requested_by__username", "Requested By")
    paid_at = timestamp("paid_at", "Paid (UTC)")
    failed_at = timestamp("failed_at", "Failed (UTC)")
    failure_reason = text("failure_reason", "Failure Reason")

    select_related = ("store", "requested_by")

    class Meta:
        model = Payout
        name = "Payouts"


class LedgerEntryResource(ExportResource):
    """One leg a row; amounts signed (a debit of escrow is ``-12.34``), in the leg's currency."""

    entry_id = text("pk", "Entry")
    at = timestamp("at", "At (UTC)")
    posting = text("posting__reference", "Posting Reference")
    kind = text("posting__get_kind_display", "Kind")
    account = label("account", "Account")
    store_id = text("store__platform_store_id", "Store ID")
    store_name = text("store__name", "Store Name")
    order_number = text("order__order_number", "Order No.")
    currency = text("currency", "Currency")
    amount_signed = amount("amount", "Amount")
    memo = text("posting__memo", "Memo")

    select_related = ("posting", "store", "order")

    class Meta:
        model = LedgerEntry
        name = "Ledger entries"
