"""Every write to disputes. Each service locks the dispute (then its order, then the store:
always in that order), checks the transition for the actor, moves the order and the money
that follow from it, and records the timeline, in one transaction."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Notice
from accounts.notices import Text, notify
from backoffice import clock, db, unit_of_work
from backoffice.db import lock
from backoffice.errors import Code, invalid
from backoffice.fsm import run_transition
from backoffice.money import clean_amount
from backoffice.permissions import require_staff_perm
from backoffice.text import clean_text, column_length
from disputes.models import PROTECTED_REASONS, Dispute, Fault, Reason
from orders.models import Order
from orders.services import apply_open_dispute, apply_resolve_dispute
from payouts import services as payouts_services

# Dispute fields each transition may change: what _move saves.
_SAVE_FIELDS = [
    "status",
    "proposed_refund",
    "final_refund",
    "return_required",
    "seller_return",
    "protected",
    "return_started_at",
    "fault",
    "responded_at",
    "escalated_at",
    "resolved_at",
    "cancelled_at",
    "refund",
    "updated_at",
]


def _check_platform_dispute_id(platform_dispute_id: str) -> None:
    clean_text(
        platform_dispute_id,
        field="platformDisputeId",
        max_length=column_length(Dispute, "platform_dispute_id"),
        strip=False,
    )
    if Dispute.objects.filter(platform_dispute_id=platform_dispute_id).exists():
        raise invalid(
            _("Dispute %(platform_dispute_id)s exists already.")
            % {"platform_dispute_id": platform_dispute_id},
            field="platformDisputeId",
            code=Code.ALREADY_EXISTS,
        )


@transaction.atomic
def dispute_open(
    *,
    order_id: int,
    actor: Any,
    reason: str,
    requested_refund: Any,
    description: str = "",
    platform_dispute_id: str | None = None,
    at: datetime | None = None,
) -> Dispute:
    """A buyer's dispute (recorded by support or an integration): the order becomes disputed.
    Within after-sales protection when the order is covered and the reason is in its scope."""
    require_staff_perm(actor, "disputes.open_dispute")
    at = clock.resolve(at)
    if reason not in Reason.values:
        raise invalid(
            _("Unknown reason %(reason)r; use one of %(value)s.")
            % {"reason": reason, "value": ", ".join(Reason.values)},
            field="reason",
        )
    platform_dispute_id = platform_dispute_id or None
    if platform_dispute_id is not None:
        _check_platform_dispute_id(platform_dispute_id)
    order = lock(Order, order_id)
    amount = clean_amount(requested_refund, field="requestedRefund")
    refundable = payouts_services.refundable(order)
    if amount > refundable:
        raise invalid(
            _("At most USD %(refundable)s of this order can be refunded.")
            % {"refundable": refundable},
            field="requestedRefund",
        )
    if order.disputes.exclude(
        status__in=[Dispute.Status.RESOLVED, Dispute.Status.CANCELLED]
    ).exists():
        raise invalid(
            _("This order has an open dispute already."), field="id", code=Code.INVALID_TRANSITION
        )
    if order.status != Order.Status.DISPUTED:
        apply_open_dispute(order, actor=actor, at=at, note=f"dispute opened: {reason}")
    # else the platform's orders export put the order in dispute (imports: the order side
    # only) before this record of the dispute arrived; with no active dispute on it (checked
    # above), the record joins the order's dispute.
    respond_by, escalate_at = Dispute.deadlines_from(at)
    dispute = Dispute.objects.create(
        order=order,
        store_id=order.store_id,
        reason=reason,
        description=description,
        requested_refund=amount,
        protected=order.protected and reason in PROTECTED_REASONS,
        opened_at=at,
        respond_by=respond_by,
        escalate_at=escalate_at,
        platform_dispute_id=platform_dispute_id or None,
    )
    _notify_deadline(
        dispute,
        at=at,
        title=lambda: _("Dispute opened on order %(order)s") % {"order": order.order_number},
    )
    dispute.history.create(
        transition="open",
        source="",
        target=Dispute.Status.OPEN,
        actor=actor if getattr(actor, "pk", None) else None,
        note=description,
        at=at,
        amount=amount,
    )
    return dispute


def _notify_deadline(dispute: Dispute, *, at: datetime, title: Text) -> None:
    notify(
        dispute.store,
        Notice.Kind.DISPUTE_DEADLINE,
        at=at,
        title=title,
        body=lambda: (
            _(
                "Reason: %(reason)s; the buyer asks USD %(amount)s. Respond by %(respond_by)s UTC: "
                "after that, USD %(amount)s is refunded automatically."
            )
            % {
                "reason": dispute.get_reason_display(),
                "amount": dispute.requested_refund,
                "respond_by": f"{dispute.respond_by:%Y-%m-%d %H:%M}",
            }
        ),
    )


def apply_deadline_reminder(dispute: Dispute, *, at: datetime) -> None:
    """Remind the seller once, a day before the response deadline."""
    _notify_deadline(
        dispute,
        at=at,
        title=lambda: (
            _("Respond to the dispute on order %(order)s within 24 hours")
            % {"order": dispute.order.order_number}
        ),
    )
    dispute.reminded_at = at
    db.save(dispute, ["reminded_at", "updated_at"])


def _return_required(dispute: Dispute, asked: bool) -> bool:
    # Outside the protection's scope a protected order's dispute goes to the return flow.
    return asked or (dispute.order.protected and not dispute.protected)


def _move(
    dispute: Dispute,
    name: str,
    *,
    actor: Any,
    at: datetime,
    note: str,
    amount: Decimal | None = None,
    **kwargs: Any,
) -> Dispute:
    """Run one transition and what follows from it: a resolution refunds and releases the
    order; a withdrawal returns the order to where it was."""
    run_transition(dispute, name, actor=actor, at=at, note=note, audit={"amount": amount}, **kwargs)
    order = lock(Order, dispute.order_id)
    dispute.order = order  # callers see the order as this move left it
    if dispute.status == Dispute.Status.RESOLVED:
        _refund_and_resolve_order(dispute, order, actor=actor, at=at)
    elif dispute.status == Dispute.Status.CANCELLED:
        apply_resolve_dispute(
            order, actor=actor, at=at, full_refund=False, note=f"dispute {dispute.pk} withdrawn"
        )
    db.save(dispute, _SAVE_FIELDS)  # at once, or with the batch (the unit of work decides)
    return dispute


def _refund_and_resolve_order(dispute: Dispute, order: Order, *, actor: Any, at: datetime) -> None:
    # Never more than is still refundable: another refund may have reached the order meanwhile.
    dispute.final_refund = min(dispute.final_refund or 0, payouts_services.refundable(order))
    if dispute.final_refund:
        dispute.refund = payouts_services.refund_within(
            order,
            amount=dispute.final_refund,
            at=at,
            reference=f"dispute:{dispute.pk}",
            reason=f"dispute {dispute.pk}: {dispute.get_reason_display()}",
            protected=dispute.protected,
            actor=actor,
        )
    full = payouts_services.refundable(order) == 0
    apply_resolve_dispute(
        order,
        actor=actor,
        at=at,
        full_refund=full,
        note=f"dispute {dispute.pk} resolved, refund USD {dispute.final_refund or 0}",
    )
    if full:  # the order ends: escrow the protection fund covered goes to the store
        payouts_services.release_escrow(order, at=at, actor=actor)


@transaction.atomic
def dispute_accept(
    *,
    dispute_id: int,
    actor: Any,
    note: str = "",
    return_required: bool = False,
    seller_return: bool | None = None,
    at: datetime | None = None,
) -> Dispute:
    """The seller's response before the deadline: refund what the buyer asked.

    With ``return_required`` the seller asks for the goods back on its own account (DOMAIN.md:
    "for personal reasons or no reason"): the dispute goes to the return flow without the
    after-sales protection, and the refund is the store's (the waterfall), never the protection
    fund's. ``seller_return=False`` is for a caller that knows a return is under way but not
    that the seller asked for it (an import of the platform's export)."""
    return _agree(
        dispute_id,
        "accept",
        "requested_refund",
        actor=actor,
        at=at,
        note=note,
        return_required=return_required,
        seller_return=return_required if seller_return is None else seller_return,
    )


def _agree(
    dispute_id: int,
    name: str,
    amount_field: str,
    *,
    actor: Any,
    at: datetime | None,
    note: str,
    return_required: bool,
    **kwargs: Any,
) -> Dispute:
    """One side agrees to the other's figure (the seller to what the buyer asked, the buyer to
    the seller's proposal): transition ``name`` refunds the dispute's ``amount_field``, through
    the return flow when asked or outside the protection's scope."""
    dispute = lock(Dispute, dispute_id)
    return _move(
        dispute,
        name,
        actor=actor,
        at=clock.resolve(at),
        note=note,
        amount=getattr(dispute, amount_field),
        return_required=_return_required(dispute, return_required),
        **kwargs,
    )


@transaction.atomic
def dispute_reject(
    *, dispute_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> Dispute:
    """The seller's response before the deadline: refund nothing (a proposal of 0.00)."""
    dispute = lock(Dispute, dispute_id)
    return _propose(dispute, Decimal("0.00"), actor=actor, at=clock.resolve(at), note=note)


@transaction.atomic
def dispute_propose(
    *, dispute_id: int, actor: Any, amount: Any, note: str = "", at: datetime | None = None
) -> Dispute:
    """The seller's response before the deadline: offer ``amount``, below what was asked."""
    dispute = lock(Dispute, dispute_id)
    proposed = clean_amount(amount, field="amount", allow_zero=True)
    if proposed >= dispute.requested_refund:
        raise invalid(
            _(
                "A proposal is below the requested USD %(requested_refund)s; "
                "to refund all of it, accept."
            )
            % {"requested_refund": dispute.requested_refund},
            field="amount",
        )
    return _propose(dispute, proposed, actor=actor, at=clock.resolve(at), note=note)


def _propose(
    dispute: Dispute, proposed: Decimal, *, actor: Any, at: datetime, note: str
) -> Dispute:
    return _move(
        dispute, "respond", actor=actor, at=at, note=note, amount=proposed, proposed_refund=proposed
    )


def dispute_respond(
    *,
    dispute_id: int,
    actor: Any,
    action: str,
    amount: Any = None,
    note: str = "",
    return_required: bool = False,
    seller_return: bool | None = None,
    at: datetime | None = None,
) -> Dispute:
    """The response as one call with an ``action`` (``accept``, ``reject`` or ``propose``), for
    callers whose input names it (GraphQL's ``disputeRespond``, import rows): checks that the
    arguments go with the action, then calls :func:`dispute_accept`, :func:`dispute_reject` or
    :func:`dispute_propose`."""
    if action not in ("accept", "reject", "propose"):
        raise invalid(_("The action is accept, reject or propose."), field="action")
    if action == "propose" and amount is None:
        raise invalid(_("Give the amount you propose."), field="amount")
    if action != "propose" and amount is not None:
        raise invalid(
            _("Only PROPOSE takes an amount (ACCEPT refunds what was asked)."), field="amount"
        )
    if return_required and action != "accept":
        raise invalid(_("Only ACCEPT can ask for the goods back."), field="returnRequired")
    common = {"dispute_id": dispute_id, "actor": actor, "note": note, "at": at}
    if action == "accept":
        return dispute_accept(
            **common, return_required=return_required, seller_return=seller_return
        )
    if action == "reject":
        return dispute_reject(**common)
    return dispute_propose(**common, amount=amount)


@transaction.atomic
def dispute_accept_proposal(
    *,
    dispute_id: int,
    actor: Any,
    note: str = "",
    return_required: bool = False,
    at: datetime | None = None,
) -> Dispute:
    return _agree(
        dispute_id,
        "accept_proposal",
        "proposed_refund",
        actor=actor,
        at=at,
        note=note,
        return_required=return_required,
    )


@transaction.atomic
def dispute_escalate(
    *, dispute_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> Dispute:
    dispute = lock(Dispute, dispute_id)
    return _move(dispute, "escalate", actor=actor, at=clock.resolve(at), note=note)


@transaction.atomic
def dispute_resolve(
    *,
    dispute_id: int,
    actor: Any,
    amount: Any,
    fault: str,
    note: str = "",
    return_required: bool = False,
    at: datetime | None = None,
) -> Dispute:
    """Platform arbitration: risk staff decide the refund and who is at fault."""
    dispute = lock(Dispute, dispute_id)
    refund = clean_amount(amount, field="amount", allow_zero=True)
    if refund > dispute.requested_refund:
        raise invalid(
            _("The refund cannot exceed the requested USD %(requested_refund)s.")
            % {"requested_refund": dispute.requested_refund},
            field="amount",
        )
    if fault not in Fault.values:
        raise invalid(
            _("Unknown fault %(fault)r; use one of %(value)s.")
            % {"fault": fault, "value": ", ".join(Fault.values)},
            field="fault",
        )
    return _move(
        dispute,
        "decide",
        actor=actor,
        at=clock.resolve(at),
        note=note,
        amount=refund,
        refund=refund,
        fault=fault,
        return_required=_return_required(dispute, return_required),
    )


@transaction.atomic
def dispute_withdraw(
    *, dispute_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> Dispute:
    dispute = lock(Dispute, dispute_id)
    return _move(dispute, "withdraw", actor=actor, at=clock.resolve(at), note=note)


@transaction.atomic
def dispute_confirm_return(
    *, dispute_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> Dispute:
    """The seller confirms the returned goods: the agreed refund is paid."""
    dispute = lock(Dispute, dispute_id)
    return _move(
        dispute,
        "confirm_return",
        actor=actor,
        at=clock.resolve(at),
        note=note,
        amount=dispute.final_refund,
    )


# --- the deadlines runner (system actor) ---


def load_disputes(disputes: list[Dispute]) -> None:
    """For a batch of disputes (a deadline job's, locked): lock their orders, then their
    stores, and read the balances once (the order the services lock them in), so each
    dispute's move needs no query of its own for them."""
    unit = unit_of_work.current()
    ids = sorted({dispute.order_id for dispute in disputes})
    orders = {o.pk: o for o in unit.lock_all(Order.objects.filter(pk__in=ids).order_by("pk"))}
    stores = payouts_services.load_for_orders(list(orders.values()))
    for dispute in disputes:
        Dispute.order.field.set_cached_value(dispute, orders[dispute.order_id])
        Dispute.store.field.set_cached_value(dispute, stores[dispute.store_id])


def apply_auto_resolve(dispute: Dispute, *, at: datetime) -> None:
    _move(
        dispute,
        "auto_resolve",
        actor=None,
        at=at,
        note="automatic: no seller response before the deadline",
        amount=dispute.requested_refund,
    )


def apply_return_timeout(dispute: Dispute, *, at: datetime) -> None:
    """The seller never confirmed the returned goods: the buyer is refunded as if it had (the
    same refund path as :func:`dispute_confirm_return`)."""
    _move(
        dispute,
        "return_timeout",
        actor=None,
        at=at,
        note=f"automatic: returned goods not confirmed within {settings.RETURN_DAYS} days",
        amount=dispute.final_refund,
    )


def apply_auto_escalate(dispute: Dispute, *, at: datetime) -> None:
    _move(
        dispute,
        "auto_escalate",
        actor=None,
        at=at,
        note="automatic: unresolved after the escalation period",
    )
