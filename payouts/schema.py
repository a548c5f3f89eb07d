"""GraphQL for money: the ledger ("fund records"), payouts, exchange rates, and the staff and
seller mutations on them, the promotion wallet's included. Thin: every write is a call to
payouts.services or payouts.promotion.

The money fields of stores and orders (balances, reserve schedule, early payout, escrow,
refunds) are in :mod:`payouts.schema_types`.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.db.models import Q
from django.utils.translation import gettext_noop
from strawberry import UNSET, Info, relay

from accounts.models import SellerAccount
from backoffice.graphql import (
    AvailableTransition,
    ChoiceFilter,
    Connection,
    DateRange,
    DateTimeRange,
    GlobalId,
    HistoryEntry,
    Money,
    Scoped,
    SettlementCurrency,
    StableOrder,
    enum_from_choices,
    filter_pk,
    history_field,
    money_field,
    service_mutation,
    store_pk,
    transitions_field,
)
from backoffice.graphql.actors import BY, actor_name
from backoffice.money import Currency
from payouts import promotion, selectors, services
from payouts.ledger import to_cents
from payouts.models import (
    HELD_ATTRS,
    Account,
    ExchangeRate,
    LedgerEntry,
    Payout,
    PayoutTransition,
    Posting,
    PromotionWallet,
    Receivable,
)
from payouts.schema_types import (
    PromotionMovementType,
    PromotionTopUpMethod,
    RefundType,
    page_field,
)

if TYPE_CHECKING:
    from accounts.schema import SellerAccountType
    from orders.schema import OrderType

# Other apps' types, resolved when the schema is built (this module imports neither).
StoreRef = Annotated["SellerAccountType", strawberry.lazy("accounts.schema")]
OrderRef = Annotated["OrderType", strawberry.lazy("orders.schema")]
LedgerAccount = enum_from_choices(
    "LedgerAccount",
    Account.choices,
    description=gettext_noop(
        "escrow, available, reserve, promotion and debt belong to a store; the others "
        "are the platform's side of each movement."
    ),
)
PostingKind = enum_from_choices("PostingKind", Posting.Kind.choices)
PayoutStatus = enum_from_choices("PayoutStatus", Payout.Status.choices)

RATE_PLACES = Decimal("0.000001")


def _pk_of(value: relay.GlobalID, type_name: str, *, field: str) -> int | None:
    """The pk a filter's global ID names; ``None`` (matches nothing) for another type."""
    return filter_pk(value, type_name, field=field)


def _choice_q(lookup: str, value: ChoiceFilter) -> Q:
    q = Q()
    if value.exact not in (UNSET, None):
        q &= Q(**{lookup: value.exact})
    if value.in_list not in (UNSET, None):
        q &= Q(**{f"{lookup}__in": value.in_list})
    return q


# --- payouts ---


@strawberry_django.filter_type(Payout, name="PayoutFilter")
class PayoutFilter:
    status: ChoiceFilter[PayoutStatus] | None = UNSET

    @strawberry_django.filter_field(description="The store's global ID.")
    def store(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = store_pk(value)
        return Q(pk__in=[]) if pk is None else Q(**{f"{prefix}store_id": pk})

    @strawberry_django.filter_field
    def requested_at(self, value: DateTimeRange, prefix: str) -> Q:
        return value.q(f"{prefix}requested_at", field="requestedAt")


@strawberry.input(name="PayoutSort", one_of=True)
class PayoutSort(StableOrder):
    requested_at: strawberry_django.Ordering | None = UNSET
    amount: strawberry_django.Ordering | None = UNSET


# What a payout's hold (held_reason, the mark_paid guard) reads, loaded with the page.
PAYOUT_HOLD = {
    name: (lambda info, name=name: selectors.payout_hold_annotations()[name]) for name in HELD_ATTRS
}


@strawberry_django.type(
    Payout,
    name="Payout",
    only=["status"],
    description="A withdrawal of the store's available balance (USD), paid in USD or in CNY "
    "at the request day's rate.",
)
class PayoutType(Scoped, relay.Node):
    scope = staticmethod(selectors.payouts_visible_to)

    store: StoreRef
    amount: Money = money_field("amount", Currency.USD, description="Taken from available.")
    status: PayoutStatus
    requested_at: datetime
    paid_at: datetime | None
    failed_at: datetime | None
    failure_reason: str
    history: list[HistoryEntry] = history_field(PayoutTransition)
    available_transitions: list[AvailableTransition] = transitions_field(
        only=["status", "store"], annotate=PAYOUT_HOLD
    )

    @strawberry_django.field(
        only=["status", "store"],
        annotate=PAYOUT_HOLD,
        description="Why this requested payout may not be paid now (its store owes the "
        "platform or is frozen for a risk reason); null when it may be (or is settled). It "
        "becomes payable again once the cause is gone.",
    )
    def held_reason(self, root: strawberry.Parent[Payout]) -> str | None:
        return root.held_reason or None

    @strawberry_django.field(
        only=["currency"],
        description="What the store receives: USD, or CNY converted at `rate`.",
    )
    def currency(self, root: strawberry.Parent[Payout]) -> SettlementCurrency:
        return SettlementCurrency(root.currency)

    @strawberry_django.field(
        only=["rate"],
        description="USD/CNY rate of the request day (CNY payouts only), 6 decimals.",
    )
    def rate(self, root: strawberry.Parent[Payout]) -> Decimal | None:
        return None if root.rate is None else Decimal(root.rate).quantize(RATE_PLACES)

    @strawberry_django.field(
        only=["payout_amount", "currency"],
        description="What the store receives, in `currency`.",
    )
    def payout_amount(self, root: strawberry.Parent[Payout]) -> Money:
        return Money(amount=root.payout_amount, currency=root.currency)

    @strawberry_django.field(
        select_related=["requested_by"],
        only=["requested_by__username"],
        description=BY,
    )
    def requested_by(self, root: strawberry.Parent[Payout], info: Info) -> str | None:
        return actor_name(info, root.requested_by)


# --- the ledger ---


@strawberry_django.type(
    Posting,
    name="Posting",
    description="One balanced movement: its entries sum to zero per currency.",
)
class PostingType:
    reference: str = strawberry_django.field(description="Unique: a retry never posts twice.")
    memo: str
    at: datetime

    @strawberry_django.field(only=["kind"])
    def kind(self, root: strawberry.Parent[Posting]) -> PostingKind:
        return PostingKind(root.kind)


@strawberry_django.filter_type(LedgerEntry, name="LedgerEntryFilter")
class LedgerEntryFilter:
    account: ChoiceFilter[LedgerAccount] | None = UNSET

    @strawberry_django.filter_field(description="The store's global ID.")
    def store(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = store_pk(value)
        return Q(pk__in=[]) if pk is None else Q(**{f"{prefix}store_id": pk})

    @strawberry_django.filter_field(description="The kind of movement.")
    def kind(self, value: ChoiceFilter[PostingKind], prefix: str) -> Q:
        return _choice_q(f"{prefix}posting__kind", value)

    @strawberry_django.filter_field
    def at(self, value: DateTimeRange, prefix: str) -> Q:
        return value.q(f"{prefix}at", field="at")

    @strawberry_django.filter_field(
        name="order",
        description="The order's global ID: the movements about that order, and the legs "
        "tracked against it (its escrow and its reserve, even when another order's refund "
        "drew on that reserve).",
    )
    def of_order(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = _pk_of(value, "Order", field="order")
        if pk is None:
            return Q(pk__in=[])
        return Q(**{f"{prefix}order_id": pk}) | Q(**{f"{prefix}posting__order_id": pk})

    @strawberry_django.filter_field(description="The payout's global ID.")
    def payout(self, value: relay.GlobalID, prefix: str) -> Q:
        pk = _pk_of(value, "Payout", field="payout")
        return Q(pk__in=[]) if pk is None else Q(**{f"{prefix}posting__payout_id": pk})


@strawberry.input(name="LedgerEntrySort", one_of=True)
class LedgerEntrySort(StableOrder):
    at: strawberry_django.Ordering | None = UNSET


@strawberry_django.type(
    LedgerEntry,
    name="LedgerEntry",
    description="One leg of a posting: a signed amount on one account. Positive on a store "
    "account means more owed to the store; the legs of one posting sum to zero.",
)
class LedgerEntryType(Scoped, relay.Node):
    scope = staticmethod(selectors.ledger_entries_visible_to)

    account: LedgerAccount
    at: datetime
    posting: PostingType
    store: StoreRef | None = strawberry_django.field(description="Null for the platform's legs.")
    order: OrderRef | None = strawberry_django.field(
        field_name="posting__order",
        description="The order the movement is about (payment, release, early payout, refund, "
        "reserve release); null for payouts.",
    )
    payout: PayoutType | None = strawberry_django.field(
        field_name="posting__payout", description="The payout the movement is about."
    )
    refund: RefundType | None = strawberry_django.field(
        field_name="posting__refund", description="The refund, with where its money came from."
    )
    promotion_movement: PromotionMovementType | None = strawberry_django.field(
        field_name="posting__promotion",
        description="The promotion wallet movement (top-up, ad charge, adjustment, set-off, "
        "return at closure) the posting records; null for other movements.",
    )

    @strawberry_django.field(
        only=["amount", "currency"],
        description="Signed: positive on a store account adds to what the platform owes it.",
    )
    def amount(self, root: strawberry.Parent[LedgerEntry]) -> Money:
        return Money(amount=root.amount, currency=root.currency)


# --- exchange rates ---


@strawberry_django.filter_type(ExchangeRate, name="ExchangeRateFilter")
class ExchangeRateFilter:
    @strawberry_django.filter_field
    def date(self, value: DateRange, prefix: str) -> Q:
        return value.q(f"{prefix}date")


@strawberry.input(name="ExchangeRateSort", one_of=True)
class ExchangeRateSort(StableOrder):
    date: strawberry_django.Ordering | None = UNSET


@strawberry_django.type(
    ExchangeRate,
    name="ExchangeRate",
    description="CNY for one unit of `currency` on `date`.",
)
class ExchangeRateType(Scoped, relay.Node):
    scope = staticmethod(selectors.exchange_rates_visible_to)

    date: date
    updated_at: datetime

    @strawberry_django.field(only=["currency"])
    def currency(self, root: strawberry.Parent[ExchangeRate]) -> SettlementCurrency:
        return SettlementCurrency(root.currency)

    @strawberry_django.field(
        only=["rate_to_cny"],
        description='6 decimals, e.g. "7.120000".',
    )
    def rate_to_cny(self, root: strawberry.Parent[ExchangeRate]) -> Decimal:
        return Decimal(root.rate_to_cny).quantize(RATE_PLACES)

    @strawberry_django.field(
        select_related=["set_by"],
        only=["set_by__username"],
        description="Who set it last (as `HistoryEntry.by`); null for the system (imports).",
    )
    def set_by(self, root: strawberry.Parent[ExchangeRate], info: Info) -> str | None:
        return actor_name(info, root.set_by)


@strawberry_django.type(
    Receivable,
    name="Receivable",
    description="A closed store's debt to the platform that the set-off could not collect.",
)
class ReceivableType(Scoped, relay.Node):
    scope = staticmethod(selectors.receivables)

    name: str
    platform_store_id: str
    closed_at: datetime | None

    @strawberry_django.field(description="Promotion arrears still owed (CNY).")
    def promotion_arrears(self, root: strawberry.Parent[Receivable]) -> Money:
        return Money(amount=to_cents(root.owed_cny), currency=Currency.CNY)

    @strawberry_django.field(description="Refunds the store could not cover, still owed (USD).")
    def debt(self, root: strawberry.Parent[Receivable]) -> Money:
        return Money(amount=to_cents(root.owed_usd), currency=Currency.USD)


@strawberry.type(name="Query")
class Query:
    receivables: Connection[ReceivableType] = page_field(
        description="Closed stores that still owe the platform after their promotion arrears "
        "were set off against their available balance: a receivable for finance (staff with "
        "payouts.view_receivable), most recently closed first.",
    )
    ledger_entries: Connection[LedgerEntryType] = page_field(
        filters=LedgerEntryFilter,
        order=LedgerEntrySort,
        description='The "fund records": every movement of your store\'s money, oldest first, '
        "each linked to its order, payout or refund. Staff with payouts.view_ledgerentry see "
        "every store's entries and the platform's legs.",
    )
    payouts: Connection[PayoutType] = page_field(
        filters=PayoutFilter,
        order=PayoutSort,
        description="Newest first. A seller sees its store's payouts; staff need "
        "payouts.view_payout.",
    )
    exchange_rates: Connection[ExchangeRateType] = page_field(
        filters=ExchangeRateFilter,
        order=ExchangeRateSort,
        description="USD/CNY rates by day, newest first.",
    )


# --- mutations: resolve the object through the viewer's queryset, then call the service ---


@strawberry.input
class EarlyPayoutSetInput:
    id: strawberry.ID = strawberry.field(description="The store's global ID.")
    eligible: bool
    reserve_rate: Decimal = strawberry.field(
        description='A fraction from 0 to below 1 with at most 4 decimals: "0.10" is 10 %.'
    )
    reason: str = ""


@strawberry.input
class PayoutRequestInput:
    id: strawberry.ID = strawberry.field(description="The store's global ID.")
    amount: Decimal = strawberry.field(
        description="USD taken from the available balance, at most 2 decimals."
    )
    currency: SettlementCurrency | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Paid in USD, or in CNY at today's rate (no rate for today: "
        "`no_exchange_rate`); by default in the store's settlement currency. A USD payout of "
        "a store settled in CNY is refused unless the platform allows it "
        "(PAYOUT_ALLOW_USD_FOR_CNY_STORES).",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Optional, at most 100 characters: a repeat with the same key and input "
        "returns the first payout and moves nothing; with another input it is "
        "`idempotency_conflict`.",
    )


SETTLE_KEY_HELP = (
    "Optional: a repeat with the same key and input returns the payout as the first call left "
    "it; without a key a repeat is `invalid_transition`."
)


@strawberry.input
class PayoutMarkPaidInput:
    id: strawberry.ID
    note: str = ""
    idempotency_key: str | None = strawberry.field(default=None, description=SETTLE_KEY_HELP)


@strawberry.input
class PayoutMarkFailedInput:
    id: strawberry.ID
    reason: str
    idempotency_key: str | None = strawberry.field(default=None, description=SETTLE_KEY_HELP)


@strawberry.input
class ExchangeRateSetInput:
    date: date
    rate: Decimal = strawberry.field(description="CNY per unit, > 0, at most 6 decimals.")
    currency: SettlementCurrency = SettlementCurrency(Currency.USD)  # type: ignore[assignment]


REFERENCE_HELP = (
    "Optional, at most 100 characters: the statement line or payment id. Unique: a repeat "
    "with the same movement returns the first and moves nothing; with another amount or store "
    "it is `idempotency_conflict`."
)
IDEMPOTENCY_HELP = (
    "Optional, at most 100 characters: a repeat with the same key and input returns the first "
    "movement and moves nothing; with another input it is `idempotency_conflict`."
)


@strawberry.input
class PromotionTopUpInput:
    id: strawberry.ID = strawberry.field(description="The store's global ID.")
    amount: Decimal = strawberry.field(description="CNY, above 0, at most 2 decimals.")
    method: PromotionTopUpMethod = strawberry.field(  # type: ignore[valid-type]
        description="BANK_TRANSFER is recorded by finance only."
    )
    reference: str | None = strawberry.field(default=None, description=REFERENCE_HELP)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class PromotionChargeInput:
    id: strawberry.ID = strawberry.field(description="The store's global ID.")
    amount: Decimal = strawberry.field(
        description="The spend, CNY, above 0, at most 2 decimals (the wallet goes down by it)."
    )
    day: date | None = strawberry.field(
        default=None,
        description="The day of ad spend charged (not after today). Without a `reference`, "
        "the charge's reference is made from the store and the day: one charge per store and "
        "day.",
    )
    reference: str | None = strawberry.field(default=None, description=REFERENCE_HELP)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class PromotionAdjustInput:
    id: strawberry.ID = strawberry.field(description="The store's global ID.")
    amount: Decimal = strawberry.field(
        description="CNY, signed: positive credits the wallet, negative debits it; not 0."
    )
    note: str = strawberry.field(description="Why the wallet is adjusted (required).")
    reference: str | None = strawberry.field(default=None, description=REFERENCE_HELP)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class PromotionSetThresholdInput:
    id: strawberry.ID = strawberry.field(description="The store's global ID.")
    threshold: Decimal = strawberry.field(
        description="CNY, 0 or more, at most 2 decimals; 0 turns the low-balance notices off."
    )


STORE = {"id": GlobalId("accounts.schema.SellerAccountType", "store_id")}
PAYOUT = {"id": GlobalId(PayoutType, "payout_id")}


def _store_of_wallet(wallet: PromotionWallet) -> SellerAccount:
    return SellerAccount.objects.get(pk=wallet.store_id)


@strawberry.type(name="Mutation")
class Mutation:
    early_payout_set = service_mutation(
        services.early_payout_set,
        EarlyPayoutSetInput,
        StoreRef,
        ids=STORE,
        result=lambda terms: terms.store,
        description="Staff override of a store's early-payout eligibility and reserve.",
    )
    payout_request = service_mutation(
        services.payout_request,
        PayoutRequestInput,
        PayoutType,
        ids=STORE,
        description="Withdraw from the store's available balance.",
    )
    payout_mark_paid = service_mutation(
        services.payout_mark_paid, PayoutMarkPaidInput, PayoutType, ids=PAYOUT
    )
    payout_mark_failed = service_mutation(
        services.payout_mark_failed,
        PayoutMarkFailedInput,
        PayoutType,
        ids=PAYOUT,
        description="The payout failed: its money returns to the available balance.",
    )
    exchange_rate_set = service_mutation(
        services.exchange_rate_set,
        ExchangeRateSetInput,
        ExchangeRateType,
        rename={"date": "day"},
        description="Set the USD/CNY rate of a day (replaces that day's rate).",
    )
    promotion_top_up = service_mutation(
        promotion.promotion_top_up,
        PromotionTopUpInput,
        PromotionMovementType,
        ids=STORE,
        description="Money into the store's promotion wallet (CNY): Alipay or credit card by "
        "the seller or finance, an offline bank transfer recorded by finance. It pays arrears "
        "first; a closed store takes none (`invalid_transition`).",
    )
    promotion_charge = service_mutation(
        promotion.promotion_charge,
        PromotionChargeInput,
        PromotionMovementType,
        ids=STORE,
        description="The ad system's daily spend (finance, integrations): it may take the "
        "wallet below zero (arrears). A frozen or closed store runs no promotions: "
        "`invalid_transition`.",
    )
    promotion_adjust = service_mutation(
        promotion.promotion_adjust,
        PromotionAdjustInput,
        PromotionMovementType,
        ids=STORE,
        description="A finance correction of the wallet, positive or negative, with a note.",
    )
    promotion_set_threshold = service_mutation(
        promotion.promotion_set_threshold,
        PromotionSetThresholdInput,
        StoreRef,
        ids=STORE,
        result=_store_of_wallet,
        description="The store's low-balance threshold (the seller or finance).",
    )
