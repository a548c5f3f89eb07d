"""Admin for money: the ledger (read-only), payouts, exchange rates, early-payout terms, the
reserve ("deposit inquiry"), refunds, and the promotion wallet (movements, thresholds, arrears).

Every write goes through ``payouts.services`` or ``payouts.promotion`` as the signed-in user:
payout requests and their settlement, exchange rates, early-payout terms, promotion top-ups
by bank transfer, adjustments and low-balance thresholds. Ledger postings and entries, reserve
holds, refunds, decisions, promotion movements and arrears episodes are records of what
happened: nobody changes or deletes them here (the database refuses updates and deletes of
ledger rows anyway). Sums of ledger amounts are
always read through :func:`payouts.ledger.exact` (SQLite sums decimals as floats).

The store and order pages (accounts/admin.py, orders/admin.py) show money through the helpers
and inlines at the end of this module.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelect
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from accounts.models import SellerAccount
from backoffice import clock
from backoffice.admin_transitions import (
    HistoryInline,
    ObjectAction,
    ReadOnlyInline,
    TransitionAdminMixin,
    bulk_action,
)
from backoffice.exports import ExportAdminMixin
from backoffice.fsm import TransitionCheck
from backoffice.money import Currency, Money
from payouts.evaluation import decide
from payouts.health import Health, store_health
from payouts.ledger import exact, store_balances
from payouts.models import (
    STORE_ACCOUNTS,
    Account,
    ArrearsEpisode,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    LedgerEntry,
    Payout,
    PayoutTransition,
    Posting,
    PromotionMovement,
    PromotionWallet,
    Refund,
    ReserveHold,
)
from payouts.promotion import (
    promotion_adjust,
    promotion_set_threshold,
    promotion_top_up,
    wallet_balance,
)
from payouts.resources import LedgerEntryResource, PayoutResource
from payouts.services import (
    early_payout_set,
    exchange_rate_set,
    payout_mark_failed,
    payout_mark_paid,
    payout_request,
)

SETTLE_PERM = "payouts.settle_payout"
RATE_PERM = "payouts.change_exchangerate"
TERMS_PERM = "payouts.change_earlypayoutterms"
BANK_TRANSFER_PERM = "payouts.record_bank_transfer"
ADJUST_PERM = "payouts.adjust_promotion"
PROMOTION_VIEW_PERM = "payouts.view_promotionmovement"
DECISION_VIEW_PERM = "payouts.view_earlypayoutdecision"
NOTE_WIDGET = forms.Textarea(attrs={"rows": 3, "cols": 60})
ACCOUNT_LABELS = dict(Account.choices)
STORE_CURRENCY = {account: Currency.USD for account in STORE_ACCOUNTS} | {
    Account.PROMOTION: Currency.CNY
}


# --- shared display helpers ---


def signed(amount: Decimal, currency: str) -> str:
    """An amount with its sign and currency: ``USD +100.00``, ``USD -12.50``."""
    return f"{currency} {Money(amount, currency).amount:+,.2f}"


def money(amount: Decimal | None, currency: str = Currency.USD) -> str:
    return str(Money(amount, currency)) if amount is not None else "—"


def usd_column(field: str, description: str) -> Any:
    """A changelist column showing a USD amount field, blank when zero."""

    @admin.display(description=description, ordering=field)
    def column(self: admin.ModelAdmin, obj: models.Model) -> str:
        value = getattr(obj, field)
        return money(value) if value else "—"

    return column


def admin_link(obj: models.Model, text: Any = None) -> SafeString:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def changelist_link(model: type[models.Model], text: str, **filters: Any) -> SafeString:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def autocomplete(model: type[models.Model], field: str) -> AutocompleteSelect:
    return AutocompleteSelect(model._meta.get_field(field), admin.site)


def always(name: str) -> Any:
    """The check of an action on an object without a state: the permission is the only gate
    (the service checks it again)."""
    return lambda obj, user: TransitionCheck(name, True)


def reserve_left() -> Subquery:
    """What is left of the reserve of the hold's order: one correlated SUM per row inside the
    same query (no query per row). Read it through :func:`exact`."""
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: viewed, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- the ledger ---


class EntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("account", "store", "order", "amount_signed")
    readonly_fields = fields
    verbose_name_plural = "entries (legs)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("store", "order")

    @admin.display(description="amount")
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

    @admin.display(description="kind", ordering="posting__kind")
    def kind(self, entry: LedgerEntry) -> str:
        return entry.posting.get_kind_display()

    @admin.display(description="amount", ordering="amount")
    def amount_signed(self, entry: LedgerEntry) -> str:
        return signed(entry.amount, entry.currency)


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ("reference", "kind", "store", "order", "payout", "refund", "actor", "at")
    list_filter = ("kind", ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "reference",
        "=order__order_number",
        "store__name",
        "=store__platform_store_id",
    )
    date_hierarchy = "at"
    list_select_related = ("store", "order", "payout", "refund", "actor")
    ordering = ("-at", "-id")
    fields = (
        "reference",
        "kind",
        "memo",
        "store",
        "order",
        "payout",
        "refund",
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
    verbose_name_plural = "ledger postings"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("entries")

    @admin.display(description="reference")
    def posting(self, posting: Posting) -> SafeString:
        return admin_link(posting, posting.reference)

    @admin.display(description="legs")
    def legs(self, posting: Posting) -> SafeString:
        return format_html_join(
            mark_safe("<br>"),
            "{} {}",
            (
                (ACCOUNT_LABELS.get(e.account, e.account), signed(e.amount, e.currency))
                for e in posting.entries.all()
            ),
        )


# --- payouts ---


class PaidForm(forms.Form):
    note = forms.CharField(
        required=False,
        widget=NOTE_WIDGET,
        help_text="E.g. the bank transfer reference. Kept in the history.",
    )


class FailedForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=NOTE_WIDGET,
        help_text="Kept on the payout and in the history. The amount returns to the store's "
        "available balance.",
    )


class PayoutRequestForm(forms.Form):
    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(Payout, "store")
    )
    amount = forms.DecimalField(
        max_digits=16, help_text="USD, taken from the store's available balance."
    )
    currency = forms.ChoiceField(
        choices=Currency.CHOICES,
        initial=Currency.USD,
        help_text="Paid in USD, or in CNY at today's recorded USD/CNY rate.",
    )
    # One key per form shown: submitting the same form twice creates one payout.
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex, required=False, max_length=100
    )


class PayoutHistoryInline(HistoryInline):
    model = PayoutTransition


@admin.register(Payout)
class PayoutAdmin(TransitionAdminMixin, ExportAdminMixin, admin.ModelAdmin):
    """Payouts are requested (add) and settled (buttons, bulk) through the services only."""

    service_id_arg = "payout_id"
    resource_classes = [PayoutResource]  # export only (backoffice/exports.py)
    object_actions = {
        "mark_paid": ObjectAction("Mark paid", payout_mark_paid, SETTLE_PERM, form=PaidForm),
        "mark_failed": ObjectAction(
            "Mark failed", payout_mark_failed, SETTLE_PERM, form=FailedForm
        ),
    }
    actions = [bulk_action("mark_paid", "Mark selected payouts paid")]
    service_add_form = PayoutRequestForm

    list_display = (
        "id",
        "store",
        "amount_usd",
        "currency",
        "rate",
        "receives",
        "status",
        "requested_at",
    )
    list_filter = ("status", "currency", ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("store__name", "=store__platform_store_id")
    date_hierarchy = "requested_at"
    list_select_related = ("store",)
    fieldsets = (
        (None, {"fields": ("store", "status", "amount_usd", "currency", "rate", "receives")}),
        (
            "Time",
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

    def object_label(self, obj: Payout) -> str:
        return f"Payout {obj.pk} ({money(obj.payout_amount, obj.currency)})"

    @admin.display(description="amount", ordering="amount")
    def amount_usd(self, payout: Payout) -> str:
        return money(payout.amount)

    @admin.display(description="payout amount", ordering="payout_amount")
    def receives(self, payout: Payout) -> str:
        return money(payout.payout_amount, payout.currency)

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> Payout:
        return payout_request(
            store_id=data["store"].pk,
            actor=request.user,
            amount=data["amount"],
            currency=data["currency"],
            idempotency_key=data.get("idempotency_key") or None,
        )


# --- exchange rates ---


class ExchangeRateForm(forms.Form):
    day = forms.DateField(label="Date", widget=AdminDateWidget)
    rate = forms.DecimalField(
        label="USD/CNY rate", help_text="CNY for one US dollar, at most 6 decimals (e.g. 7.1825)."
    )


class RateChangeForm(forms.Form):
    rate = forms.DecimalField(label="USD/CNY rate", help_text="CNY for one US dollar.")


def exchange_rate_change(*, rate_id: int, actor: Any, rate: Decimal) -> ExchangeRate:
    """The admin's "Change rate" button: the same service, for the row's day and currency."""
    row = ExchangeRate.objects.get(pk=rate_id)
    return exchange_rate_set(actor=actor, day=row.date, currency=row.currency, rate=rate)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """Rates are set through ``exchange_rate_set`` (add, or "Change rate" on a row); adding a
    date that already has a rate replaces it."""

    service_id_arg = "rate_id"
    object_actions = {
        "change_rate": ObjectAction(
            "Change rate",
            exchange_rate_change,
            RATE_PERM,
            form=RateChangeForm,
            check=always("change_rate"),
            initial=lambda row: {"rate": row.rate_to_cny},
        ),
    }
    service_add_form = ExchangeRateForm

    list_display = ("date", "currency", "rate_to_cny", "set_by", "updated_at")
    list_filter = ("currency",)
    date_hierarchy = "date"
    list_select_related = ("set_by",)
    fields = ("date", "currency", "rate_to_cny", "set_by", "updated_at")
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a rate changes through the service (the "Change rate" button)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # payouts record the rate they used; a day's rate is replaced, not removed

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> ExchangeRate:
        return exchange_rate_set(actor=request.user, day=data["day"], rate=data["rate"])


# --- early payout ---


class TermsForm(forms.Form):
    eligible = forms.BooleanField(
        required=False,
        help_text="Orders are paid out early (after shipment + delay). Losing eligibility "
        "schedules the release of the reserve.",
    )
    reserve_rate = forms.DecimalField(
        label="Reserve rate",
        min_value=0,
        max_value=Decimal("0.9999"),
        decimal_places=4,
        help_text="A fraction: 0.10 holds 10 % of each early payout as a deposit.",
    )
    reason = forms.CharField(
        max_length=300, widget=NOTE_WIDGET, help_text="Kept with the decision."
    )


class TermsCreateForm(TermsForm):
    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(EarlyPayoutTerms, "store")
    )
    field_order = ("store", "eligible", "reserve_rate", "reason")


@admin.register(EarlyPayoutTerms)
class EarlyPayoutTermsAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """Terms change only through ``early_payout_set`` as the signed-in user; each change is an
    :class:`EarlyPayoutDecision`, shown below the terms."""

    service_id_arg = "store_id"
    object_actions = {
        "set_terms": ObjectAction(
            "Change terms",
            early_payout_set,
            TERMS_PERM,
            form=TermsForm,
            check=always("set_terms"),
            initial=lambda terms: {"eligible": terms.eligible, "reserve_rate": terms.reserve_rate},
        ),
    }
    service_add_form = TermsCreateForm

    list_display = ("store", "eligible", "reserve", "since", "reason")
    list_filter = ("eligible",)
    search_fields = ("store__name", "=store__platform_store_id")
    list_select_related = ("store",)
    fields = ("store", "eligible", "reserve", "reason", "since", "decisions")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(TERMS_PERM)  # the service's permission: set or replace

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the "Change terms" button runs the service

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("store")

    def object_label(self, obj: EarlyPayoutTerms) -> str:
        return f"Early payout terms of {obj.store}"

    @admin.display(description="reserve rate", ordering="reserve_rate")
    def reserve(self, terms: EarlyPayoutTerms) -> str:
        return f"{terms.reserve_rate * 100:.2f} %"

    @admin.display(description="decisions (latest first)")
    def decisions(self, terms: EarlyPayoutTerms) -> SafeString:
        rows = EarlyPayoutDecision.objects.filter(store_id=terms.store_id).select_related(
            "decided_by"
        )[:20]
        return decisions_table(rows)

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> EarlyPayoutTerms:
        store = data.pop("store")
        return early_payout_set(store_id=store.pk, actor=request.user, **data)


def decisions_table(rows: Any, *, figures: bool = False) -> SafeString:
    """Early-payout decisions, latest first; with ``figures``, the health figures each
    evaluation decided on."""
    cells = "<td>{}</td>" * (7 if figures else 6)
    body = format_html_join(
        "",
        f"<tr>{cells}</tr>",
        (
            (
                f"{d.decided_at:%Y-%m-%d %H:%M}",
                "eligible" if d.eligible else "not eligible",
                f"{d.reserve_rate * 100:.2f} %",
                d.get_source_display(),
                d.decided_by.get_username() if d.decided_by_id else "system",
                d.reason,
                *([figures_text(d.figures)] if figures else []),
            )
            for d in rows
        ),
    )
    if not body:
        return format_html("{}", "None yet.")
    return format_html(
        "<table><thead><tr><th>at</th><th>decision</th><th>reserve</th><th>source</th>"
        "<th>by</th><th>reason</th>{}</tr></thead><tbody>{}</tbody></table>",
        mark_safe("<th>figures</th>") if figures else "",
        body,
    )


def figures_text(figures: dict) -> str:
    """The health figures recorded with an evaluation, in one line (a staff override has none)."""
    if not figures:
        return "—"

    def rate(name: str) -> str:
        value = figures.get(name)
        return percent(Decimal(value)) if value is not None else "—"

    return (
        f"{figures.get('operating_days')} days open; {figures.get('orders')} paid orders; "
        f"disputes {figures.get('disputes')} ({rate('dispute_rate')}); "
        f"refunded {figures.get('refunded_orders')} ({rate('refund_rate')}); "
        f"rated {figures.get('rated_orders')} ({rate('positive_rate')} positive); "
        f"{figures.get('service_points')} service points; "
        f"{figures.get('arrears_episodes')} arrears episodes"
    )


def percent(value: Decimal | None) -> str:
    return f"{value * 100:.2f} %" if value is not None else "—"


@admin.register(EarlyPayoutDecision)
class EarlyPayoutDecisionAdmin(ReadOnlyAdmin):
    list_display = ("store", "eligible", "reserve", "source", "decided_by", "decided_at", "reason")
    list_filter = ("source", "eligible")
    search_fields = ("store__name", "=store__platform_store_id", "reason")
    date_hierarchy = "decided_at"
    list_select_related = ("store", "decided_by")
    fields = (
        "store",
        "eligible",
        "reserve",
        "source",
        "reason",
        "figures",
        "decided_by",
        "decided_at",
    )
    readonly_fields = fields

    @admin.display(description="reserve rate", ordering="reserve_rate")
    def reserve(self, decision: EarlyPayoutDecision) -> str:
        return f"{decision.reserve_rate * 100:.2f} %"


# --- the reserve: deposit inquiry ---


class ReleasedFilter(admin.SimpleListFilter):
    title = "released"
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
    )
    list_filter = (ReleasedFilter, ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("store__name", "=store__platform_store_id", "=order__order_number")
    date_hierarchy = "held_at"
    list_select_related = ("store", "order")
    fields = ("store", "order", "held_usd", "remaining_usd", "held_at", "release_at", "released_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return holds_with_remaining(super().get_queryset(request))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        context = {"title": "Deposit inquiry: reserve held per order", **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description="held", ordering="held")
    def held_usd(self, hold: ReserveHold) -> str:
        return money(hold.held)

    @admin.display(description="remaining", ordering="remaining")
    def remaining_usd(self, hold: ReserveHold) -> str:
        return money(exact(hold.remaining))


# --- refunds ---


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "at",
        "amount_usd",
        "from_escrow_usd",
        "from_available_usd",
        "from_reserve_usd",
        "from_protection_fund_usd",
        "to_debt_usd",
        "reason",
    )
    readonly_fields = fields

    amount_usd = usd_column("amount", "amount")
    from_escrow_usd = usd_column("from_escrow", "from escrow")
    from_available_usd = usd_column("from_available", "from available")
    from_reserve_usd = usd_column("from_reserve", "from reserve")
    from_protection_fund_usd = usd_column("from_protection_fund", "from protection fund")
    to_debt_usd = usd_column("to_debt", "to debt")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Refunds and where their money came from (the waterfall); they are made by the order and
    dispute services, never here."""

    list_display = (
        "at",
        "order",
        "store",
        "amount_usd",
        "from_escrow_usd",
        "from_available_usd",
        "from_reserve_usd",
        "from_protection_fund_usd",
        "to_debt_usd",
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
    list_select_related = ("order", "store")
    ordering = ("-at", "-id")
    fields = (
        "order",
        "store",
        "amount_usd",
        "from_escrow_usd",
        "from_available_usd",
        "from_reserve_usd",
        "from_protection_fund_usd",
        "to_debt_usd",
        "reason",
        "reference",
        "at",
    )
    readonly_fields = fields
    inlines = (PostingInline,)

    amount_usd = usd_column("amount", "amount")
    from_escrow_usd = usd_column("from_escrow", "from escrow")
    from_available_usd = usd_column("from_available", "from available")
    from_reserve_usd = usd_column("from_reserve", "from reserve")
    from_protection_fund_usd = usd_column("from_protection_fund", "from protection fund")
    to_debt_usd = usd_column("to_debt", "to debt")


# --- money on the store page (accounts/admin.py) ---

MONEY_VIEW_PERM = "payouts.view_ledgerentry"


def balances_table(store_id: int) -> SafeString:
    """The five balances of a store (one query)."""
    balances = store_balances(store_id)
    return format_html(
        "<table><tbody>{}</tbody></table>",
        format_html_join(
            "",
            '<tr><th scope="row">{}</th><td class="balance-{}">{}</td></tr>',
            ((ACCOUNT_LABELS[a], a, money(balances[a], STORE_CURRENCY[a])) for a in STORE_ACCOUNTS),
        ),
    )


SCHEDULE_ROWS = 20


def reserve_schedule_table(store_id: int) -> SafeString:
    """The store's unreleased reserve holds, soonest release first (one query)."""
    holds = list(
        holds_with_remaining(ReserveHold.objects.filter(store_id=store_id, released_at=None))
        .select_related("order")
        .order_by(models.F("release_at").asc(nulls_last=True), "held_at", "id")[: SCHEDULE_ROWS + 1]
    )
    if not holds:
        return format_html("{}", "No reserve is held.")
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                admin_link(hold.order),
                money(hold.held),
                money(exact(hold.remaining)),
                f"{hold.release_at:%Y-%m-%d}"
                if hold.release_at
                else "not scheduled (while the store stays eligible and open)",
            )
            for hold in holds[:SCHEDULE_ROWS]
        ),
    )
    more = (
        format_html(
            "<p>{}</p>", changelist_link(ReserveHold, "All holds…", store__id__exact=store_id)
        )
        if len(holds) > SCHEDULE_ROWS
        else ""
    )
    return format_html(
        "<table><thead><tr><th>order</th><th>held</th><th>remaining</th><th>release on</th>"
        "</tr></thead><tbody>{}</tbody></table>{}",
        body,
        more,
    )


def early_payout_summary(store: SellerAccount) -> str:
    terms = EarlyPayoutTerms.objects.filter(store_id=store.pk).first()
    if terms is None:
        return "Not evaluated yet: paid out on confirmation."
    return early_payout_summary_of(terms)


def store_money_links(user: Any, store: SellerAccount) -> SafeString:
    """Links to the store's money lists the viewer may open."""
    lists = [
        (LedgerEntry, "ledger entries"),
        (Payout, "payouts"),
        (Refund, "refunds"),
        (ReserveHold, "deposit inquiry (reserve holds)"),
        (EarlyPayoutTerms, "early payout terms"),
        (EarlyPayoutDecision, "early payout decisions"),
    ]
    links = [
        changelist_link(model, text, store__id__exact=store.pk)
        for model, text in lists
        if user.has_perm(f"payouts.view_{model._meta.model_name}")
    ]
    return format_html(
        "{}: {}", "The store's", format_html_join(" · ", "{}", ((x,) for x in links))
    )


# --- the promotion wallet (CNY): movements, thresholds, arrears ---

TOP_UP, ADJUSTMENT = PromotionMovement.Kind.TOP_UP, PromotionMovement.Kind.ADJUSTMENT


def cny(amount: Decimal | None) -> str:
    return money(amount, Currency.CNY)


def wallet_sum() -> Subquery:
    """The promotion balance of the row's store, inside the same query. Read it through
    :func:`exact`."""
    entries = (
        LedgerEntry.objects.filter(store_id=OuterRef("store_id"), account=Account.PROMOTION)
        .order_by()
        .values("store_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(entries, output_field=models.DecimalField(max_digits=16, decimal_places=2))


class PromotionEntryForm(forms.Form):
    """What finance records by hand: an offline bank transfer, or a correction."""

    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(PromotionMovement, "store")
    )
    kind = forms.ChoiceField(
        label="Record",
        choices=[
            (TOP_UP, "Top-up received by offline bank transfer"),
            (ADJUSTMENT, "Adjustment (a correction, positive or negative)"),
        ],
        initial=TOP_UP,
        widget=forms.RadioSelect,
    )
    # Checked by the services (their errors show next to the field).
    amount = forms.DecimalField(
        max_digits=16,
        help_text="CNY. A top-up is more than zero and pays the store's arrears first; an "
        "adjustment may be negative.",
    )
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="The bank's reference of the transfer (required for a top-up; optional for "
        "an adjustment). A reference already recorded for the same movement records nothing "
        "new.",
    )
    note = forms.CharField(
        required=False,
        max_length=300,
        widget=NOTE_WIDGET,
        help_text="Why the wallet is adjusted (required for an adjustment).",
    )
    # One key per form shown: submitting the same form twice records one movement.
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex, required=False, max_length=100
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == TOP_UP and not data.get("reference"):
            self.add_error("reference", "Give the bank's reference of the transfer.")
        return data


class PromotionPostingInline(PostingInline):
    verbose_name_plural = "ledger posting"


@admin.register(PromotionMovement)
class PromotionMovementAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """The promotion wallet's movements, read-only. *Add* records, through
    ``payouts.promotion``, a top-up finance received by bank transfer or an adjustment; Alipay
    and credit-card top-ups and the ad system's charges arrive through the API."""

    service_add_form = PromotionEntryForm

    list_display = ("at", "store", "kind", "amount_signed", "method", "reference", "actor")
    list_filter = ("kind", "method", ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("reference", "store__name", "=store__platform_store_id")
    date_hierarchy = "at"
    list_select_related = ("store", "actor")
    ordering = ("-at", "-id")
    fields = ("store", "kind", "amount_signed", "method", "reference", "note", "at", "actor")
    readonly_fields = fields
    inlines = (PromotionPostingInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(BANK_TRANSFER_PERM) or request.user.has_perm(ADJUST_PERM)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a movement is corrected by an adjustment, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def object_label(self, obj: PromotionMovement) -> str:
        return f"{obj.get_kind_display()} {signed(obj.amount, Currency.CNY)} ({obj.reference})"

    @admin.display(description="amount", ordering="amount")
    def amount_signed(self, movement: PromotionMovement) -> str:
        return signed(movement.amount, Currency.CNY)

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> PromotionMovement:
        key = data.get("idempotency_key") or None
        if data["kind"] == TOP_UP:
            return promotion_top_up(
                store_id=data["store"].pk,
                actor=request.user,
                amount=data["amount"],
                method=PromotionMovement.Method.BANK_TRANSFER,
                reference=data["reference"],
                idempotency_key=key,
            )
        return promotion_adjust(
            store_id=data["store"].pk,
            actor=request.user,
            amount=data["amount"],
            note=data["note"],
            reference=data["reference"] or (f"admin-adjustment:{key}" if key else None),
        )

    def response_created(self, request: HttpRequest, obj: PromotionMovement) -> HttpResponse:
        response = super().response_created(request, obj)
        store = obj.store
        owed = store.arrears_owed
        if owed:
            messages.warning(request, f"{store} is still in arrears: CNY {owed:,.2f} owed.")
        elif store.freeze_reason == SellerAccount.FreezeReason.ARREARS:
            messages.info(
                request,
                f"{store} owes no arrears any more: risk staff can unfreeze it.",
            )
        return response


class OpenEpisodeFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Still in arrears"), ("no", "Cleared")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(cleared_at__isnull=self.value() == "yes")
        return queryset


@admin.register(ArrearsEpisode)
class ArrearsEpisodeAdmin(ReadOnlyAdmin):
    """Each stretch of time a store's promotion wallet was below zero: the open one drives the
    freeze and close policy, past ones count against the store's health."""

    list_display = ("store", "started_at", "cleared_at", "duration", "peak_cny")
    list_filter = (OpenEpisodeFilter, ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("store__name", "=store__platform_store_id")
    date_hierarchy = "started_at"
    list_select_related = ("store",)
    fields = ("store", "started_at", "cleared_at", "duration", "peak_cny")
    readonly_fields = fields

    @admin.display(description="peak owed", ordering="peak")
    def peak_cny(self, episode: ArrearsEpisode) -> str:
        return cny(episode.peak)

    @admin.display(description="duration")
    def duration(self, episode: ArrearsEpisode) -> str:
        end = episode.cleared_at or clock.now()
        days = f"{(end - episode.started_at).total_seconds() / 86400:.1f} days"
        return days if episode.cleared_at else f"{days} so far"


class ThresholdForm(forms.Form):
    threshold = forms.DecimalField(
        label="Low-balance threshold",
        help_text="CNY; a balance below it sends the store a notice (0 turns the notices off).",
    )


class WalletThresholdCreateForm(ThresholdForm):
    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(PromotionWallet, "store")
    )
    field_order = ("store", "threshold")


@admin.register(PromotionWallet)
class PromotionWalletAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """A store's wallet settings; its balance comes from the ledger. The low-balance threshold
    changes only through ``promotion_set_threshold`` (*Change threshold*, or *Add* for a store
    without a wallet yet)."""

    service_id_arg = "store_id"
    object_actions = {
        "set_threshold": ObjectAction(
            "Change threshold",
            promotion_set_threshold,
            ADJUST_PERM,
            form=ThresholdForm,
            check=always("set_threshold"),
            initial=lambda wallet: {"threshold": wallet.low_balance_threshold},
        ),
    }
    service_add_form = WalletThresholdCreateForm

    list_display = ("store", "balance_cny", "threshold_cny", "low_balance_noticed")
    list_filter = ("low_balance_noticed",)
    search_fields = ("store__name", "=store__platform_store_id")
    list_select_related = ("store",)
    fields = ("store", "balance_cny", "threshold_cny", "low_balance_noticed")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(balance=wallet_sum())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ADJUST_PERM)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the "Change threshold" button runs the service

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def object_label(self, obj: PromotionWallet) -> str:
        return f"Promotion wallet of {obj.store}"

    @admin.display(description="balance", ordering="balance")
    def balance_cny(self, wallet: PromotionWallet) -> str:
        return cny(exact(wallet.balance))

    @admin.display(description="low-balance threshold", ordering="low_balance_threshold")
    def threshold_cny(self, wallet: PromotionWallet) -> str:
        threshold = wallet.low_balance_threshold
        return cny(threshold) if threshold else "none (no notices)"

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> PromotionWallet:
        return promotion_set_threshold(
            store_id=data["store"].pk, actor=request.user, threshold=data["threshold"]
        )


# --- promotion wallet and health on the store page (accounts/admin.py) ---

MOVEMENT_ROWS = 10


def promotion_wallet_box(store: SellerAccount) -> SafeString:
    """Balance, arrears, threshold and the last movements of the store's wallet (4 queries)."""
    balance_now = wallet_balance(store.pk)
    episode = ArrearsEpisode.objects.filter(store_id=store.pk, cleared_at__isnull=True).first()
    wallet = PromotionWallet.objects.filter(store_id=store.pk).first()
    threshold = wallet.low_balance_threshold if wallet else Decimal("0")
    movements = list(
        PromotionMovement.objects.filter(store_id=store.pk)
        .select_related("actor")
        .order_by("-at", "-id")[: MOVEMENT_ROWS + 1]
    )
    rows = [  # (label, css class, value)
        ("balance", "promotion-balance", signed(balance_now, Currency.CNY)),
        ("arrears owed", "promotion-owed", cny(max(-balance_now, Decimal("0.00")))),
        (
            "in arrears since",
            "promotion-since",
            f"{episode.started_at:%Y-%m-%d %H:%M} UTC" if episode else "not in arrears",
        ),
        (
            "low-balance threshold",
            "promotion-threshold",
            (cny(threshold) + (" (notice sent)" if wallet.low_balance_noticed else ""))
            if threshold
            else "none (no notices)",
        ),
    ]
    summary = format_html_join("", '<tr><th scope="row">{}</th><td class="{}">{}</td></tr>', rows)
    listed = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{m.at:%Y-%m-%d %H:%M}",
                m.get_kind_display(),
                signed(m.amount, Currency.CNY),
                m.get_method_display() or "—",
                admin_link(m, m.reference),
                m.actor.get_username() if m.actor_id else "system",
            )
            for m in movements[:MOVEMENT_ROWS]
        ),
    )
    table = (
        format_html(
            "<table><thead><tr><th>at</th><th>movement</th><th>amount</th><th>method</th>"
            "<th>reference</th><th>by</th></tr></thead><tbody>{}</tbody></table>",
            listed,
        )
        if movements
        else format_html("<p>{}</p>", "No movements yet.")
    )
    links = [changelist_link(PromotionMovement, "All movements…", store__id__exact=store.pk)]
    if episode or ArrearsEpisode.objects.filter(store_id=store.pk).exists():
        links.append(changelist_link(ArrearsEpisode, "Arrears history…", store__id__exact=store.pk))
    return format_html(
        "<table><tbody>{}</tbody></table>{}<p>{}</p>",
        summary,
        table,
        format_html_join(" · ", "{}", ((link,) for link in links)),
    )


def _health_rows(h: Health) -> list[tuple[str, str, str]]:
    s = settings
    return [
        ("operating time", f"{h.operating_days} days", f"≥ {s.EARLY_PAYOUT_MIN_OPERATING_DAYS}"),
        ("paid orders", str(h.orders), f"≥ {s.EARLY_PAYOUT_MIN_ORDERS}"),
        (
            "dispute rate",
            f"{percent(h.dispute_rate)} ({h.disputes} disputes opened)",
            f"≤ {percent(s.EARLY_PAYOUT_MAX_DISPUTE_RATE)} "
            f"(excellent ≤ {percent(s.EXCELLENT_MAX_DISPUTE_RATE)})",
        ),
        (
            "refund rate",
            f"{percent(h.refund_rate)} ({h.refunded_orders} orders refunded)",
            f"≤ {percent(s.EARLY_PAYOUT_MAX_REFUND_RATE)}",
        ),
        (
            "positive ratings",
            f"{percent(h.positive_rate)} (of {h.rated_orders} rated orders)",
            f"≥ {percent(s.EARLY_PAYOUT_MIN_POSITIVE_RATE)} "
            f"(excellent ≥ {percent(s.EXCELLENT_MIN_POSITIVE_RATE)})",
        ),
        ("service points", str(h.service_points), f"≥ {s.EARLY_PAYOUT_MIN_SERVICE_POINTS}"),
        (
            "arrears episodes",
            f"{h.arrears_episodes}" + (" (in arrears now)" if h.in_arrears else ""),
            "none",
        ),
    ]


def health_box(store: SellerAccount, *, now: datetime) -> SafeString:
    """The store's health at ``now`` (one query), each figure beside its early-payout
    threshold, and what the evaluation would decide on them."""
    h = store_health(store, now=now)
    decision = decide(h, frozen=store.status == SellerAccount.Status.FROZEN)
    return format_html(
        "<p>Trailing {} days to {} UTC.</p><table><thead><tr><th>figure</th><th>value</th>"
        "<th>early payout needs</th></tr></thead><tbody>{}</tbody></table>"
        '<p class="health-verdict">On these figures: {}</p>',
        h.window_days,
        f"{now:%Y-%m-%d %H:%M}",
        format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
            _health_rows(h),
        ),
        decision.reason,
    )


DECISION_ROWS = 5


def early_payout_decisions_box(store: SellerAccount) -> SafeString:
    """The terms, the last evaluation and the latest decisions with their figures (2 queries)."""
    terms = EarlyPayoutTerms.objects.filter(store_id=store.pk).first()
    rows = EarlyPayoutDecision.objects.filter(store_id=store.pk).select_related("decided_by")[
        :DECISION_ROWS
    ]
    if terms is None:
        summary = "Not evaluated yet: paid out on confirmation."
    else:
        summary = (
            f"{early_payout_summary_of(terms)} Decided by {terms.get_source_display().lower()}; "
            + (
                f"last evaluated {terms.evaluated_at:%Y-%m-%d %H:%M} UTC."
                if terms.evaluated_at
                else "not evaluated yet."
            )
        )
    return format_html(
        "<p>{}</p>{}<p>{}</p>",
        summary,
        decisions_table(rows, figures=True),
        changelist_link(EarlyPayoutDecision, "All decisions…", store__id__exact=store.pk),
    )


def early_payout_summary_of(terms: EarlyPayoutTerms) -> str:
    if not terms.eligible:
        return f"Not eligible since {terms.since:%Y-%m-%d}: paid out on confirmation."
    return f"Eligible since {terms.since:%Y-%m-%d}, reserve {terms.reserve_rate * 100:.2f} %."
