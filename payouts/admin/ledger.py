"""The ledger, read-only: entries, postings, and the postings inline of an order, payout or
refund."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from backoffice.admin_transitions import ReadOnlyInline
from backoffice.exports import ExportAdminMixin
from payouts.admin.shared import ACCOUNT_LABELS, ReadOnlyAdmin, admin_link, signed
from payouts.models import LedgerEntry, Posting
from payouts.resources import LedgerEntryResource


class EntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("account", "store", "order", "amount_signed")
    readonly_fields = fields
    verbose_name_plural = _("entries (legs)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("store", "order")

    @admin.display(description=_("amount"))
    def amount_signed(self, entry: LedgerEntry) -> str:
        return signed(entry.amount, entry.currency)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ExportAdminMixin, ReadOnlyAdmin):
    resource_classes = [LedgerEntryResource]  # export only (backoffice/exports.py)
    list_display = ("at", "posting", "kind", "account", "store", "order", "amount_signed")
    list_filter = (
        "account",
        "currency",
        "posting__kind",
        ("store", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "posting__reference",
        "=order__order_number",
        "store__name",
        "=store__platform_store_id",
    )
    date_hierarchy = "at"
    list_select_related = ("posting", "store", "order")
    ordering = ("-at", "-id")
    fields = ("posting", "kind", "account", "store", "order", "amount_signed", "at")
    readonly_fields = fields

    @admin.display(description=_("kind"), ordering="posting__kind")
    def kind(self, entry: LedgerEntry) -> str:
        return entry.posting.get_kind_display()

    @admin.display(description=_("amount"), ordering="amount")
    def amount_signed(self, entry: LedgerEntry) -> str:
        return signed(entry.amount, entry.currency)


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "kind",
        "store",
        "order",
        "payout",
        "refund",
        "promotion",
        "actor",
        "at",
    )
    list_filter = ("kind", ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "reference",
        "=order__order_number",
        "store__name",
        "=store__platform_store_id",
    )
    date_hierarchy = "at"
    list_select_related = ("store", "order", "payout", "refund", "promotion", "actor")
    ordering = ("-at", "-id")
    fields = (
        "reference",
        "kind",
        "memo",
        "store",
        "order",
        "payout",
        "refund",
        "promotion",
        "actor",
        "at",
        "created_at",
    )
    readonly_fields = fields
    inlines = (EntryInline,)


class PostingInline(ReadOnlyInline):
    """The postings of an order, payout or refund, each with its legs (two queries in all)."""

    model = Posting
    fields = ("posting", "kind", "at", "legs")
    readonly_fields = fields
    verbose_name_plural = _("ledger postings")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("entries")

    @admin.display(description=_("reference"))
    def posting(self, posting: Posting) -> SafeString:
        return admin_link(posting, posting.reference)

    @admin.display(description=_("legs"))
    def legs(self, posting: Posting) -> SafeString:
        return format_html_join(
            mark_safe("<br>"),
            "{} {}",
            (
                (ACCOUNT_LABELS.get(e.account, e.account), signed(e.amount, e.currency))
                for e in posting.entries.all()
            ),
        )
