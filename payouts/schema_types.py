"""The money types that other apps' GraphQL types embed: a store's balances, reserve schedule
and early-payout terms, an order's escrow and refunds.

They live apart from :mod:`payouts.schema` (which imports the accounts and orders schemas for
its own types) so that ``accounts.schema`` and ``orders.schema`` can import them without a
cycle. Each ``*_field()`` builds a field with its optimizer hints, so that a page of stores or
orders costs the same number of queries whatever its size.
"""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from django.db.models import F, Q, QuerySet
from strawberry import Info, relay

from backoffice.graphql import Money, max_page_size, money_field, viewer
from backoffice.money import Currency
from payouts import selectors
from payouts.ledger import balance as ledger_balance
from payouts.ledger import exact, store_balances
from payouts.models import STORE_ACCOUNTS, Account, Refund, ReserveHold

if TYPE_CHECKING:
    from orders.schema import OrderType

RATE = Decimal("0.0001")


@strawberry.type(
    description="A store's balances, derived from the ledger. Escrow, available, reserve and "
    "debt are in USD; the promotion wallet is in CNY."
)
class Balances:
    escrow: Money = strawberry.field(description="Paid by buyers, not released to the store yet.")
    available: Money = strawberry.field(description="What the store may withdraw.")
    reserve: Money = strawberry.field(
        description="Early-payout deposit held against later refunds (see `reserveSchedule`)."
    )
    promotion: Money = strawberry.field(
        description="Promotion wallet (CNY); negative while the store is in arrears."
    )
    debt: Money = strawberry.field(
        description="The ledger balance of the store's debt: NEGATIVE while the store owes the "
        "platform (refunds its balances could not cover), 0.00 otherwise. Future releases "
        "pay it back first."
    )

    @classmethod
    def of(cls, totals: dict[str, Decimal]) -> "Balances":
        def usd(account: str) -> Money:
            return Money(amount=totals[account], currency=Currency.USD)

        return cls(
            escrow=usd(Account.ESCROW),
            available=usd(Account.AVAILABLE),
            reserve=usd(Account.RESERVE),
            promotion=Money(amount=totals[Account.PROMOTION], currency=Currency.CNY),
            debt=usd(Account.DEBT),
        )


@strawberry.type(description="Whether the store is paid early (shipment + delay) and its reserve.")
class EarlyPayout:
    eligible: bool
    reserve_rate: Decimal = strawberry.field(
        description="Share of each early-paid order held as reserve, as a fraction with 4 "
        'decimals: "0.1000" is 10 %.'
    )
    reason: str
    since: datetime | None = strawberry.field(
        description="When the current eligibility began; null when never evaluated."
    )


NOT_EVALUATED = "not evaluated yet"


@strawberry_django.type(
    Refund,
    name="Refund",
    description="A refund to the buyer and where its money came from: the order's escrow, "
    "then the store's available balance, then its reserve; what remains became store debt. "
    "Refunds covered by after-sales protection are paid by the protection fund.",
)
class RefundType(relay.Node):
    amount: Money = money_field("amount", Currency.USD)
    from_escrow: Money = money_field("from_escrow", Currency.USD)
    from_available: Money = money_field("from_available", Currency.USD)
    from_reserve: Money = money_field("from_reserve", Currency.USD)
    to_debt: Money = money_field("to_debt", Currency.USD)
    from_protection_fund: Money = money_field("from_protection_fund", Currency.USD)
    reason: str
    at: datetime

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: Info, **kwargs: Any) -> QuerySet:
        return selectors.refunds_visible_to(viewer(info), queryset)


@strawberry_django.filter_type(ReserveHold, name="ReserveHoldFilter")
class ReserveHoldFilter:
    @strawberry_django.filter_field(description="true: released holds only; false: upcoming only.")
    def released(self, value: bool, prefix: str) -> Q:
        return Q(**{f"{prefix}released_at__isnull": not value})


@strawberry_django.type(
    ReserveHold,
    name="ReserveHold",
    description="The reserve held back from one order's early payout, and when it is released.",
)
class ReserveHoldType(relay.Node):
    order: Annotated["OrderType", strawberry.lazy("orders.schema")]
    held: Money = money_field(
        "held", Currency.USD, description="Held back at the order's early payout."
    )
    held_at: datetime
    release_at: datetime | None = strawberry_django.field(
        description="Set when the store loses eligibility (notice + 180 days) or closes "
        "(shipment + 180 days); null while no date is set."
    )
    released_at: datetime | None

    @strawberry_django.field(only=["released_at"])
    def released(self, root: strawberry.Parent[ReserveHold]) -> bool:
        return root.released_at is not None

    @strawberry_django.field(
        only=["order"],
        annotate={"reserve_left": lambda info: selectors.hold_remaining()},
        description="What is left of it (refunds may draw on it); 0.00 once released.",
    )
    def remaining(self, root: strawberry.Parent[ReserveHold]) -> Money:
        if hasattr(root, "reserve_left"):
            left = exact(root.reserve_left)
        else:  # a hold loaded without the annotation
            left = ledger_balance(order_id=root.order_id, account=Account.RESERVE)
        return Money(amount=left, currency=Currency.USD)

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: Info, **kwargs: Any) -> QuerySet:
        # Upcoming releases first by date (no date yet: after them), then released holds.
        return selectors.reserve_holds_visible_to(viewer(info), queryset).order_by(
            F("released_at").asc(nulls_first=True),
            F("release_at").asc(nulls_last=True),
            "held_at",
            "pk",
        )


# --- fields for SellerAccount ---


def balances_field() -> Any:
    """``SellerAccount.balances``: five subqueries on the page's query, none per store."""

    def resolve(root: strawberry.Parent[Any], info: Info) -> Balances | None:
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.pk):
            return None
        totals = selectors.annotated_balances(root)
        return Balances.of(totals if totals is not None else store_balances(root.pk))

    return strawberry_django.field(
        resolver=resolve,
        annotate={
            selectors.balance_attr(account): (
                lambda info, account=account: selectors.balance_annotation(account)
            )
            for account in STORE_ACCOUNTS
        },
        description="Derived from the ledger; null when you may not see this store's money "
        "(staff without payouts.view_ledgerentry).",
    )


def early_payout_field() -> Any:
    def resolve(root: strawberry.Parent[Any], info: Info) -> EarlyPayout | None:
        if not selectors.may_see(viewer(info), selectors.TERMS_PERM, root.pk):
            return None
        terms = selectors.early_payout_terms_of(root)
        if terms is None:
            return EarlyPayout(
                eligible=False,
                reserve_rate=Decimal("0").quantize(RATE),
                reason=NOT_EVALUATED,
                since=None,
            )
        return EarlyPayout(
            eligible=terms.eligible,
            reserve_rate=Decimal(terms.reserve_rate).quantize(RATE),
            reason=terms.reason,
            since=terms.since,
        )

    return strawberry_django.field(
        resolver=resolve,
        select_related=["early_payout"],
        only=[f"early_payout__{name}" for name in ("eligible", "reserve_rate", "reason", "since")],
        description="The platform's early-payout decision; before the first evaluation: "
        f'eligible false, reason "{NOT_EVALUATED}". Null when you may not see it (staff without '
        "payouts.view_earlypayoutterms).",
    )


def reserve_schedule_field() -> Any:
    return strawberry_django.connection(
        field_name="reserve_holds",
        filters=ReserveHoldFilter,
        ordering=None,
        max_results=max_page_size(),
        description='The "deposit inquiry" view: each order\'s reserve and its release date, '
        "upcoming releases first by date (not dated yet: after them), then released ones. "
        "Empty when you may not see this store's reserve (staff without "
        "payouts.view_reservehold).",
    )


# --- fields for Order ---


def escrow_field() -> Any:
    def resolve(root: strawberry.Parent[Any], info: Info) -> Money | None:
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.store_id):
            return None
        if hasattr(root, "escrow_held"):
            held = exact(root.escrow_held)
        else:  # an order returned by a mutation
            held = ledger_balance(order_id=root.pk, account=Account.ESCROW)
        return Money(amount=held, currency=Currency.USD)

    return strawberry_django.field(
        resolver=resolve,
        only=["store"],
        annotate={"escrow_held": lambda info: selectors.order_escrow()},
        description="What the order still holds in escrow (USD); null when you may not see "
        "this store's money (staff without payouts.view_ledgerentry).",
    )


def refunds_field() -> Any:
    return strawberry_django.field(
        field_name="refunds",
        description="Refunds of this order, oldest first, with where their money came from; "
        "empty when you may not see them (staff without payouts.view_refund).",
    )


__all__ = [
    "Balances",
    "EarlyPayout",
    "RefundType",
    "ReserveHoldFilter",
    "ReserveHoldType",
    "balances_field",
    "early_payout_field",
    "escrow_field",
    "refunds_field",
    "reserve_schedule_field",
]
