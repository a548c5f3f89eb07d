"""The disputes export's applier (``backoffice.imports.appliers``): how a dispute row lands.

``dispute_open`` for a new dispute, then the dispute services to the row's status (a return
status: a resolution with ``return_required``; "processing": where it is). A dispute's moves
happen at its Opened Time (an automatic resolution at its response deadline). Each row runs in a
savepoint and every row is tried.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from backoffice.fsm import transition_paths
from backoffice.imports.appliers import Applier, RowProblem, register, to_usd, usd
from backoffice.imports.choices import DisputeReason, DisputeState
from backoffice.imports.errors import RowError
from backoffice.imports.headers import Kind
from backoffice.imports.rows import DisputeRow
from backoffice.money import Currency
from orders.models import Order

from . import services
from .models import Dispute, Fault


@dataclass(frozen=True)
class DisputeStep:
    # whether the row shows this move, given the dispute as it stands
    shown: Callable[[Dispute, DisputeRow], bool]
    run: Callable[[Dispute, DisputeRow, Any], Dispute]


# Not over yet on the platform: what "processing" may stand for.
IN_PROGRESS = frozenset(
    {
        DisputeState.OPEN,
        DisputeState.RESPONDED,
        DisputeState.ARBITRATION,
        DisputeState.AWAITING_RETURN,
    }
)


def _in_usd(row: DisputeRow, order: Order) -> DisputeRow:
    """A dispute on an order the platform priced in CNY gives its refunds in CNY: in USD at
    the order's own rate, as its amount was (a full refund is then exactly the order's)."""
    if row.requested_refund.currency == Currency.USD:
        return row
    if order.original_currency != row.requested_refund.currency:
        raise RowProblem(
            "requested_refund",
            f"{row.requested_refund}: order {order.order_number} was priced in USD",
        )
    final = row.final_refund
    if final is not None and final.currency != row.requested_refund.currency:
        raise RowProblem("final_refund", f"{final}: not in the requested refund's currency")
    rate = order.conversion_rate
    return replace(
        row,
        requested_refund=to_usd(row.requested_refund, rate, "requested_refund"),
        final_refund=to_usd(row.final_refund, rate, "final_refund"),
    )


def _final(row: DisputeRow) -> Decimal | None:
    return usd(row.final_refund, "final_refund")


def _returned(row: DisputeRow) -> bool:
    """The row says the goods are on their way back: the resolution requires a return."""
    return row.state == DisputeState.AWAITING_RETURN


def _settled_by_people(row: DisputeRow) -> bool:
    """Resolved by the seller, the buyer or arbitration (not at the deadline), or settled with
    a return still to come: either way a resolution with the row's Final Refund."""
    return (row.state == DisputeState.RESOLVED and not row.resolved_automatically) or _returned(row)


def _proposal_of(dispute: Dispute, row: DisputeRow) -> Decimal | None:
    """What the seller proposed (or, for an open dispute settled below the requested refund,
    will propose: the final refund)."""
    if dispute.status == Dispute.Status.RESPONDED:
        return dispute.proposed_refund
    final = _final(row)
    return final if final is not None and final < dispute.requested_refund else None


def _respond(dispute: Dispute, row: DisputeRow, actor: Any) -> Dispute:
    proposal = _proposal_of(dispute, row) if _settled_by_people(row) else None
    return services.dispute_respond(
        dispute_id=dispute.pk,
        actor=actor,
        action="propose" if proposal else "reject",
        amount=proposal,
        at=row.opened_at,
    )


def _auto_resolve(dispute: Dispute, row: DisputeRow, actor: Any) -> Dispute:
    services.apply_auto_resolve(dispute, at=dispute.respond_by)  # the platform's own deadline
    return dispute


DISPUTE_STEPS: dict[str, DisputeStep] = {
    "respond": DisputeStep(
        lambda d, row: (
            row.state in (DisputeState.RESPONDED, DisputeState.ARBITRATION)
            or (_settled_by_people(row) and _proposal_of(d, row) is not None)
        ),
        _respond,
    ),
    "accept": DisputeStep(
        lambda d, row: _settled_by_people(row) and _final(row) == d.requested_refund,
        lambda d, row, actor: services.dispute_respond(
            dispute_id=d.pk,
            actor=actor,
            action="accept",
            return_required=_returned(row),
            # The export says a return is under way, not who asked for it: the platform's
            # return keeps the dispute within the protection.
            seller_return=False,
            at=row.opened_at,
        ),
    ),
    "accept_proposal": DisputeStep(
        lambda d, row: _settled_by_people(row) and _final(row) == _proposal_of(d, row),
        lambda d, row, actor: services.dispute_accept_proposal(
            dispute_id=d.pk, actor=actor, return_required=_returned(row), at=row.opened_at
        ),
    ),
    "escalate": DisputeStep(
        lambda d, row: (
            row.state == DisputeState.ARBITRATION
            or (_settled_by_people(row) and _final(row) != _proposal_of(d, row))
        ),
        lambda d, row, actor: services.dispute_escalate(
            dispute_id=d.pk, actor=actor, at=row.opened_at
        ),
    ),
    "decide": DisputeStep(
        lambda d, row: _settled_by_people(row),
        lambda d, row, actor: services.dispute_resolve(
            dispute_id=d.pk,
            actor=actor,
            amount=_final(row),
            fault=Fault.NONE,
            return_required=_returned(row),
            at=row.opened_at,
        ),
    ),
    "auto_resolve": DisputeStep(
        lambda d, row: row.state == DisputeState.RESOLVED and row.resolved_automatically,
        _auto_resolve,
    ),
    "withdraw": DisputeStep(
        lambda d, row: row.state == DisputeState.CANCELLED,
        lambda d, row, actor: services.dispute_withdraw(
            dispute_id=d.pk, actor=actor, at=row.opened_at
        ),
    ),
    "confirm_return": DisputeStep(
        lambda d, row: True,
        lambda d, row, actor: services.dispute_confirm_return(
            dispute_id=d.pk, actor=actor, at=row.opened_at
        ),
    ),
}


@register(Kind.DISPUTES)
class DisputesApplier(Applier):
    SERVICE_FIELDS = {
        "reason": "reason",
        "requestedRefund": "requested_refund",
        "amount": "final_refund",
        "platformDisputeId": "dispute_id",
        "id": "status",
    }

    def apply_row(self, row: DisputeRow) -> None:
        order = Order.objects.filter(order_number=row.order_number).first()
        if order is None:
            raise RowProblem(
                "order_number",
                f"order {row.order_number} is not in the back-office: import its orders first",
            )
        row = _in_usd(row, order)
        requested, final = usd(row.requested_refund, "requested_refund"), _final(row)
        if final is not None and final > requested:
            raise RowProblem("final_refund", f"more than the requested refund USD {requested}")
        dispute = (
            Dispute.objects.select_for_update().filter(platform_dispute_id=row.dispute_id).first()
        )
        if dispute is None:
            source = "new"
            dispute = services.dispute_open(
                order_id=order.pk,
                actor=self.actor,
                reason=row.reason,
                requested_refund=requested,
                description=row.reason_text if row.reason == DisputeReason.OTHER else "",
                platform_dispute_id=row.dispute_id,
                at=row.opened_at,
            )
        elif dispute.order_id != order.pk:
            raise RowProblem(
                "order_number", f"dispute {row.dispute_id} is on another order ({dispute.order})"
            )
        elif dispute.requested_refund != requested:
            raise RowProblem(
                "requested_refund",
                f"dispute {row.dispute_id} was opened for USD {dispute.requested_refund}: "
                "a dispute's requested refund does not change",
            )
        else:
            source = dispute.status
        row, warning = self.interpret(dispute, row, new=source == "new")
        if _returned(row) and final is None and dispute.status != DisputeState.AWAITING_RETURN:
            # the resolution fixes the refund the return will pay: the file must say which
            raise RowProblem(
                "final_refund",
                "dispute awaiting return without final refund: the refund agreed "
                "for the returned goods is needed to settle it",
            )
        dispute = self.walk(dispute, row)
        if final is not None and dispute.final_refund not in (None, final):
            # An automatic resolution refunds what was requested; a resolved dispute keeps its
            # refund: the file and the ledger must not tell two stories.
            done = "agreed" if dispute.status == DisputeState.AWAITING_RETURN else "resolved"
            raise RowProblem(
                "final_refund",
                f"dispute {row.dispute_id} was {done} with a refund of "
                f"USD {dispute.final_refund}, not USD {final}",
            )
        if warning:
            column = self.context.labels.get("status", "status")
            self.context.report.add_warning(
                RowError(row.line, column, f"{row.status_text}: {warning}")
            )
        if source == "new" or source != dispute.status:
            self.context.mark(dispute, row.line)
        self.context.count(source, dispute.status, changed=False)

    def interpret(
        self, dispute: Dispute, row: DisputeRow, *, new: bool
    ) -> tuple[DisputeRow, str | None]:
        """The row with the state it stands for here, and what the report should say where the
        platform's status does not name one of ours exactly."""
        if row.in_progress:
            if new:
                return row, "in progress on the platform, opened as open"
            if dispute.status in IN_PROGRESS:
                return replace(row, state=dispute.status), (
                    f"in progress on the platform, kept as {dispute.status}"
                )
            raise RowProblem(
                "status", f"cannot move from {dispute.status} to in progress ({row.status_text})"
            )
        if row.ended and row.state == DisputeState.CANCELLED:
            return row, "ended on the platform without a final refund, taken as withdrawn"
        return row, None

    def walk(self, dispute: Dispute, row: DisputeRow) -> Dispute:
        """Move the dispute to the row's status, one service at a time: a resolution may stop
        at awaiting_return (a return is due) on the way."""
        start = dispute.status
        # The state machine's graph asks the resolutions' target without their arguments, so
        # it shows them reaching resolved only; with return_required (``_returned``) the same
        # steps stop at awaiting_return: find the way to resolved, and stop there.
        goal = DisputeState.RESOLVED if _returned(row) else row.state
        for _ in range(len(DISPUTE_STEPS)):
            if dispute.status == row.state:
                return dispute
            paths = transition_paths(Dispute, dispute.status, goal, names=DISPUTE_STEPS)
            ways = [
                path
                for path in paths
                if all(DISPUTE_STEPS[name].shown(dispute, row) for name, _ in path)
            ]
            if not ways:
                break
            name, _ = min(ways, key=len)[0]
            dispute = DISPUTE_STEPS[name].run(dispute, row, self.actor)
        how = " automatically" if row.resolved_automatically else ""
        raise RowProblem("status", f"cannot move from {start} to {row.state}{how}")
