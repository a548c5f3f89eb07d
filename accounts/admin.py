"""Admin for seller accounts, users, API tokens and notices. State changes and creation go
through ``accounts.services``; the state field is never in a form.

A store's page says why it is frozen (what it owes and what lifts the freeze); its details page
(opened in place from the change page) shows its holds, health, early-payout decisions,
promotion wallet, notices and money to the staff who may see them."""

from dataclasses import dataclass
from typing import Any

from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.models import AccountTransition, ApiToken, Notice, SellerAccount, User
from accounts.selectors import ACTIVE_HOLDS, NOTICE_PERM, HoldInfo, freeze_info
from accounts.services import (
    DEFAULT_RATE,
    EDITABLE_FIELDS,
    api_token_create,
    api_token_revoke,
    clean_account_fields,
    seller_account_close,
    seller_account_create,
    seller_account_freeze,
    seller_account_unfreeze,
    seller_account_update,
    user_save,
)
from backoffice import clock
from backoffice.admin_transitions import (
    FieldChangeInline,
    HistoryInline,
    LabelledSplitDateTime,
    ObjectAction,
    TransitionAdminMixin,
    bulk_action,
    validate_with,
)
from backoffice.autoaction import next_action_cell
from backoffice.forms import StrictDecimalField
from backoffice.fsm import TransitionCheck
from backoffice.money import Currency, Money
from payouts.admin import (
    DECISION_VIEW_PERM,
    MONEY_VIEW_PERM,
    PROMOTION_VIEW_PERM,
    ReadOnlyAdmin,
    balances_table,
    changelist_link,
    early_payout_decisions_box,
    early_payout_summary,
    health_box,
    promotion_wallet_box,
    reserve_schedule_table,
    running_totals,
    store_money_links,
)
from payouts.admin.statement import statement_view
from payouts.arrears import open_arrears_since
from payouts.health import annotated_health, health_annotations
from payouts.models import STORE_ACCOUNTS, Account
from payouts.schema_types import (
    ARREARS_HELD_ATTR,
    OPEN_ARREARS_ATTR,
    PROMOTION_ATTR,
    STORE_CLOCK_ANNOTATIONS,
    store_auto_action_of,
)
from payouts.selectors import balance_annotation

NOTE_WIDGET = forms.Textarea(attrs={"rows": 3, "cols": 60})


HOLD_REASONS = SellerAccount.FreezeReason.choices


class FreezeForm(forms.Form):
    reason = forms.ChoiceField(choices=SellerAccount.FreezeReason.choices)
    note = forms.CharField(required=False, widget=NOTE_WIDGET, help_text=_("Kept in the history."))


class UnfreezeForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[("", _("The only hold (or the only one besides arrears)")), *HOLD_REASONS],
        required=False,
        label=_("Hold to lift"),
        help_text=_(
            "Lifting one hold leaves the others: the store stays frozen until none is left. "
            "The arrears hold is lifted by the top-up that pays them."
        ),
    )
    note = forms.CharField(required=False, widget=NOTE_WIDGET, help_text=_("Kept in the history."))

    def clean_reason(self) -> str | None:
        return self.cleaned_data["reason"] or None


class CloseForm(forms.Form):
    reason = forms.ChoiceField(choices=SellerAccount.CloseReason.choices)
    note = forms.CharField(required=False, widget=NOTE_WIDGET, help_text=_("Kept in the history."))


class SellerAccountCreateForm(forms.Form):
    platform_store_id = forms.CharField(label=_("Platform store id"), max_length=32)
    name = forms.CharField(max_length=200)
    opened_at = forms.SplitDateTimeField(
        label=_("Opened at"),
        required=False,
        widget=LabelledSplitDateTime,
        help_text=_("Start of the store's operating time; empty for now (UTC)."),
    )
    settlement_currency = forms.ChoiceField(choices=Currency.CHOICES, initial=Currency.USD)


MONEY_FIELDS = ("balances", "early_payout_terms", "reserve_schedule")


@dataclass(frozen=True)
class DetailSection:
    """One panel of the store's details page: its key (``data-section``), title, the
    ``SellerAccountAdmin`` display methods it shows and an optional description."""

    key: str
    title: Any
    fields: tuple[str, ...]
    description: SafeString | str = ""


class AccountHistoryInline(HistoryInline):
    model = AccountTransition


class SellerAccountChangeForm(forms.ModelForm):
    """The store's editable fields, checked as the update service checks them."""

    commission_rate = StrictDecimalField(
        label=_("Commission rate"),
        required=False,
        decimal_places=4,
        help_text=_(
            "Platform commission taken when escrow is released (0 to below 1, e.g. 0.0500); "
            "empty: the platform's default. A change applies to releases from now on."
        ),
    )

    class Meta:
        model = SellerAccount
        fields = EDITABLE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        validate_with(self, clean_account_fields, list(EDITABLE_FIELDS))
        return cleaned


OPEN_DISPUTE_STATES = ("open", "responded", "arbitration", "awaiting_return")


def list_annotations() -> dict[str, Any]:
    """The stores list's balances and open disputes, as subqueries (none per row)."""
    from disputes.models import Dispute  # disputes imports accounts: read it late

    open_disputes = (
        Dispute.objects.filter(store=OuterRef("pk"), status__in=OPEN_DISPUTE_STATES)
        .order_by()
        .values("store")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {
        "list_available": balance_annotation(Account.AVAILABLE),
        "list_escrow": balance_annotation(Account.ESCROW),
        "list_promotion": balance_annotation(Account.PROMOTION),
        "list_debt": balance_annotation(Account.DEBT),
        "list_reserve": balance_annotation(Account.RESERVE),
        "list_open_disputes": Coalesce(Subquery(open_disputes), 0),
    }


def _is_changelist(request: HttpRequest, opts: Any) -> bool:
    """Whether ``request`` is for the model's list (or its actions), the one page with the
    list's health column."""
    match = getattr(request, "resolver_match", None)
    return match is None or match.url_name == f"{opts.app_label}_{opts.model_name}_changelist"


def money_cell(amount: Any, currency: str) -> SafeString:
    return format_html('<span class="money">{}</span>', str(Money(amount, currency)))


class ArrearsFilter(admin.SimpleListFilter):
    """Stores that owe: a promotion wallet below zero or refund debt."""

    title = _("arrears")
    parameter_name = "arrears"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("in arrears")), ("no", _("not in arrears"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        owes = Q(list_promotion__lt=0) | Q(list_debt__lt=0)
        if self.value() == "yes":
            return queryset.filter(owes)
        if self.value() == "no":
            return queryset.exclude(owes)
        return queryset


@admin.register(SellerAccount)
class SellerAccountAdmin(TransitionAdminMixin, admin.ModelAdmin):
    service_id_arg = "account_id"
    object_actions = {
        "freeze": ObjectAction(
            _("Freeze"), seller_account_freeze, "accounts.freeze_selleraccount", form=FreezeForm
        ),
        "unfreeze": ObjectAction(
            _("Unfreeze"), seller_account_unfreeze, "accounts.unfreeze_selleraccount", UnfreezeForm
        ),
        "close": ObjectAction(
            _("Close"), seller_account_close, "accounts.close_selleraccount", form=CloseForm
        ),
    }
    actions = [
        bulk_action("freeze", _("Freeze selected stores (risk review)"), reason="risk"),
        bulk_action(
            "unfreeze",
            _("Unfreeze selected stores (lift their only hold, or the one besides arrears)"),
        ),
        bulk_action("close", _("Close selected stores (risk decision)"), reason="risk"),
    ]
    service_add_form = SellerAccountCreateForm

    # Fits 1440 px: the platform store id shows on hover over the name, the health's figures
    # on the store's page.
    list_display = (
        "store_name",
        "status",
        "frozen_for",
        "available",
        "escrow",
        "owed",
        "open_disputes",
        "health",
        "next_action",
    )
    list_filter = (
        "status",
        ArrearsFilter,
        "settlement_currency",
        "freeze_reason",
        "close_reason",
    )
    search_fields = ("name", "=platform_store_id")
    date_hierarchy = "opened_at"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "platform_store_id",
                    "status",
                    "settlement_currency",
                    "commission_rate",
                )
            },
        ),
        (_("Notices"), {"fields": ("language",)}),
        (_("Operating time"), {"fields": ("opened_at",)}),
        (
            _("Freeze and closure"),
            {
                "fields": (
                    "next_action",
                    "freeze_reason",
                    "frozen_at",
                    "close_reason",
                    "closed_at",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    # Only descriptive fields are edited here; the state and its fields move through services.
    readonly_fields = (
        "platform_store_id",
        "status",
        "next_action",
        "freeze_reason",
        "frozen_at",
        "close_reason",
        "closed_at",
        "created_at",
        "updated_at",
    )
    table_inlines = (AccountHistoryInline, FieldChangeInline)
    form = SellerAccountChangeForm
    change_form_template = "admin/backoffice/store_change_form.html"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Why an existing store is frozen (everyone who sees the store) right below its name;
        the longer panels are on the store's details page (:meth:`details_sections`), which the
        change page opens in place."""
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.status == SellerAccount.Status.FROZEN:
            fieldsets.insert(1, (gettext("Why is this store frozen"), {"fields": ("frozen_why",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "frozen_why")

    def details_sections(self, request: HttpRequest, store: SellerAccount) -> list[DetailSection]:
        """The store's longer panels, each for the staff who may see it: its holds (everyone),
        health (everyone; the decisions behind its early-payout terms for staff who may view
        them), promotion wallet and notices (staff with those view permissions) and money (staff
        who may read the ledger: finance, risk)."""
        user = request.user
        sections = [DetailSection("holds", _("Holds"), ("holds_history",))]
        health = ("health_figures", "decisions_box") if user.has_perm(DECISION_VIEW_PERM) else ()
        sections.append(DetailSection("health", _("Health"), health or ("health_figures",)))
        if user.has_perm(PROMOTION_VIEW_PERM):
            sections.append(DetailSection("wallet", _("Promotion wallet"), ("wallet_box",)))
        if user.has_perm(NOTICE_PERM):
            sections.append(DetailSection("notices", _("Notices"), ("notices_box",)))
        if user.has_perm(MONEY_VIEW_PERM):
            links = store_money_links(user, store)
            sections.append(DetailSection("money", _("Money"), MONEY_FIELDS, links))
        return sections

    def details_context(self, request: HttpRequest, store: SellerAccount) -> dict[str, Any]:
        """Every panel of the details page, rendered once, with its field's label."""
        panels = []
        for section in self.details_sections(request, store):
            rows = []
            for name in section.fields:
                display = getattr(self, name)
                rows.append((name, capfirst(display.short_description), display(store)))
            panels.append((section, rows))
        return {"details_panels": panels}

    def details(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The store's details page: the panels the change page opens in place (one click), for
        whoever may see the store, each panel checked as above."""
        store = self.get_object(request, unquote(object_id))
        if store is None:
            raise Http404(gettext("No store with this id."))
        if not self.has_view_or_change_permission(request, store):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": store,
            "title": gettext("Details of %(store)s") % {"store": store},
            "change_url": self.change_url(store),
            **self.details_context(request, store),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/backoffice/store_details.html", context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_GET(self.statement))
        details = self.admin_site.admin_view(require_GET(self.details))
        return [
            path("<path:object_id>/statement/", view, name="accounts_selleraccount_statement"),
            path("<path:object_id>/details/", details, name="accounts_selleraccount_details"),
            *super().get_urls(),
        ]

    def statement(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The store's monthly statement and its downloads (payouts/admin/statement.py)."""
        return statement_view(request, object_id, self.admin_site.each_context(request))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).prefetch_related(ACTIVE_HOLDS)
        if not _is_changelist(request, self.opts):
            # One store (its pages, an action, the autocomplete): the list's subqueries cost
            # more than reading one store's figures after it is found (see get_object).
            return queryset.select_related("early_payout").annotate(
                list_open_disputes=list_annotations()["list_open_disputes"],
                **{OPEN_ARREARS_ATTR: open_arrears_since()},
            )
        # The list's money, health and clock (the wallet and its open arrears) columns:
        # subqueries in the page's query, none per row.
        annotations = {name: make(None) for name, make in STORE_CLOCK_ANNOTATIONS.items()}
        health = health_annotations(clock.now())
        return queryset.annotate(**annotations, **list_annotations(), **health)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        store = super().get_object(request, object_id, from_field)
        if store is not None and not hasattr(store, "list_available"):
            load_store_figures(store)
        return store

    def change_form_context(self, request: HttpRequest, obj: SellerAccount) -> dict[str, Any]:
        summary = {
            "summary_card": self.summary_card(request, obj),
            "details_url": reverse(
                "admin:accounts_selleraccount_details",
                args=[quote(obj.pk)],
                current_app=self.admin_site.name,
            ),
        }
        return {**super().change_form_context(request, obj), **summary}

    def summary_card(self, request: HttpRequest, store: SellerAccount) -> list[tuple]:
        """The top of the store's page: (key, label, value) for status, balances (for those who
        may read the ledger), what it owes, open disputes, reserve and the next automatic
        action, from the page's own annotations."""
        card = [("status", _("status"), self.status_text(store))]
        if request.user.has_perm(MONEY_VIEW_PERM):
            card += [
                ("available", _("available"), self.available(store)),
                ("escrow", _("escrow"), self.escrow(store)),
                ("reserve", _("reserve"), money_cell(store.list_reserve, Currency.USD)),
            ]
        card += [
            ("owed", _("owed"), self.owed(store)),
            ("open-disputes", _("open disputes"), self.open_disputes(store)),
            ("reserve-rate", _("early payout"), early_payout_summary(store)),
            ("next-action", _("next automatic action"), self.next_action(store)),
        ]
        return card

    def status_text(self, store: SellerAccount) -> str:
        reasons = self.frozen_for(store)
        status = store.get_status_display()
        return f"{status} ({reasons})" if reasons != "-" else status

    @admin.display(description=_("store"), ordering="name")
    def store_name(self, account: SellerAccount) -> SafeString:
        return format_html('<span title="{}">{}</span>', account.platform_store_id, account.name)

    @admin.display(description=_("available"), ordering="list_available")
    def available(self, account: SellerAccount) -> SafeString:
        return money_cell(account.list_available, Currency.USD)

    @admin.display(description=_("escrow"), ordering="list_escrow")
    def escrow(self, account: SellerAccount) -> SafeString:
        return money_cell(account.list_escrow, Currency.USD)

    @admin.display(description=_("owed"))
    def owed(self, account: SellerAccount) -> SafeString | str:
        """What the store owes: promotion arrears (CNY) and refund debt (USD)."""
        parts = []
        if account.list_promotion < 0:
            parts.append(money_cell(-account.list_promotion, Currency.CNY))
        if account.list_debt < 0:
            parts.append(money_cell(-account.list_debt, Currency.USD))
        if not parts:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in parts))

    @admin.display(description=_("open disputes"), ordering="list_open_disputes")
    def open_disputes(self, account: SellerAccount) -> SafeString | str:
        if not account.list_open_disputes:
            return "0"
        url = reverse("admin:disputes_dispute_changelist")
        query = f"store__id__exact={account.pk}&status__in={','.join(OPEN_DISPUTE_STATES)}"
        return format_html('<a href="{}?{}">{}</a>', url, query, account.list_open_disputes)

    @admin.display(description=_("health"))
    def health(self, account: SellerAccount) -> SafeString | str:
        """The trailing window's dispute rate, with the other figures on hover."""
        h = annotated_health(account, now=clock.now())
        if h is None:
            return "—"
        rate = f"{h.dispute_rate * 100:.1f} %" if h.dispute_rate is not None else "—"
        title = gettext(
            "%(orders)s orders, %(disputes)s disputes, %(points)s service points in %(days)s days"
        ) % {
            "orders": h.orders,
            "disputes": h.disputes,
            "points": h.service_points,
            "days": h.window_days,
        }
        return format_html('<span title="{}" data-health="{}">{}</span>', title, rate, rate)

    @admin.display(description=_("next automatic action"))
    def next_action(self, account: SellerAccount) -> SafeString | str:
        return next_action_cell(store_auto_action_of(account))

    @admin.display(description=_("frozen for"))
    def frozen_for(self, account: SellerAccount) -> str:
        """Every active hold's reason (several holds: several reasons)."""
        return ", ".join(str(h.get_reason_display()) for h in account.active_holds()) or "-"

    @admin.display(description=_("holds"))
    def holds_history(self, account: SellerAccount) -> SafeString | str:
        """Every hold the store had, active and lifted: who placed and lifted each, when, why."""
        holds = account.holds.select_related("placed_by", "lifted_by").order_by("placed_at", "id")
        rows = [
            (
                hold.get_reason_display(),
                f"{hold.placed_at:%Y-%m-%d %H:%M}",
                _who(hold.placed_by),
                hold.note,
                f"{hold.lifted_at:%Y-%m-%d %H:%M}" if hold.lifted_at else gettext("active"),
                _who(hold.lifted_by) if hold.lifted_at else "",
                hold.lift_note,
            )
            for hold in holds
        ]
        if not rows:
            return gettext("The store was never frozen.")
        head = [
            gettext(h)
            for h in ("reason", "placed (UTC)", "by", "note", "lifted (UTC)", "by", "note")
        ]
        return format_html(
            '<table class="store-holds"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            format_html_join("", "<th>{}</th>", ((h,) for h in head)),
            format_html_join(
                "",
                "<tr>{}</tr>",
                ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows),
            ),
        )

    @admin.display(description=_("why"))
    def frozen_why(self, account: SellerAccount) -> SafeString | str:
        """Each hold: its reason, since when, by whom, the note, what is owed, what lifts it."""
        info = freeze_info(account)
        if info is None:
            return gettext("The store is not frozen.")
        return format_html(
            "<p>{}</p>{}",
            gettext("Frozen since %(since)s UTC; lifting one hold leaves the others.")
            % {"since": f"{info.since:%Y-%m-%d %H:%M}"},
            format_html_join("", "{}", ((hold_table(hold),) for hold in info.holds)),
        )

    # (named apart from the store's reverse relations: the admin would show those instead)
    @admin.display(description=_("health"))
    def health_figures(self, account: SellerAccount) -> SafeString:
        return health_box(account, now=clock.now())

    @admin.display(description=_("early payout"))
    def decisions_box(self, account: SellerAccount) -> SafeString:
        return early_payout_decisions_box(account)

    @admin.display(description=_("wallet (CNY)"))
    def wallet_box(self, account: SellerAccount) -> SafeString:
        return promotion_wallet_box(account)

    @admin.display(description=_("newest first"))
    def notices_box(self, account: SellerAccount) -> SafeString:
        return notices_table(account)

    @admin.display(description=_("balances"))
    def balances(self, account: SellerAccount) -> SafeString:
        return balances_table(account.pk, getattr(account, "running_totals", None))

    @admin.display(description=_("early payout"))
    def early_payout_terms(self, account: SellerAccount) -> str:
        return early_payout_summary(account)

    @admin.display(description=_("reserve schedule"))
    def reserve_schedule(self, account: SellerAccount) -> SafeString:
        return reserve_schedule_table(account.pk)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # stores are closed, never deleted: orders and money refer to them

    def save_model(
        self, request: HttpRequest, obj: SellerAccount, form: forms.ModelForm, change: bool
    ) -> None:
        """A Save of an existing store goes through the audited update service."""
        if not change:
            return super().save_model(request, obj, form, change)
        fields = {f: form.cleaned_data[f] for f in form.changed_data if f in EDITABLE_FIELDS}
        if "commission_rate" in fields and fields["commission_rate"] is None:
            fields["commission_rate"] = DEFAULT_RATE  # emptied: back to the platform's rate
        seller_account_update(account_id=obj.pk, actor=request.user, **fields)
        return None

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> SellerAccount:
        return seller_account_create(actor=request.user, **data)


def load_store_figures(store: SellerAccount) -> None:
    """What one store's pages read beside the store, as the list's annotations name them: its
    running totals (one query: the five balances and the commission taken), the clock's wallet
    balance and arrears hold (from the prefetched active holds)."""
    totals = running_totals(store.pk)
    store.running_totals = totals
    for account in STORE_ACCOUNTS:
        setattr(store, f"list_{account}", totals[account])
    setattr(store, PROMOTION_ATTR, totals[Account.PROMOTION])
    arrears = SellerAccount.FreezeReason.ARREARS
    setattr(store, ARREARS_HELD_ATTR, any(h.reason == arrears for h in store.active_holds()))


def _who(user: Any) -> str:
    return user.get_username() if user else gettext("system")


def hold_table(hold: HoldInfo) -> SafeString:
    rows = [
        (gettext("reason"), "freeze-reason", hold.reason_label),
        (gettext("held since"), "freeze-since", f"{hold.since:%Y-%m-%d %H:%M} UTC"),
        (
            gettext("by"),
            "freeze-by",
            _who(hold.placed_by),
        ),
    ]
    if hold.note:
        rows.append((gettext("note"), "freeze-note", hold.note))
    if hold.owed is not None:
        rows.append((gettext("promotion arrears owed"), "freeze-owed", f"CNY {hold.owed:,.2f}"))
    rows.append((gettext("what lifts it"), "freeze-lifted-by", hold.lifted_by))
    return format_html(
        '<table class="store-hold"><tbody>{}</tbody></table>',
        format_html_join("", '<tr><th scope="row">{}</th><td class="{}">{}</td></tr>', rows),
    )


class UserKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("staff", "Staff"), ("seller", "Seller users")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "staff":
            return queryset.filter(is_staff=True)
        if self.value() == "seller":
            return queryset.filter(store__isnull=False)
        return queryset


@admin.register(User)
class BackofficeUserAdmin(UserAdmin):
    """Staff (roles are groups) and seller users (bound to one store, never staff: the
    database refuses a user that is both)."""

    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Store"), {"fields": ("store",), "description": _("Only for seller users.")}),
        (_("Language"), {"fields": ("language",)}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (_("Store"), {"fields": ("store",), "description": _("Only for seller users.")}),
    )
    list_display = ("username", "email", "store", "is_staff", "roles", "is_active")
    list_filter = (UserKindFilter, "is_staff", "is_superuser", "is_active", "groups")
    search_fields = (
        "username",
        "first_name",
        "last_name",
        "email",
        "store__name",
        "=store__platform_store_id",
    )
    list_select_related = ("store",)
    autocomplete_fields = ("store",)
    inlines = (FieldChangeInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        return ", ".join(sorted(g.name for g in user.groups.all()))

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Saved with its roles in :meth:`save_related`, through the audited service."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        user_save(actor=request.user, user=form.instance, save_relations=form.save_m2m)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


def token_revocable(token: ApiToken, user: Any) -> TransitionCheck | None:
    if not token.is_active:
        return None
    if token.user_id != user.pk and not user.is_superuser:
        return TransitionCheck(
            "revoke", False, gettext("Only its owner or a superuser can revoke it.")
        )
    return TransitionCheck("revoke", True)


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text=_("The token is yours: it acts with your permissions.")
    )


@admin.register(ApiToken)
class ApiTokenAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """Read-only: the hash is never shown. A token is created for the signed-in user and its
    text shown once; revoking goes through the service."""

    service_id_arg = "token_id"
    object_actions = {
        "revoke": ObjectAction(
            _("Revoke"), api_token_revoke, "accounts.view_apitoken", check=token_revocable
        ),
    }
    actions = [bulk_action("revoke", _("Revoke selected tokens"))]
    service_add_form = ApiTokenCreateForm

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "=prefix", "user__username")
    list_select_related = ("user",)
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    exclude = ("key_hash",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Superusers see every token, other staff their own (as the revoke service does)."""
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the row records that the token existed

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> tuple[ApiToken, str]:
        return api_token_create(actor=request.user, name=data["name"])

    def response_created(self, request: HttpRequest, created: tuple[ApiToken, str]) -> HttpResponse:
        token, plaintext = created
        self.log_addition(request, token, [{"added": {}}])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Token {token.name} created",
            "token": token,
            "plaintext": plaintext,
        }
        response = TemplateResponse(request, "admin/backoffice/apitoken_created.html", context)
        add_never_cache_headers(response)
        return response


# --- notices ---

NOTICE_ROWS = 10


def notices_table(store: SellerAccount) -> SafeString:
    """The store's latest notices, newest first (one query)."""
    rows = list(Notice.objects.filter(store_id=store.pk)[: NOTICE_ROWS + 1])
    if not rows:
        return format_html("{}", "No notices yet.")
    body = format_html_join(
        "",
        '<tr class="notice notice-{}"><td>{}</td><td>{}</td><td><strong>{}</strong><br>{}</td>'
        "<td>{}</td></tr>",
        (
            (
                n.kind,
                f"{n.created_at:%Y-%m-%d %H:%M}",
                n.get_kind_display(),
                n.title,
                n.body,
                ", ".join(n.emailed_to) or "—",
            )
            for n in rows[:NOTICE_ROWS]
        ),
    )
    more = (
        format_html("<p>{}</p>", changelist_link(Notice, "All notices…", store__id__exact=store.pk))
        if len(rows) > NOTICE_ROWS
        else ""
    )
    return format_html(
        "<table><thead><tr><th>at</th><th>kind</th><th>notice</th><th>e-mailed to</th></tr>"
        "</thead><tbody>{}</tbody></table>{}",
        body,
        more,
    )


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """What the stores were told (freeze, unfreeze, close, low promotion balance, early payout,
    dispute deadlines) and to whom it was e-mailed, with the e-mail's delivery status (sent by
    the ``notices.send_emails`` job, retried): written by the services, read-only here."""

    list_display = ("created_at", "store", "kind", "title", "emailed", "email_status")
    list_filter = ("kind", "email_status", ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "store__name", "=store__platform_store_id")
    date_hierarchy = "created_at"
    list_select_related = ("store",)
    fields = ("store", "kind", "title", "body", "created_at", "emailed", "email_status")
    fields += ("email_attempts", "email_last_error", "email_next_attempt_at", "emailed_at")
    readonly_fields = fields

    @admin.display(description=_("e-mailed to"))
    def emailed(self, notice: Notice) -> str:
        return ", ".join(notice.emailed_to) or "—"


@admin.register(AccessAttempt)
class SignInLockoutAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins (settings: AXES_ENABLE_ADMIN is off so that these are
    registered here). A row is one username from one address; ``failures`` at the limit is a
    lockout. **Unlock** forgets the selected rows' failures: staff with
    ``axes.delete_accessattempt`` (the support role) may use it."""

    actions = [*AccessAttemptAdmin.actions, "unlock"]

    @admin.action(description=_("Unlock: forget these failed sign-ins"), permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        pairs = sorted({f"{a.username} ({a.ip_address})" for a in queryset})
        queryset.delete()
        self.message_user(request, gettext("Unlocked: %(who)s.") % {"who": ", ".join(pairs)})


admin.site.register(AccessLog, AccessLogAdmin)
