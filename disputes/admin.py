"""Admin for disputes: a work queue sorted by deadline, with buttons that run
``disputes.services`` as the signed-in user. Nothing on a dispute is edited in a form: it is
opened through ``dispute_open`` (the add view) and moved by the buttons and the bulk action.

Who sees which button follows the roles (accounts/roles.py): support responds for the seller
(accept, reject, propose, confirm return) and acts for the buyer (accept a proposal, escalate,
withdraw); risk arbitrates. The service checks again, deadlines included, and a refusal is
shown as a message with nothing changed.
"""

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Case, F, IntegerField, QuerySet, When
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice import autoaction, clock
from backoffice.admin_sources import ImportedFromMixin
from backoffice.admin_transitions import (
    HistoryInline,
    ObjectAction,
    ReadOnlyInline,
    TransitionAdminMixin,
    bulk_action,
)
from backoffice.autoaction import due_badge
from backoffice.exports import ExportAdminMixin
from backoffice.forms import StrictDecimalField
from backoffice.fsm import check_transition
from disputes.models import Dispute, DisputeTransition, Fault, Reason
from disputes.resources import DisputeResource
from disputes.selectors import arbitration_overdue, auto_action, due, next_automatic_at
from disputes.services import (
    dispute_accept,
    dispute_accept_proposal,
    dispute_confirm_return,
    dispute_escalate,
    dispute_open,
    dispute_propose,
    dispute_reject,
    dispute_resolve,
    dispute_withdraw,
)
from orders.models import Order
from payouts.admin import admin_link, autocomplete, money

RESPOND_PERM = "disputes.respond_dispute"
BUYER_PERM = "disputes.act_for_buyer"
ARBITRATE_PERM = "disputes.arbitrate_dispute"
OPEN_PERM = "disputes.open_dispute"
REFUND_VIEW_PERM = "payouts.view_refund"


def note_field(help_text: str = "Kept in the dispute's timeline.") -> forms.CharField:
    return forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=help_text,
    )


RETURN_HELP = (
    "The buyer sends the goods back first; the refund is paid when the seller confirms the "
    "return. Always so for a protected order's dispute outside the protection's scope."
)


class NoteForm(forms.Form):
    note = note_field()


class AcceptForm(forms.Form):
    return_required = forms.BooleanField(
        label=_("Return required"), required=False, help_text=RETURN_HELP
    )
    note = note_field()


class RejectForm(forms.Form):
    note = note_field("The seller's reason, kept in the timeline. Nothing is refunded for now.")


class ProposeForm(forms.Form):
    # Amounts are checked by the service (its errors come back as messages).
    amount = StrictDecimalField(
        label=_("Proposed refund"),
        help_text=_("USD, below the requested refund (0 rejects outright)."),
    )
    note = note_field()


class ResolveForm(forms.Form):
    amount = StrictDecimalField(
        label=_("Refund"), help_text=_("USD, from 0 up to the refund the buyer requested.")
    )
    fault = forms.ChoiceField(choices=Fault.choices)
    return_required = forms.BooleanField(
        label=_("Return required"), required=False, help_text=RETURN_HELP
    )
    note = note_field("The platform's decision, kept in the timeline.")


class DisputeOpenForm(forms.Form):
    order = forms.ModelChoiceField(
        Order.objects.all(),
        widget=autocomplete(Dispute, "order"),
        help_text=_("A paid, shipped or recently completed order without an open dispute."),
    )
    reason = forms.ChoiceField(choices=Reason.choices)
    # Left to the service: more than 0, at most what the order can still refund, cents only.
    requested_refund = StrictDecimalField(label=_("Requested refund"), help_text=_("USD."))
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("The buyer's words; kept in the timeline."),
    )
    platform_dispute_id = forms.CharField(
        label=_("Platform dispute id"), max_length=32, required=False
    )


def resolve_effect(dispute: Dispute, data: dict[str, Any]) -> str:
    """What a decision pays: the refund and who pays it (the waterfall is the service's)."""
    amount = data.get("amount")
    if amount is None:
        return gettext("The refund you decide is paid to the buyer.")
    if not amount:
        return gettext("No money moves: no refund.")
    if dispute.protected:
        source = gettext("the after-sales protection fund (or %(store)s, outside its scope)")
    else:
        source = gettext("%(store)s (escrow, then available, reserve; the rest becomes debt)")
    text = gettext("%(money)s refund to the buyer from %(source)s") % {
        "money": money(amount),
        "source": source % {"store": dispute.store.name},
    }
    if data.get("return_required"):
        text += gettext(", once the seller confirms the returned goods")
    return text


def transition_check(transition: str) -> Any:
    """An admin action named differently from the transition it runs (reject and propose both
    run ``respond``; resolve runs ``decide``)."""
    return lambda dispute, user: check_transition(dispute, transition, user)


def closed_last() -> Case:
    """1 for a dispute that is over (resolved or withdrawn), else 0: sorts closed ones last."""
    over = (Dispute.Status.RESOLVED, Dispute.Status.CANCELLED)
    return Case(When(status__in=over, then=1), default=0, output_field=IntegerField())


def due_text(dispute: Dispute, now: datetime) -> str:
    """What happens by itself and when, relative to ``now``; empty when nothing does."""
    return autoaction.due_text(auto_action(dispute), now)


class DueFilter(admin.SimpleListFilter):
    """When the next automatic action (auto_action) falls, relative to the clock."""

    title = _("due")
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("overdue", "overdue"),
            ("24h", "due in the next 24 h"),
            ("7d", "due in the next 7 days"),
            ("arbitration_overdue", _("arbitration overdue (past ARBITRATION_SLA_DAYS)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = clock.now()
        if self.value() == "overdue":
            return due(queryset, until=now)
        if self.value() == "arbitration_overdue":
            return arbitration_overdue(queryset, now=now)
        if self.value() == "24h":
            return due(queryset, after=now, until=now + timedelta(hours=24))
        if self.value() == "7d":
            return due(queryset, after=now, until=now + timedelta(days=7))
        return queryset


class DisputeHistoryInline(HistoryInline):
    model = DisputeTransition
    fields = ("transition", "change", "amount_usd", "by", "at", "note")
    readonly_fields = fields
    verbose_name = _("timeline entry")
    verbose_name_plural = _("timeline")

    @admin.display(description=_("amount"))
    def amount_usd(self, row: DisputeTransition) -> str:
        return money(row.amount)


@admin.register(Dispute)
class DisputeAdmin(ImportedFromMixin, TransitionAdminMixin, ExportAdminMixin, admin.ModelAdmin):
    service_id_arg = "dispute_id"
    resource_classes = [DisputeResource]  # export only (backoffice/exports.py)
    object_actions = {
        "accept": ObjectAction(_("Accept"), dispute_accept, RESPOND_PERM, form=AcceptForm),
        "reject": ObjectAction(
            _("Reject"),
            dispute_reject,
            RESPOND_PERM,
            form=RejectForm,
            check=transition_check("respond"),
        ),
        "propose": ObjectAction(
            _("Propose"),
            dispute_propose,
            RESPOND_PERM,
            form=ProposeForm,
            check=transition_check("respond"),
        ),
        "accept_proposal": ObjectAction(
            _("Accept proposal"), dispute_accept_proposal, BUYER_PERM, form=AcceptForm
        ),
        "escalate": ObjectAction(_("Escalate"), dispute_escalate, BUYER_PERM, form=NoteForm),
        "resolve": ObjectAction(
            _("Resolve (arbitration)"),
            dispute_resolve,
            ARBITRATE_PERM,
            form=ResolveForm,
            check=transition_check("decide"),
            effect=resolve_effect,
        ),
        "withdraw": ObjectAction(_("Withdraw"), dispute_withdraw, BUYER_PERM, form=NoteForm),
        "confirm_return": ObjectAction(
            _("Confirm return"), dispute_confirm_return, RESPOND_PERM, form=NoteForm
        ),
    }
    actions = [bulk_action("escalate", _("Escalate selected disputes to arbitration"))]
    service_add_form = DisputeOpenForm

    # The work queue: open disputes by their next deadline (the most urgent first), closed
    # ones (resolved, withdrawn) last, newest first (get_ordering).
    list_display = (
        "dispute",
        "order_number",
        "store",
        "reason",
        "requested",
        "status_cell",
        "protected",
        "due_column",
    )
    list_filter = (
        DueFilter,
        "status",
        "reason",
        "protected",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("source_file", admin.RelatedOnlyFieldListFilter),  # what one imported file touched
    )
    search_fields = ("=order__order_number", "=platform_dispute_id", "store__name")
    date_hierarchy = "opened_at"
    list_select_related = ("order", "store")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "platform_dispute_id",
                    "order_link",
                    "store",
                    "status",
                    "reason",
                    "protection",
                    "description",
                )
            },
        ),
        (
            _("Deadlines"),
            {
                "fields": (
                    "automatic",
                    "opened_at",
                    "respond_by",
                    "escalate_at",
                    "return_started_at",
                )
            },
        ),
        (
            _("Money"),
            {
                "fields": (
                    "requested",
                    "proposed",
                    "final",
                    "return_required",
                    "seller_return",
                    "fault",
                    "refund_paid",
                )
            },
        ),
        (
            _("Time"),
            {
                "fields": (
                    "responded_at",
                    "escalated_at",
                    "resolved_at",
                    "cancelled_at",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        (_("Source"), {"fields": ("imported_from",)}),
    )
    readonly_fields = tuple(f for _, options in fieldsets for f in options["fields"])
    inlines = (DisputeHistoryInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("order", "store", "refund")
            .annotate(due_at=next_automatic_at())
        )

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return [
            closed_last().asc(),
            next_automatic_at().asc(nulls_last=True),
            F("resolved_at").desc(nulls_last=True),
            "-id",
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(OPEN_PERM)  # the service's permission

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing is edited: disputes move with the buttons

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the timeline is the record; disputes are withdrawn or resolved

    def object_label(self, obj: Dispute) -> str:
        return f"Dispute {self.dispute(obj)} on order {obj.order.order_number}"

    # --- columns and fields ---

    @admin.display(description=_("dispute"), ordering="id")
    def dispute(self, dispute: Dispute) -> str:
        if dispute.platform_dispute_id:
            return f"#{dispute.pk} ({dispute.platform_dispute_id})"
        return f"#{dispute.pk}"

    @admin.display(description=_("order"), ordering="order__order_number")
    def order_number(self, dispute: Dispute) -> str:
        return dispute.order.order_number

    @admin.display(description=_("order"))
    def order_link(self, dispute: Dispute) -> SafeString:
        order = dispute.order
        return format_html(
            "{} ({}, {})",
            admin_link(order, order.order_number),
            order.get_status_display(),
            money(order.amount),
        )

    @admin.display(description=_("requested refund"), ordering="requested_refund")
    def requested(self, dispute: Dispute) -> str:
        return money(dispute.requested_refund)

    @admin.display(description=_("seller's proposal"))
    def proposed(self, dispute: Dispute) -> str:
        return money(dispute.proposed_refund)

    @admin.display(description=_("final refund"))
    def final(self, dispute: Dispute) -> str:
        return money(dispute.final_refund)

    @admin.display(description=_("protected"))
    def protection(self, dispute: Dispute) -> str:
        """Yes or no in words (the field's help text read as a yes beside a "no" icon)."""
        if dispute.protected:
            return gettext("Yes: the after-sales protection fund pays the refund.")
        return gettext("No: the store pays the refund.")

    @admin.display(description=_("status"), ordering="status")
    def status_cell(self, dispute: Dispute) -> SafeString:
        """The status, with ``data-status`` for tests in any language."""
        return format_html(
            '<span data-status="{}">{}</span>', dispute.status, dispute.get_status_display()
        )

    @admin.display(description=_("due"), ordering=F("due_at").asc(nulls_last=True))
    def due_column(self, dispute: Dispute) -> SafeString | str:
        """When the next deadline falls: a red badge once it passed, amber within 24 h; the
        action and the exact time on hover."""
        now = clock.now()
        action = auto_action(dispute)
        if action is None:
            return "—"
        return due_badge(
            action.at, now, f"{action.at:%Y-%m-%d %H:%M:%S} UTC", due_text(dispute, now)
        )

    @admin.display(description=_("happens automatically"))
    def automatic(self, dispute: Dispute) -> str:
        action = auto_action(dispute)
        if action is None:
            return "Nothing: the dispute is over."
        text = f"{due_text(dispute, clock.now())} (at {action.at:%Y-%m-%d %H:%M:%S} UTC)"
        if dispute.status == Dispute.Status.AWAITING_RETURN:
            return gettext(
                "%(text)s. Until then the refund is paid when the seller confirms the returned "
                "goods."
            ) % {"text": text}
        if not action.automatic:
            return gettext("%(text)s. Nothing happens by itself: the platform (risk) decides.") % {
                "text": text
            }
        return text

    @admin.display(description=_("refund paid"))
    def refund_paid(self, dispute: Dispute) -> SafeString | str:
        """Where the refund's money came from (the refund waterfall), read-only."""
        refund = dispute.refund
        if refund is None:
            return "None yet." if dispute.status != Dispute.Status.CANCELLED else "None."
        parts = [
            ("from escrow", refund.from_escrow),
            ("from available", refund.from_available),
            ("from reserve", refund.from_reserve),
            ("from the protection fund", refund.from_protection_fund),
            ("became store debt", refund.to_debt),
        ]
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((label, money(amount)) for label, amount in parts if amount),
        )
        title = money(refund.amount)
        if getattr(dispute, "viewer_may_open_refund", False):
            title = admin_link(refund, title)
        return format_html(
            "{} on {} UTC<table><tbody>{}</tbody></table>",
            title,
            f"{refund.at:%Y-%m-%d %H:%M}",
            rows,
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        dispute = super().get_object(request, object_id, from_field)
        if dispute is not None:  # the refund's own page is linked for those who may open it
            dispute.viewer_may_open_refund = request.user.has_perm(REFUND_VIEW_PERM)
        return dispute

    # --- opening through the service ---

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> Dispute:
        return dispute_open(
            order_id=data["order"].pk,
            actor=request.user,
            reason=data["reason"],
            requested_refund=data["requested_refund"],
            description=data["description"],
            platform_dispute_id=data["platform_dispute_id"] or None,
        )


class OrderDisputeInline(ReadOnlyInline):
    """The disputes of an order, on the order's page (one query, whatever their number)."""

    model = Dispute
    fields = (
        "dispute_link",
        "status",
        "reason",
        "requested",
        "final",
        "opened_at",
        "respond_by",
    )
    readonly_fields = fields
    ordering = ("opened_at", "id")

    @admin.display(description=_("dispute"))
    def dispute_link(self, dispute: Dispute) -> SafeString:
        text = f"#{dispute.pk}"
        if dispute.platform_dispute_id:
            text += f" ({dispute.platform_dispute_id})"
        return admin_link(dispute, text)

    @admin.display(description=_("requested refund"))
    def requested(self, dispute: Dispute) -> str:
        return money(dispute.requested_refund)

    @admin.display(description=_("final refund"))
    def final(self, dispute: Dispute) -> str:
        return money(dispute.final_refund)
