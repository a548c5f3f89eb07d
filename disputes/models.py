"""Disputes a buyer opens on an order, with exact deadlines and after-sales protection."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, FSMField, FSMModelMixin, transition

from accounts.models import SellerAccount
from backoffice.audit import TransitionLog
from backoffice.errors import Code
from backoffice.fsm import guard, transition_time
from backoffice.models import ImportedRecord
from backoffice.money import fits_column
from backoffice.permissions import allow, is_system
from orders.models import Order


class Reason(models.TextChoices):
    NOT_RECEIVED = "not_received", _("Not received")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    DAMAGED = "damaged", _("Damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    OTHER = "other", _("Other")


# Reasons the after-sales protection service covers (DOMAIN.md).
PROTECTED_REASONS = (Reason.NOT_RECEIVED, Reason.NOT_AS_DESCRIBED)


class Fault(models.TextChoices):
    SELLER = "seller", _("Seller")
    BUYER = "buyer", _("Buyer")
    CARRIER = "carrier", _("Carrier")
    PLATFORM = "platform", _("Platform")
    NONE = "none", _("No one")


@guard(
    _("The seller's response deadline passed at {obj.respond_by:%Y-%m-%d %H:%M:%S} UTC."),
    code=Code.DEADLINE_PASSED,
)
def before_response_deadline(dispute: "Dispute") -> bool:
    return transition_time(dispute) < dispute.respond_by


@guard(_("The response deadline ({obj.respond_by:%Y-%m-%d %H:%M:%S} UTC) has not passed yet."))
def after_response_deadline(dispute: "Dispute") -> bool:
    return transition_time(dispute) >= dispute.respond_by


@guard(_("Automatic escalation is due at {obj.escalate_at:%Y-%m-%d %H:%M:%S} UTC."))
def escalation_due(dispute: "Dispute") -> bool:
    return transition_time(dispute) >= dispute.escalate_at


@guard(_("The return is awaited until {obj.return_due_at:%Y-%m-%d %H:%M:%S} UTC."))
def return_overdue(dispute: "Dispute") -> bool:
    due = dispute.return_due_at
    return due is not None and transition_time(dispute) >= due


def system_only(instance: models.Model, actor) -> bool:
    return is_system(actor)


def _resolution_target(dispute: "Dispute", **kwargs) -> str:
    return (
        Dispute.Status.AWAITING_RETURN
        if kwargs.get("return_required")
        else (Dispute.Status.RESOLVED)
    )


class Dispute(FSMModelMixin, ImportedRecord):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESPONDED = "responded", _("Responded")
        ARBITRATION = "arbitration", _("In arbitration")
        AWAITING_RETURN = "awaiting_return", _("Awaiting return")
        RESOLVED = "resolved", _("Resolved")
        CANCELLED = "cancelled", _("Cancelled")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="disputes")
    platform_dispute_id = models.CharField(
        _("platform dispute id"), max_length=32, unique=True, null=True, blank=True
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    description = models.TextField(blank=True)
    requested_refund = models.DecimalField(max_digits=14, decimal_places=2)
    proposed_refund = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The seller's counter-proposal (0 when it rejects outright)."),
    )
    final_refund = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    protected = models.BooleanField(
        default=False,
        help_text=_("Covered by after-sales protection: the protection fund pays the refund."),
    )
    return_required = models.BooleanField(default=False)
    seller_return = models.BooleanField(
        default=False,
        help_text=_(
            "The seller asked for the goods back on its own account: the refund is the "
            "store's, never the protection fund's."
        ),
    )
    return_started_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the dispute began awaiting the returned goods."),
    )
    fault = models.CharField(max_length=10, choices=Fault.choices, blank=True)
    status = FSMField(max_length=16, choices=Status.choices, default=Status.OPEN, protected=True)
    opened_at = models.DateTimeField()
    respond_by = models.DateTimeField(db_index=True)
    escalate_at = models.DateTimeField(db_index=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the seller was reminded of the response deadline.")
    )
    refund = models.OneToOneField(
        "payouts.Refund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispute",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ("respond_by", "id")
        permissions = [
            ("open_dispute", "Can open disputes on behalf of buyers"),
            ("act_for_buyer", "Can act for buyers (accept proposals, withdraw)"),
            ("respond_dispute", "Can respond to disputes on behalf of sellers"),
            ("arbitrate_dispute", "Can arbitrate disputes"),
            ("export_dispute", "Can export disputes (CSV, XLSX)"),
        ]
        indexes = [models.Index(fields=["status", "respond_by"], name="dispute_status_respond")]
        constraints = [
            fits_column(
                "requested_refund",
                max_digits=14,
                decimal_places=2,
                name="dispute_requested_refund_fits",
            ),
            fits_column(
                "proposed_refund",
                max_digits=14,
                decimal_places=2,
                name="dispute_proposed_refund_fits",
                nullable=True,
            ),
            fits_column(
                "final_refund",
                max_digits=14,
                decimal_places=2,
                name="dispute_final_refund_fits",
                nullable=True,
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["open", "responded", "arbitration", "awaiting_return"]),
                name="dispute_one_open_per_order",
            ),
            models.CheckConstraint(
                condition=Q(requested_refund__gt=0), name="dispute_requested_positive"
            ),
            models.CheckConstraint(
                condition=Q(final_refund__isnull=True) | Q(final_refund__gte=0),
                name="dispute_final_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.platform_dispute_id or self.pk} on order {self.order.order_number}"

    @property
    def owner_store_id(self) -> int:
        return self.store_id

    @staticmethod
    def deadlines_from(opened_at) -> tuple:
        return (
            opened_at + timedelta(days=settings.RESPONSE_DAYS),
            opened_at + timedelta(days=settings.ESCALATE_AFTER_DAYS),
        )

    @property
    def return_due_at(self):
        """When a return the seller has not confirmed is refunded automatically."""
        if self.return_started_at is None:
            return None
        return self.return_started_at + timedelta(days=settings.RETURN_DAYS)

    @property
    def arbitration_due_at(self):
        """The platform's service level for deciding an arbitration (a due date for staff)."""
        if self.escalated_at is None:
            return None
        return self.escalated_at + timedelta(days=settings.ARBITRATION_SLA_DAYS)

    # --- transitions: guards and own fields only; services add order moves, money, audit ---

    @transition(
        field=status,
        source=Status.OPEN,
        target=GET_STATE(_resolution_target, states=[Status.RESOLVED, Status.AWAITING_RETURN]),
        conditions=[before_response_deadline],
        permission=allow("disputes.respond_dispute", seller=True),
    )
    def accept(self, *, at, return_required: bool = False, seller_return: bool = False) -> None:
        self.responded_at = at
        if seller_return:  # the seller's own request: out of the protection (DOMAIN.md)
            self.seller_return, self.protected = True, False
        self._record_outcome(at, self.requested_refund, return_required or seller_return)

    @transition(
        field=status,
        source=Status.OPEN,
        target=Status.RESPONDED,
        conditions=[before_response_deadline],
        permission=allow("disputes.respond_dispute", seller=True),
    )
    def respond(self, *, at, proposed_refund: Decimal) -> None:
        self.responded_at = at
        self.proposed_refund = proposed_refund

    @transition(
        field=status,
        source=Status.RESPONDED,
        target=GET_STATE(_resolution_target, states=[Status.RESOLVED, Status.AWAITING_RETURN]),
        permission=allow("disputes.act_for_buyer"),
    )
    def accept_proposal(self, *, at, return_required: bool = False) -> None:
        self._record_outcome(at, self.proposed_refund, return_required)

    @transition(
        field=status,
        source=Status.RESPONDED,
        target=Status.ARBITRATION,
        permission=allow("disputes.act_for_buyer", seller=True),
    )
    def escalate(self, *, at) -> None:
        self.escalated_at = at

    @transition(
        field=status,
        source=Status.RESPONDED,
        target=Status.ARBITRATION,
        conditions=[escalation_due],
        permission=system_only,
    )
    def auto_escalate(self, *, at) -> None:
        self.escalated_at = at

    @transition(
        field=status,
        source=Status.ARBITRATION,
        target=GET_STATE(_resolution_target, states=[Status.RESOLVED, Status.AWAITING_RETURN]),
        permission=allow("disputes.arbitrate_dispute"),
    )
    def decide(self, *, at, refund: Decimal, fault: str, return_required: bool = False) -> None:
        self.fault = fault
        self._record_outcome(at, refund, return_required)

    @transition(
        field=status,
        source=Status.OPEN,
        target=Status.RESOLVED,
        conditions=[after_response_deadline],
        permission=system_only,
    )
    def auto_resolve(self, *, at) -> None:
        self._record_outcome(at, self.requested_refund, False)

    @transition(
        field=status,
        source=[Status.OPEN, Status.RESPONDED],
        target=Status.CANCELLED,
        permission=allow("disputes.act_for_buyer"),
    )
    def withdraw(self, *, at) -> None:
        self.cancelled_at = at

    @transition(
        field=status,
        source=Status.AWAITING_RETURN,
        target=Status.RESOLVED,
        permission=allow("disputes.respond_dispute", seller=True),
    )
    def confirm_return(self, *, at) -> None:
        self.resolved_at = at

    @transition(
        field=status,
        source=Status.AWAITING_RETURN,
        target=Status.RESOLVED,
        conditions=[return_overdue],
        permission=system_only,
    )
    def return_timeout(self, *, at) -> None:
        self.resolved_at = at

    def _record_outcome(self, at, refund: Decimal, return_required: bool) -> None:
        self.final_refund = refund
        self.return_required = return_required
        if return_required:
            self.return_started_at = at
        else:
            self.resolved_at = at


class DisputeTransition(TransitionLog):
    """The dispute's timeline: who did what, when, with what message and amount."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="history")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta(TransitionLog.Meta):
        verbose_name = _("dispute timeline entry")
        verbose_name_plural = _("dispute timeline")
        constraints = [
            fits_column(
                "amount",
                max_digits=14,
                decimal_places=2,
                name="dispute_timeline_amount_fits",
                nullable=True,
            ),
        ]
