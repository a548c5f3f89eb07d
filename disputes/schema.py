"""GraphQL for disputes: the list, the timeline, what will happen automatically, and the buyer's,
seller's and platform's moves. Thin: every write is a call to disputes.services.

Who may do what is the state machine's (disputes.models): support opens disputes and acts for
buyers, the seller (or support) responds and confirms returns, either side escalates, risk
arbitrates. A dispute is looked up through the viewer's queryset, so another store's dispute is
``not_found`` for a seller.
"""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_noop
from strawberry import UNSET, Info, relay

from backoffice.graphql import (
    AvailableTransition,
    ChoiceFilter,
    Connection,
    DateTimeRange,
    GlobalId,
    HistoryEntry,
    Money,
    Scoped,
    StableOrder,
    choice,
    enum_from_choices,
    filter_pk,
    max_page_size,
    money_field,
    service_mutation,
    store_pk,
    transitions_field,
    viewer,
)
from backoffice.graphql.actors import BY, actor_name
from backoffice.money import Currency
from disputes import selectors, services
from disputes.models import Dispute, DisputeTransition, Fault, Reason
from payouts.schema_types import RefundType
from payouts.selectors import REFUND_PERM, may_see

if TYPE_CHECKING:
    from accounts.schema import SellerAccountType
    from orders.schema import OrderType

DisputeStatus = enum_from_choices("DisputeStatus", Dispute.Status.choices)
DisputeReason = enum_from_choices("DisputeReason", Reason.choices)
DisputeFault = enum_from_choices("DisputeFault", Fault.choices)
DisputeResponseAction = enum_from_choices(
    "DisputeResponseAction",
    [("accept", "accept"), ("reject", "reject"), ("propose", "propose")],
    description=gettext_noop(
        "ACCEPT refunds what the buyer asked; REJECT proposes nothing; PROPOSE offers "
        "`amount` (below what was asked)."
    ),
)

# What the transition guards and the permission check read (deadlines, the owning store).
TRANSITION_ONLY = ["status", "store", "respond_by", "escalate_at"]
# What selectors.auto_action reads.
AUTO_ACTION_ONLY = [
    "status",
    "respond_by",
    "escalate_at",
    "requested_refund",
    "final_refund",
    "protected",
    "return_started_at",
    "escalated_at",
]


def _order_pk(value: relay.GlobalID) -> int | None:
    """The pk an order filter names; ``None`` (matches nothing) for an ID of another type."""
    return filter_pk(value, "Order", field="order")


@strawberry_django.filter_type(Dispute, name="DisputeFilter")
class DisputeFilter:
    status: ChoiceFilter[DisputeStatus] | None = UNSET
    reason: ChoiceFilter[DisputeReason] | None = UNSET
    protected: bool | None = UNSET

    @strawberry_django.filter_field(description="The store's global ID.")
    def store(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = store_pk(value)
        return Q(pk__in=[]) if pk is None else Q(**{f"{prefix}store_id": pk})

    @strawberry_django.filter_field(name="order", description="The order's global ID.")
    def of_order(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = _order_pk(value)
        return Q(pk__in=[]) if pk is None else Q(**{f"{prefix}order_id": pk})

    @strawberry_django.filter_field(description="The seller's response deadline.")
    def respond_by(self, value: DateTimeRange, prefix: str) -> Q:
        return value.q(f"{prefix}respond_by", field="respondBy")


@strawberry.input(name="DisputeSort", one_of=True)
class DisputeSort(StableOrder):
    respond_by: strawberry_django.Ordering | None = UNSET
    opened_at: strawberry_django.Ordering | None = UNSET


@strawberry.type(
    name="DisputeTimelineEntry",
    description="One event of a dispute: who did what, when, with what message and amount. "
    "The first is the opening (`from` null).",
)
class DisputeTimelineEntry:
    from_: str | None = strawberry.field(
        name="from", description="The state before, e.g. `OPEN`; null for the opening."
    )
    to: str = strawberry.field(description="The state after, as `status` names it.")
    transition: str = strawberry.field(description="`open`, `respond`, `accept`, `decide`, ...")
    by: str | None = strawberry.field(description=BY)
    at: datetime
    note: str = strawberry.field(description="The message given with the event.")
    amount: Money | None = strawberry.field(
        description="The amount the event is about: the refund asked at the opening, the "
        "seller's proposal (0.00 for a rejection), the refund agreed or decided; null when none."
    )

    @classmethod
    def of(cls, row: DisputeTransition, info: Info) -> "DisputeTimelineEntry":
        return cls(
            from_=row.source.upper() or None,
            to=row.target.upper(),
            transition=row.transition,
            by=actor_name(info, row.actor),
            at=row.at,
            note=row.note,
            amount=Money.of(row.amount, Currency.USD),
        )


def _timeline_rows(info: Info) -> Prefetch:
    # history and timeline share this prefetch: asking both costs one query per page.
    rows = DisputeTransition.objects.select_related("actor").order_by("at", "id")
    return Prefetch("history", queryset=rows)


@strawberry_django.type(
    Dispute,
    name="Dispute",
    only=["status"],
    description="A buyer's dispute on an order: the requested refund, the seller's response, "
    "the platform's arbitration, and the refund paid.",
)
class DisputeType(Scoped, relay.Node):
    scope = staticmethod(selectors.disputes_visible_to)

    platform_dispute_id: str | None
    order: Annotated["OrderType", strawberry.lazy("orders.schema")]
    store: Annotated["SellerAccountType", strawberry.lazy("accounts.schema")]
    reason: DisputeReason
    description: str
    requested_refund: Money = money_field(
        "requested_refund", Currency.USD, description="What the buyer asks back."
    )
    proposed_refund: Money | None = money_field(
        "proposed_refund",
        Currency.USD,
        nullable=True,
        description="The seller's counter-proposal (0.00 when it rejected); null before.",
    )
    final_refund: Money | None = money_field(
        "final_refund",
        Currency.USD,
        nullable=True,
        description="The refund agreed or decided; null until then.",
    )
    protected: bool = strawberry_django.field(
        description="Within after-sales protection: the protection fund pays the refund, not "
        "the store (the store's service points drop)."
    )
    return_required: bool = strawberry_django.field(
        description="The goods come back first: the refund is paid when the seller confirms "
        "the return, or automatically at `returnDueAt` when it never does."
    )
    seller_return: bool = strawberry_django.field(
        description="The seller asked for the goods back on its own account (ACCEPT with "
        "`returnRequired`): the store pays the refund, never the protection fund."
    )
    return_started_at: datetime | None = strawberry_django.field(
        description="When the dispute began awaiting the returned goods; null before."
    )
    status: DisputeStatus
    opened_at: datetime
    respond_by: datetime = strawberry_django.field(
        description="The seller's response deadline: a response must come before this moment; "
        "at it the requested refund is paid automatically."
    )
    escalate_at: datetime = strawberry_django.field(
        description="When a responded dispute goes to platform arbitration automatically."
    )
    responded_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    cancelled_at: datetime | None
    available_transitions: list[AvailableTransition] = transitions_field(only=TRANSITION_ONLY)

    @strawberry_django.field(only=["fault"], description="Decided in arbitration; null before.")
    def fault(self, root: strawberry.Parent[Dispute]) -> DisputeFault | None:
        return choice(DisputeFault, root.fault)

    @strawberry_django.field(
        select_related=["refund"],
        only=["store", "refund"],
        description="The refund paid, with where its money came from (the protection fund, or "
        "the order's escrow and then the store's balances); null before it is paid, or when "
        "you may not see refunds (staff without payouts.view_refund).",
    )
    def refund(self, root: strawberry.Parent[Dispute], info: Info) -> RefundType | None:
        if root.refund_id is None or not may_see(viewer(info), REFUND_PERM, root.store_id):
            return None
        return root.refund  # type: ignore[return-value]

    @strawberry_django.field(
        only=["return_started_at"],
        description="Awaiting a return: when the buyer is refunded automatically if the seller "
        "has not confirmed the returned goods (`returnStartedAt` + RETURN_DAYS); else null.",
    )
    def return_due_at(self, root: strawberry.Parent[Dispute]) -> datetime | None:
        return root.return_due_at if root.status == Dispute.Status.AWAITING_RETURN else None

    @strawberry_django.field(
        only=["escalated_at"],
        description="In arbitration: when the platform's decision is due (`escalatedAt` + "
        "ARBITRATION_SLA_DAYS; a deadline for staff, nothing happens by itself); else null.",
    )
    def arbitration_due_at(self, root: strawberry.Parent[Dispute]) -> datetime | None:
        return root.arbitration_due_at if root.status == Dispute.Status.ARBITRATION else None

    @strawberry_django.field(
        only=AUTO_ACTION_ONLY,
        description="When the deadlines runner acts if nobody does first (for a dispute in "
        "arbitration: when the platform's decision is due); null when nothing is pending.",
    )
    def auto_action_at(self, root: strawberry.Parent[Dispute]) -> datetime | None:
        action = selectors.auto_action(root)
        return action.at if action else None

    @strawberry_django.field(
        only=AUTO_ACTION_ONLY,
        description='What the deadlines runner will do at `autoActionAt`, e.g. "refund USD '
        '23.10 to the buyer", "escalate to platform arbitration" or "refund USD 23.10 to the '
        'buyer (return not confirmed)"; in arbitration the decision staff owe; null when '
        "nothing is pending.",
    )
    def auto_action(self, root: strawberry.Parent[Dispute]) -> str | None:
        action = selectors.auto_action(root)
        return action.description if action else None

    @strawberry_django.field(
        prefetch_related=[_timeline_rows],
        description="State changes, oldest first (the opening, which has no state before, is "
        "in `timeline`).",
    )
    def history(self, root: strawberry.Parent[Dispute], info: Info) -> list[HistoryEntry]:
        return [HistoryEntry.of(row, info) for row in root.history.all() if row.source]

    @strawberry_django.field(
        prefetch_related=[_timeline_rows],
        description="Everything that happened, oldest first, with messages and amounts.",
    )
    def timeline(self, root: strawberry.Parent[Dispute], info: Info) -> list[DisputeTimelineEntry]:
        return [DisputeTimelineEntry.of(row, info) for row in root.history.all()]


@strawberry.type(name="Query")
class Query:
    disputes: Connection[DisputeType] = strawberry_django.connection(
        filters=DisputeFilter,
        order=DisputeSort,
        ordering=None,
        max_results=max_page_size(),
        description="Most urgent first (by `respondBy`). A seller sees its store's disputes; "
        "staff need disputes.view_dispute.",
    )


# --- mutations: resolve the object through the viewer's queryset, then call the service ---


def reloaded(dispute: Dispute) -> Dispute:
    """The dispute as the transaction left it: a service's instance may hold its order as it
    was before the order moved, and amounts as they were given (``23.1``)."""
    return Dispute.objects.get(pk=dispute.pk)


@strawberry.input
class DisputeOpenInput:
    id: strawberry.ID = strawberry.field(description="The order's global ID.")
    reason: DisputeReason
    requested_refund: Decimal = strawberry.field(
        description="USD, above 0 and at most what the order can still refund, 2 decimals."
    )
    description: str = strawberry.field(
        default="", description="The buyer's complaint; also the timeline's first message."
    )
    platform_dispute_id: str | None = strawberry.field(
        default=None, description="The platform's id of the dispute, when it has one (unique)."
    )


@strawberry.input
class DisputeRespondInput:
    id: strawberry.ID
    action: DisputeResponseAction
    amount: Decimal | None = strawberry.field(
        default=None, description="PROPOSE only: USD offered, from 0 to below what was asked."
    )
    note: str = ""
    return_required: bool = strawberry.field(
        default=False,
        description="ACCEPT only: the seller wants the goods back, on its own account: the "
        "dispute goes to the return flow without the after-sales protection, and the store pays "
        "the refund when it confirms the return (or at `returnDueAt`).",
    )


@strawberry.input
class DisputeAcceptProposalInput:
    id: strawberry.ID
    note: str = ""
    return_required: bool = strawberry.field(
        default=False, description="The goods come back before the refund."
    )


@strawberry.input
class DisputeEscalateInput:
    id: strawberry.ID
    note: str = ""


@strawberry.input
class DisputeResolveInput:
    id: strawberry.ID
    amount: Decimal = strawberry.field(
        description="The refund decided, USD, from 0 to what was asked, 2 decimals."
    )
    fault: DisputeFault
    note: str = ""
    return_required: bool = strawberry.field(
        default=False, description="The goods come back before the refund."
    )


@strawberry.input
class DisputeWithdrawInput:
    id: strawberry.ID
    note: str = ""


@strawberry.input
class DisputeConfirmReturnInput:
    id: strawberry.ID
    note: str = ""


DISPUTE = {"id": GlobalId(DisputeType, "dispute_id")}


def _dispute_mutation(service: Any, input_type: type, description: str) -> Any:
    return service_mutation(
        service, input_type, DisputeType, ids=DISPUTE, result=reloaded, description=description
    )


@strawberry.type(name="Mutation")
class Mutation:
    dispute_open = service_mutation(
        services.dispute_open,
        DisputeOpenInput,
        DisputeType,
        ids={"id": GlobalId("orders.schema.OrderType", "order_id")},
        result=reloaded,
        description="Record a buyer's dispute on an order (support, integrations).",
    )
    dispute_respond = _dispute_mutation(
        services.dispute_respond,
        DisputeRespondInput,
        "The seller's response, before `respondBy`.",
    )
    dispute_accept_proposal = _dispute_mutation(
        services.dispute_accept_proposal,
        DisputeAcceptProposalInput,
        "The buyer accepts the seller's proposal (support for the buyer).",
    )
    dispute_escalate = _dispute_mutation(
        services.dispute_escalate,
        DisputeEscalateInput,
        "Either side takes a responded dispute to platform arbitration.",
    )
    dispute_resolve = _dispute_mutation(
        services.dispute_resolve,
        DisputeResolveInput,
        "Platform arbitration (risk staff): the refund and who is at fault.",
    )
    dispute_withdraw = _dispute_mutation(
        services.dispute_withdraw,
        DisputeWithdrawInput,
        "The buyer withdraws the dispute (support for the buyer).",
    )
    dispute_confirm_return = _dispute_mutation(
        services.dispute_confirm_return,
        DisputeConfirmReturnInput,
        "The seller confirms the returned goods: the agreed refund is paid.",
    )
