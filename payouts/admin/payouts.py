"""Payouts (requested and settled through the services), the reserve (deposit inquiry) and
refunds."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerAccount
from backoffice import clock
from backoffice.admin_helpers import (
    NOTE_WIDGET,
    ReadOnlyAdmin,
    admin_link,
    autocomplete,
    money,
    usd_column,
)
from backoffice.admin_transitions import (
    HistoryInline,
    ObjectAction,
    ReadOnlyInline,
    TransitionAdminMixin,
    bulk_action,
)
from backoffice.autoaction import next_action_cell
from backoffice.exports import ExportAdminMixin
from backoffice.forms import StrictDecimalField
from backoffice.money import Currency
from payouts.admin.ledger import PostingInline
from payouts.ledger import to_cents
from payouts.models import Account, LedgerEntry, Payout, PayoutTransition, Refund, ReserveHold
from payouts.resources import PayoutResource
from payouts.selectors import hold_auto_action, payout_hold_annotations
from payouts.services import payout_mark_failed, payout_mark_paid, payout_request

SETTLE_PERM = "payouts.settle_payout"


# --- payouts ---


class PaidForm(forms.Form):
    note = forms.CharField(
        required=False,
        widget=NOTE_WIDGET,
        help_text=_("E.g. the bank transfer reference. Kept in the history."),
    )


class FailedForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=NOTE_WIDGET,
        help_text=_(
            "Kept on the payout and in the history. The amount returns to the store's "
            "available balance."
        ),
    )


class PayoutRequestForm(forms.Form):
    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(Payout, "store")
    )
    amount = StrictDecimalField(
        max_digits=16, help_text=_("USD, taken from the store's available balance.")
    )
    currency = forms.ChoiceField(
        choices=[("", _("The store's settlement currency")), *Currency.CHOICES],
        initial="",
        required=False,
        help_text=_(
            "Paid in USD, or in CNY at today's recorded USD/CNY rate (rounded half up on the "
            "cent). A store settled in CNY is paid in USD only where the platform allows it."
        ),
    )
    # One key per form shown: submitting the same form twice creates one payout.
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex, required=False, max_length=100
    )


class PayoutHistoryInline(HistoryInline):
    model = PayoutTransition


def paid_effect(payout: Payout, data: dict[str, Any]) -> str:
    return gettext("%(money)s payout clearing -> paid out to %(store)s (it receives %(gets)s)") % {
        "money": money(payout.amount),
        "store": payout.store.name,
        "gets": money(payout.payout_amount, payout.currency),
    }


@admin.register(Payout)
class PayoutAdmin(TransitionAdminMixin, ExportAdminMixin, admin.ModelAdmin):
    """Payouts are requested (add) and settled (buttons, bulk) through the services only."""

    service_id_arg = "payout_id"
    resource_classes = [PayoutResource]  # export only (backoffice/exports.py)
    object_actions = {
        "mark_paid": ObjectAction(
            _("Mark paid"), payout_mark_paid, SETTLE_PERM, form=PaidForm, effect=paid_effect
        ),
        "mark_failed": ObjectAction(
            _("Mark failed"), payout_mark_failed, SETTLE_PERM, form=FailedForm
        ),
    }
    actions = [bulk_action("mark_paid", _("Mark selected payouts paid"))]
    service_add_form = PayoutRequestForm

    # Fits 1440 px: the rate shows on hover over what the store receives.
    list_display = ("id", "store", "amount_usd", "receives", "status", "held", "waited")
    list_filter = ("status", "currency", ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("store__name", "=store__platform_store_id")
    date_hierarchy = "requested_at"
    list_select_related = ("store",)
    fieldsets = (
        (
            None,
            {"fields": ("store", "status", "held", "amount_usd", "currency", "rate", "receives")},
        ),
        (
            _("Time"),
            {"fields": ("requested_at", "requested_by", "paid_at", "failed_at", "failure_reason")},
        ),
    )
    readonly_fields = (
        "store",
        "status",
        "amount_usd",
        "currency",
        "rate",
        "receives",
        "held",
        "requested_at",
        "requested_by",
        "paid_at",
        "failed_at",
        "failure_reason",
    )
    inlines = (PayoutHistoryInline, PostingInline)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing on a payout is edited; it moves with the buttons

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(**payout_hold_annotations())

    @admin.display(description=_("held"))
    def held(self, payout: Payout) -> str:
        """Why a requested payout may not be paid now (its store owes or is frozen)."""
        return payout.held_reason or "-"

    def object_label(self, obj: Payout) -> str:
        return f"Payout {obj.pk} ({money(obj.payout_amount, obj.currency)})"

    @admin.display(description=_("amount"), ordering="amount")
    def amount_usd(self, payout: Payout) -> str:
        return money(payout.amount)

    @admin.display(description=_("payout amount"), ordering="payout_amount")
    def receives(self, payout: Payout) -> SafeString | str:
        text = money(payout.payout_amount, payout.currency)
        if payout.rate is None:
            return text
        return format_html('<span title="{}">{}</span>', f"{payout.rate} CNY/USD", text)

    @admin.display(description=_("waited"), ordering="requested_at")
    def waited(self, payout: Payout) -> SafeString:
        """How long a requested payout has waited (red after 3 days, amber after 1); for a
        settled one, how long it took. The request time on hover."""
        end = payout.paid_at or payout.failed_at or clock.now()
        days = (end - payout.requested_at).total_seconds() / 86400
        state = "later"
        if payout.status == Payout.Status.REQUESTED:
            state = "overdue" if days >= 3 else "soon" if days >= 1 else "later"
        return format_html(
            '<span class="due-badge due-{}" data-waited="{}" title="{}">{}</span>',
            state,
            f"{days:.2f}",
            f"{payout.requested_at:%Y-%m-%d %H:%M} UTC",
            gettext("%(days).1f days") % {"days": days},
        )

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> Payout:
        return payout_request(
            store_id=data["store"].pk,
            actor=request.user,
            amount=data["amount"],
            currency=data["currency"] or None,
            idempotency_key=data.get("idempotency_key") or None,
        )


# --- the reserve: deposit inquiry ---


def reserve_left() -> Subquery:
    """What is left of the reserve of the hold's order: one correlated SUM per row inside the
    same query (no query per row). Read it through :func:`to_cents`."""
    entries = (
        LedgerEntry.objects.filter(order_id=OuterRef("order_id"), account=Account.RESERVE)
        .order_by()
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(entries, output_field=models.DecimalField(max_digits=16, decimal_places=2))


def holds_with_remaining(queryset: QuerySet[ReserveHold] | None = None) -> QuerySet[ReserveHold]:
    queryset = ReserveHold.objects.all() if queryset is None else queryset
    return queryset.annotate(remaining=reserve_left())


class ReleasedFilter(admin.SimpleListFilter):
    title = _("released")
    parameter_name = "released"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Still held"), ("yes", "Released")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("no", "yes"):
            return queryset.filter(released_at__isnull=self.value() == "no")
        return queryset


@admin.register(ReserveHold)
class ReserveHoldAdmin(ReadOnlyAdmin):
    """The deposit inquiry: each order's reserve, what is left of it and when it is released."""

    list_display = (
        "store",
        "order",
        "held_usd",
        "remaining_usd",
        "held_at",
        "release_at",
        "released_at",
        "next_action",
    )
    list_filter = (ReleasedFilter, ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("store__name", "=store__platform_store_id", "=order__order_number")
    date_hierarchy = "held_at"
    list_select_related = ("store", "order")
    fields = readonly_fields = list_display

    @admin.display(description=_("next automatic action"))
    def next_action(self, hold: ReserveHold) -> SafeString | str:
        return next_action_cell(hold_auto_action(hold))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return holds_with_remaining(super().get_queryset(request))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        context = {"title": "Deposit inquiry: reserve held per order", **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description=_("held"), ordering="held")
    def held_usd(self, hold: ReserveHold) -> str:
        return money(hold.held)

    @admin.display(description=_("remaining"), ordering="remaining")
    def remaining_usd(self, hold: ReserveHold) -> str:
        return money(to_cents(hold.remaining))


# --- refunds ---


class RefundColumns:
    """A refund's amount and where its money came from, in USD."""

    columns = (
        "amount_usd",
        "from_escrow_usd",
        "from_available_usd",
        "from_reserve_usd",
        "from_protection_fund_usd",
        "to_debt_usd",
    )

    amount_usd = usd_column("amount", "amount")
    from_escrow_usd = usd_column("from_escrow", "from escrow")
    from_available_usd = usd_column("from_available", "from available")
    from_reserve_usd = usd_column("from_reserve", "from reserve")
    from_protection_fund_usd = usd_column("from_protection_fund", "from protection fund")
    to_debt_usd = usd_column("to_debt", "to debt")


class RefundInline(RefundColumns, ReadOnlyInline):
    model = Refund
    fields = readonly_fields = ("at", *RefundColumns.columns, "reason")


@admin.register(Refund)
class RefundAdmin(RefundColumns, ReadOnlyAdmin):
    """Refunds and where their money came from (the waterfall); they are made by the order and
    dispute services, never here."""

    list_display = (
        "at",
        "order",
        "dispute_link",
        "store",
        *RefundColumns.columns,
        "reason",
    )
    list_filter = (("store", admin.RelatedOnlyFieldListFilter),)
    search_fields = (
        "=order__order_number",
        "store__name",
        "=store__platform_store_id",
        "reference",
    )
    date_hierarchy = "at"
    list_select_related = ("order", "store", "dispute")
    ordering = ("-at", "-id")
    fields = (
        "order",
        "dispute_link",
        "store",
        *RefundColumns.columns,
        "reason",
        "reference",
        "at",
    )
    readonly_fields = fields
    inlines = (PostingInline,)

    @admin.display(description=_("dispute"))
    def dispute_link(self, refund: Refund) -> SafeString | str:
        """The dispute whose resolution paid it; empty for a cancelled order's refund."""
        dispute = getattr(refund, "dispute", None)
        if dispute is None:
            return self.get_empty_value_display()
        return admin_link(dispute, _("dispute %(pk)s") % {"pk": dispute.pk})
