"""GraphQL for orders and payment reminders. Thin: every write is a call to orders.services."""

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.db.models import F, Q
from strawberry import UNSET, Info, relay

from backoffice.graphql import (
    AvailableTransition,
    ChoiceFilter,
    Connection,
    DateTimeRange,
    FieldChangeEntry,
    GlobalId,
    HistoryEntry,
    Money,
    Scoped,
    StableOrder,
    TextFilter,
    aware,
    changes_field,
    choice,
    enum_from_choices,
    history_field,
    max_page_size,
    money_field,
    mutation,
    require_user,
    service_mutation,
    store_pk,
    transitions_field,
)
from backoffice.graphql.actors import actor_name
from orders import selectors, services
from orders.models import (
    CANCEL_REASONS,
    EndReason,
    Order,
    OrderLine,
    OrderTransition,
    PaymentReminder,
)
from orders.models import PaymentMethod as PaymentMethodChoices
from payouts.schema_types import RefundType, commission_field, escrow_field, refunds_field

if TYPE_CHECKING:
    from accounts.schema import SellerAccountType
    from disputes.schema import DisputeType

RATE_PLACES = Decimal("0.000001")  # exchange rates are shown with 6 decimals, as payouts show them

OrderStatus = enum_from_choices("OrderStatus", Order.Status.choices)
PaymentMethod = enum_from_choices("PaymentMethod", PaymentMethodChoices.choices)
OrderEndReason = enum_from_choices("OrderEndReason", EndReason.choices)
OrderCancelReason = enum_from_choices(
    "OrderCancelReason", [(r.value, r.label) for r in CANCEL_REASONS]
)


@strawberry_django.filter_type(Order, name="OrderFilter")
class OrderFilter:
    status: ChoiceFilter[OrderStatus] | None = UNSET
    order_number: TextFilter | None = UNSET

    @strawberry_django.filter_field
    def placed_at(self, value: DateTimeRange, prefix: str) -> Q:
        return value.q(f"{prefix}placed_at", field="placedAt")

    @strawberry_django.filter_field(description="The store's global ID.")
    def store(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = store_pk(value)
        return Q(pk__in=[]) if pk is None else Q(**{f"{prefix}store_id": pk})


@strawberry.input(name="OrderSort", one_of=True)
class OrderSort(StableOrder):
    placed_at: strawberry_django.Ordering | None = UNSET
    amount: strawberry_django.Ordering | None = UNSET
    order_number: strawberry_django.Ordering | None = UNSET


@strawberry_django.type(PaymentReminder, name="PaymentReminder")
class PaymentReminderType(Scoped, relay.Node):
    scope = staticmethod(selectors.payment_reminders_visible_to)

    sent_at: datetime
    message: str
    order: "OrderType"

    @strawberry_django.field(select_related=["sent_by"], only=["sent_by__username"])
    def sent_by(self, root: strawberry.Parent[PaymentReminder], info: Info) -> str | None:
        """The sender (a staff member's role for a seller, see `HistoryEntry.by`); null for
        the system."""
        return actor_name(info, root.sent_by)


@strawberry.type(name="Parcel", description="One parcel of an order's shipment.")
class Parcel:
    carrier: str
    tracking_number: str


@strawberry_django.type(OrderLine, name="OrderLine", description="One product of an order.")
class OrderLineType:
    sku: str
    quantity: int
    unit_price: Money | None = money_field(
        "unit_price", "USD", nullable=True, description="Null when the export gave no price."
    )


@strawberry_django.type(Order, name="Order", only=["status"])
class OrderType(Scoped, relay.Node):
    scope = staticmethod(selectors.orders_visible_to)

    order_number: str
    store: Annotated["SellerAccountType", strawberry.lazy("accounts.schema")]
    buyer_name: str
    buyer_country: str
    amount: Money = money_field("amount", "USD", description="What the buyer pays.")
    product_total: Money | None = money_field("product_total", "USD", nullable=True)
    shipping_cost: Money | None = money_field("shipping_cost", "USD", nullable=True)
    status: OrderStatus
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    carrier: str = strawberry_django.field(description="The first parcel's (all: `parcels`).")
    tracking_number: str = strawberry_django.field(
        description="The first parcel's (all: `parcels`)."
    )
    protected: bool = strawberry_django.field(description="Covered by after-sales protection.")
    product_info: str
    lines: list[OrderLineType] = strawberry_django.field(
        description="The products ordered (an out-of-stock cancellation delists their SKUs)."
    )
    rating: int | None = strawberry_django.field(
        description="The buyer's rating, 1 to 5 stars (4 and 5 are positive); null when unrated."
    )
    rated_at: datetime | None
    history: list[HistoryEntry] = history_field(OrderTransition)
    changes: list[FieldChangeEntry] = changes_field()
    # The guards read completed_at (dispute window), the store (seller permission) and its
    # status (a closed store's orders cannot be paid).
    available_transitions: list[AvailableTransition] = transitions_field(
        only=["status", "store", "completed_at"],
        annotate={"store_status": lambda info: F("store__status")},
    )
    payment_reminders: Connection[PaymentReminderType] = strawberry_django.connection(
        ordering=None, max_results=max_page_size(), description="Newest first."
    )
    escrow: Money | None = escrow_field()
    commission: Money | None = commission_field()
    refunds: list[RefundType] = refunds_field()
    disputes: Connection[Annotated["DisputeType", strawberry.lazy("disputes.schema")]] = (
        strawberry_django.connection(
            ordering=None,
            max_results=max_page_size(),
            description="The order's disputes (at most one open at a time), oldest first; "
            "empty when you may not see them (staff without disputes.view_dispute).",
        )
    )

    @strawberry_django.field(
        only=["parcels"],
        description="Every parcel of the shipment, as the platform lists them; empty until "
        "shipped.",
    )
    def parcels(self, root: strawberry.Parent[Order]) -> list[Parcel]:
        return [
            Parcel(carrier=p.get("carrier", ""), tracking_number=p.get("tracking_number", ""))
            for p in root.parcels or []
        ]

    @strawberry_django.field(
        only=["original_amount", "original_currency"],
        description="What the buyer paid in the currency the platform priced the order in "
        "(CNY), when not USD; `amount` is that in USD at `conversionRate`. Null for a USD order.",
    )
    def original_amount(self, root: strawberry.Parent[Order]) -> Money | None:
        if not root.original_currency:
            return None
        return Money.of(root.original_amount, root.original_currency)

    @strawberry_django.field(
        only=["conversion_rate"],
        description="CNY per USD, 6 decimals: the rate `originalAmount` was converted to "
        "`amount` at. Null for a USD order.",
    )
    def conversion_rate(self, root: strawberry.Parent[Order]) -> Decimal | None:
        if root.conversion_rate is None:
            return None
        return Decimal(root.conversion_rate).quantize(RATE_PLACES)

    @strawberry_django.field(
        only=["placed_at", "shipped_at"],
        description="What the deadlines runner does to the order next if nobody acts first: "
        '"cancel (not paid in time)" for an unpaid order, "confirm receipt (escrow released to '
        'the store)" for a shipped one; null otherwise (a disputed order follows its dispute).',
    )
    def auto_action(self, root: strawberry.Parent[Order]) -> str | None:
        action = selectors.auto_action(root)
        return action.description if action else None

    @strawberry_django.field(
        only=["placed_at", "shipped_at"],
        description="When `autoAction` happens: `placedAt` + UNPAID_CANCEL_DAYS, or `shippedAt` "
        "+ AUTO_CONFIRM_DAYS; the runner acts from this moment on.",
    )
    def auto_action_at(self, root: strawberry.Parent[Order]) -> datetime | None:
        action = selectors.auto_action(root)
        return action.at if action else None

    @strawberry_django.field(only=["payment_method"])
    def payment_method(self, root: strawberry.Parent[Order]) -> PaymentMethod | None:
        return choice(PaymentMethod, root.payment_method)

    @strawberry_django.field(only=["end_reason"])
    def end_reason(self, root: strawberry.Parent[Order]) -> OrderEndReason | None:
        return choice(OrderEndReason, root.end_reason)

    @strawberry_django.field(
        only=["status"], annotate={"last_reminder_at": lambda info: selectors.last_reminder_at()}
    )
    def next_reminder_at(self, root: strawberry.Parent[Order]) -> datetime | None:
        """When the next payment reminder may be sent; null when one may go now (or the order
        is not unpaid)."""
        if not hasattr(root, "last_reminder_at"):  # an order returned by a mutation
            root.last_reminder_at = root.payment_reminders.values_list("sent_at", flat=True).first()
        return selectors.next_reminder_at(status=root.status, last_sent_at=root.last_reminder_at)


@strawberry.type(name="Query")
class Query:
    orders: Connection[OrderType] = strawberry_django.connection(
        filters=OrderFilter, order=OrderSort, ordering=None, max_results=max_page_size()
    )


# --- mutations: resolve the object through the viewer's queryset, then call the service ---


def order_pk(info: Info, global_id: str) -> int:
    """For a hand-written resolver: the order ``global_id`` names, if the viewer sees it."""
    return OrderType.pk_of(info, global_id)


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int = 1
    unit_price: Decimal = strawberry.field(description="In USD, at most 2 decimals.")


@strawberry.input
class OrderCreateInput:
    store_id: strawberry.ID
    order_number: str
    amount: Decimal = strawberry.field(description="In USD, at most 2 decimals.")
    buyer_name: str = ""
    buyer_country: str = ""
    product_total: Decimal | None = None
    shipping_cost: Decimal | None = None
    protected: bool = False
    product_info: str = ""
    placed_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    lines: list[OrderLineInput] = strawberry.field(
        default_factory=list,
        description="The products ordered; their total is the product total (the amount when "
        "no product total is given).",
    )


@strawberry.input(
    description="An order's descriptive fields; a field left out stays as it is. Each change "
    "is recorded with its old and new value and who (`Order.changes`)."
)
class OrderUpdateInput:
    id: strawberry.ID
    buyer_name: str | None = None
    buyer_country: str | None = None
    product_info: str | None = None
    note: str = strawberry.field(default="", description="Why; kept with each change.")


@strawberry.input
class OrderMarkPaidInput:
    id: strawberry.ID
    payment_method: PaymentMethod | None = None
    note: str = ""


@strawberry.input
class OrderShipInput:
    id: strawberry.ID
    carrier: str
    tracking_number: str
    note: str = ""


@strawberry.input
class OrderConfirmReceiptInput:
    id: strawberry.ID
    note: str = ""


@strawberry.input
class OrderCancelInput:
    id: strawberry.ID
    reason: OrderCancelReason
    delist_product: bool = strawberry.field(
        default=False, description="Delist the product too (out of stock only)."
    )
    note: str = ""


@strawberry.input
class OrderSendPaymentReminderInput:
    id: strawberry.ID
    message: str = strawberry.field(default="", description="Default: the standard text.")


@strawberry.input
class OrderRecordRatingInput:
    id: strawberry.ID = strawberry.field(description="The order's global ID (a completed order).")
    rating: int = strawberry.field(description="The buyer's stars, 1 to 5 (4 and 5 are positive).")


ORDER = {"id": GlobalId(OrderType, "order_id")}


@strawberry.type(name="Mutation")
class Mutation:
    order_create = service_mutation(
        services.order_create,
        OrderCreateInput,
        OrderType,
        ids={"store_id": GlobalId("accounts.schema.SellerAccountType", "store_id")},
        convert={
            "placed_at": partial(aware, field="placedAt"),
            "lines": lambda lines: [services.Line(x.sku, x.quantity, x.unit_price) for x in lines],
        },
    )
    order_mark_paid = service_mutation(
        services.order_mark_paid,
        OrderMarkPaidInput,
        OrderType,
        ids=ORDER,
        convert={"payment_method": lambda method: method or ""},
    )
    order_ship = service_mutation(services.order_ship, OrderShipInput, OrderType, ids=ORDER)
    order_confirm_receipt = service_mutation(
        services.order_confirm_receipt, OrderConfirmReceiptInput, OrderType, ids=ORDER
    )
    order_cancel = service_mutation(services.order_cancel, OrderCancelInput, OrderType, ids=ORDER)
    order_send_payment_reminder = service_mutation(
        services.order_send_payment_reminder,
        OrderSendPaymentReminderInput,
        PaymentReminderType,
        ids=ORDER,
        description="Returns the reminder sent; its `order` gives the next allowed time.",
    )
    order_record_rating = service_mutation(
        services.order_record_rating,
        OrderRecordRatingInput,
        OrderType,
        ids=ORDER,
        description="The buyer's rating of a completed order, from the platform's feedback "
        "feed (the `integration` role: orders.record_rating); it counts in the store's "
        "health. A new rating replaces the previous one.",
    )

    @mutation(
        description="Changes an order's buyer name, buyer country or product info through the "
        "audited update service: staff with orders.change_order, as in the admin (no role "
        "holds it by default); never the store's sellers (the platform's export is the record)."
    )
    def order_update(self, info: Info, input: OrderUpdateInput) -> OrderType:
        actor = require_user(info)
        return services.order_update(
            order_id=order_pk(info, input.id),
            actor=actor,
            note=input.note,
            buyer_name=input.buyer_name,
            buyer_country=input.buyer_country,
            product_info=input.product_info,
        )
