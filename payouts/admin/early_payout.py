"""Early-payout terms (changed through ``early_payout_set``) and the decisions that set them."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerAccount
from backoffice.admin_helpers import NOTE_WIDGET, ReadOnlyAdmin, always, autocomplete, percent
from backoffice.admin_transitions import ObjectAction, TransitionAdminMixin
from backoffice.forms import StrictDecimalField
from payouts.models import EarlyPayoutDecision, EarlyPayoutTerms
from payouts.services import early_payout_set

TERMS_PERM = "payouts.change_earlypayoutterms"


class TermsForm(forms.Form):
    eligible = forms.BooleanField(
        required=False,
        help_text=_(
            "Orders are paid out early (after shipment + delay). Losing eligibility "
            "schedules the release of the reserve."
        ),
    )
    reserve_rate = StrictDecimalField(
        label=_("Reserve rate"),
        min_value=0,
        max_value=Decimal("0.9999"),
        decimal_places=4,
        # xgettext:no-python-format
        help_text=_("A fraction: 0.10 holds 10 % of each early payout as a deposit."),
    )
    reason = forms.CharField(
        max_length=300, widget=NOTE_WIDGET, help_text=_("Kept with the decision.")
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
            _("Change terms"),
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

    @admin.display(description=_("reserve rate"), ordering="reserve_rate")
    def reserve(self, terms: EarlyPayoutTerms) -> str:
        return f"{terms.reserve_rate * 100:.2f} %"

    @admin.display(description=_("decisions (latest first)"))
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

    @admin.display(description=_("reserve rate"), ordering="reserve_rate")
    def reserve(self, decision: EarlyPayoutDecision) -> str:
        return f"{decision.reserve_rate * 100:.2f} %"
