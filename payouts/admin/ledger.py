"""The ledger, read-only: entries, postings, and the postings inline of an order, payout or
refund."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from backoffice.admin_helpers import ReadOnlyAdmin, admin_link, money, signed
from backoffice.admin_transitions import ReadOnlyInline
from backoffice.exports import ExportAdminMixin
from payouts.admin.labels import ACCOUNT_LABELS
from payouts.ledger import to_cents
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
    list_display = (
        "at",
        "posting",
        "kind",
        "account",
        "store",
        "order",
        "amount_signed",
        "running_balance",
    )
    # The totals of the filtered entries below the list (import-export wraps it with its buttons).
    change_list_template = "admin/payouts/ledgerentry/change_list.html"
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(running=running_balance())

    @admin.display(description=_("balance after"))
    def running_balance(self, entry: LedgerEntry) -> SafeString | str:
        """The store account's balance right after this entry (platform accounts: blank)."""
        if entry.store_id is None or entry.running is None:
            return "—"
        return format_html(
            '<span class="money">{}</span>', money(to_cents(entry.running), entry.currency)
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["ledger_totals"] = ledger_totals(context["cl"].queryset)
        return response


def running_balance() -> Subquery:
    """Annotation on a LedgerEntry queryset: the sum of the same store account's entries up to
    and including this one (by time, then id): one correlated subquery in the page's query.
    Read it through :func:`to_cents`."""
    before = Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), id__lte=OuterRef("id"))
    entries = (
        LedgerEntry.objects.filter(
            before,
            store=OuterRef("store"),
            account=OuterRef("account"),
            currency=OuterRef("currency"),
        )
        .order_by()
        .values("store")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(entries, output_field=DecimalField(max_digits=18, decimal_places=2))


def ledger_totals(queryset: QuerySet) -> list[tuple[str, str, int]]:
    """``(account, net change, entries)`` of the filtered entries, per account and currency."""
    rows = (
        queryset.order_by()
        .values("account", "currency")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .order_by("account", "currency")
    )
    return [
        (
            ACCOUNT_LABELS.get(r["account"], r["account"]),
            signed(to_cents(r["total"]), r["currency"]),
            r["n"],
        )
        for r in rows
    ]


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
