"""Admin for money: the ledger (read-only), payouts, exchange rates, early-payout terms, the
reserve ("deposit inquiry") and refunds.

Every write goes through ``payouts.services`` as the signed-in user: payout requests and their
settlement, exchange rates, early-payout terms. Ledger postings and entries, reserve holds,
refunds and decisions are records of what happened: nobody adds, changes or deletes them here
(the database refuses updates and deletes of ledger rows anyway). Sums of ledger amounts are
always read through :func:`payouts.ledger.exact` (SQLite sums decimals as floats).

The store and order pages (accounts/admin.py, orders/admin.py) show money through the helpers
and inlines at the end of this module.
"""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelect
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from accounts.models import SellerAccount
from backoffice.admin_transitions import (
    HistoryInline,
    ObjectAction,
    ReadOnlyInline,
    TransitionAdminMixin,
    bulk_action,
)
from backoffice.fsm import TransitionCheck
from backoffice.money import Currency, Money
from payouts.ledger import exact, store_balances
from payouts.models import (
    STORE_ACCOUNTS,
    Account,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    LedgerEntry,
    Payout,
    PayoutTransition,
    Posting,
    Refund,
    ReserveHold,
)
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
class LedgerEntryAdmin(ReadOnlyAdmin):
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
class PayoutAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """Payouts are requested (add) and settled (buttons, bulk) through the services only."""

    service_id_arg = "payout_id"
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


def decisions_table(rows: Any) -> SafeString:
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{d.decided_at:%Y-%m-%d %H:%M}",
                "eligible" if d.eligible else "not eligible",
                f"{d.reserve_rate * 100:.2f} %",
                d.get_source_display(),
                d.decided_by.get_username() if d.decided_by_id else "system",
                d.reason,
            )
            for d in rows
        ),
    )
    if not body:
        return format_html("{}", "None yet.")
    return format_html(
        "<table><thead><tr><th>at</th><th>decision</th><th>reserve</th><th>source</th>"
        "<th>by</th><th>reason</th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


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
    if not terms.eligible:
        return f"Not eligible since {terms.since:%Y-%m-%d}: paid out on confirmation."
    return f"Eligible since {terms.since:%Y-%m-%d}, reserve {terms.reserve_rate * 100:.2f} %."


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
