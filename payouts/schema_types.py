"""The money types that other apps' GraphQL types embed: a store's balances, reserve schedule,
early-payout terms and decisions, promotion wallet and movements, arrears history and health,
an order's escrow and refunds.

They are the part of the payouts GraphQL that ``accounts.schema`` and ``orders.schema`` import;
no app's schema imports another's (other apps' types are ``strawberry.lazy`` references, see
tests/test_schema_imports.py). Each ``*_field()`` builds a field with its optimizer hints, so
that a page of stores or orders costs the same number of queries whatever its size.
"""

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import DateTimeField, F, Prefetch, Q, QuerySet, Value
from django.utils.translation import gettext, gettext_noop
from strawberry import Info, relay
from strawberry.scalars import JSON
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from accounts.models import SellerAccount
from backoffice.autoaction import AutoAction
from backoffice.errors import invalid
from backoffice.graphql import (
    DateTimeRange,
    Money,
    Scoped,
    aware,
    choice,
    enum_from_choices,
    max_page_size,
    money_field,
    request_now,
    viewer,
)
from backoffice.graphql.actors import actor_name
from backoffice.money import Currency
from disputes.selectors import VIEW_PERM as DISPUTE_PERM
from payouts import arrears, selectors, statements
from payouts.health import ANNOTATIONS as HEALTH_ANNOTATIONS
from payouts.health import Health, annotated_health, health_annotations, store_health
from payouts.ledger import balance as ledger_balance
from payouts.ledger import balances_at, store_balances, to_cents
from payouts.models import (
    STORE_ACCOUNTS,
    Account,
    ArrearsEpisode,
    EarlyPayoutDecision,
    PromotionMovement,
    PromotionWallet,
    Refund,
    ReserveHold,
)

if TYPE_CHECKING:
    from accounts.schema import SellerAccountType
    from disputes.schema import DisputeType
    from orders.schema import OrderType

RATE = Decimal("0.0001")


def page_field(**options: Any) -> Any:
    """A connection field capped at the API's largest page, sorted by its `order` input only
    (no `ordering` argument)."""
    return strawberry_django.connection(ordering=None, max_results=max_page_size(), **options)


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


EarlyPayoutSource = enum_from_choices(
    "EarlyPayoutSource",
    [("override", "Staff override"), ("evaluation", "Evaluation")],
    description=gettext_noop(
        "Who decided: OVERRIDE is staff (`earlyPayoutSet`), EVALUATION the platform's "
        "daily evaluation."
    ),
)
DECISIONS_DEFAULT = 10
DECISIONS_ATTR = "recent_early_payout_decisions"


@strawberry.type(
    name="EarlyPayoutDecision",
    description="One early-payout decision, with the figures it was taken on.",
)
class EarlyPayoutDecisionType:
    eligible: bool
    reserve_rate: Decimal = strawberry.field(description='A fraction with 4 decimals: "0.1000".')
    reason: str
    source: EarlyPayoutSource  # type: ignore[valid-type]
    figures: JSON = strawberry.field(
        description="The store's health figures the evaluation used (rates as decimal strings, "
        "times in ISO 8601, keys in snake_case as `StoreHealth` names them); `{}` for a staff "
        "override."
    )
    decided_at: datetime
    decided_by: str | None = strawberry.field(
        description="Who (as `HistoryEntry.by`); null for the evaluation."
    )

    @classmethod
    def of(cls, row: EarlyPayoutDecision, info: Info) -> "EarlyPayoutDecisionType":
        return cls(
            eligible=row.eligible,
            reserve_rate=Decimal(row.reserve_rate).quantize(RATE),
            reason=row.reason,
            source=EarlyPayoutSource(row.source),
            figures=row.figures or {},
            decided_at=row.decided_at,
            decided_by=actor_name(info, row.decided_by),
        )


def _last(value: int) -> int:
    limit = max_page_size()
    if not 0 <= value <= limit:
        raise invalid(
            gettext("'last' must be between 0 and %(limit)s.") % {"limit": limit}, field="last"
        )
    return value


def _decision_rows(info: Info) -> Any:
    rows = EarlyPayoutDecision.objects.select_related("decided_by").order_by("-decided_at", "-id")
    return selectors.early_payout_decisions_visible_to(viewer(info), rows)


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
    source: EarlyPayoutSource | None = strawberry.field(  # type: ignore[valid-type]
        description="Who set the current terms; null when never evaluated."
    )
    evaluated_at: datetime | None = strawberry.field(
        description="The last daily evaluation, whatever it decided (a staff override keeps "
        "the evaluation away for a while); null before the first."
    )
    store: strawberry.Private[Any]

    @strawberry.field(
        description="The latest decisions, newest first (at most `last`, default "
        f"{DECISIONS_DEFAULT}), each with the figures it used; empty when you may not see them "
        "(staff without payouts.view_earlypayoutdecision)."
    )
    def decisions(self, info: Info, last: int = DECISIONS_DEFAULT) -> list[EarlyPayoutDecisionType]:
        last = _last(last)
        rows = getattr(self.store, DECISIONS_ATTR, None)
        if rows is None:  # a store loaded without the prefetch (one returned by a mutation)
            rows = list(_decision_rows(info).filter(store_id=self.store.pk)[:last])
        return [EarlyPayoutDecisionType.of(row, info) for row in rows[:last]]


def _selected(info: Info, name: str) -> list[SelectedField]:
    """The selections of field ``name`` directly under the field being resolved (through
    fragments)."""

    def walk(selections: list[Any]) -> list[SelectedField]:
        found = []
        for selection in selections:
            if isinstance(selection, SelectedField):
                found += [selection] if selection.name == name else []
            elif isinstance(selection, FragmentSpread | InlineFragment):
                found += walk(selection.selections)
        return found

    return [s for field in info.selected_fields for s in walk(field.selections)]


def _prefetch_decisions(info: Info) -> Prefetch:
    """The page's latest decisions in one query, only when ``decisions`` is asked (otherwise an
    empty queryset, which Django does not send to the database)."""
    asked = _selected(info, "decisions")
    if not asked:
        return Prefetch(
            "early_payout_decisions",
            queryset=EarlyPayoutDecision.objects.none(),
            to_attr=DECISIONS_ATTR,
        )
    limit = max_page_size()
    last = max(min(max(int(s.arguments.get("last", DECISIONS_DEFAULT)), 0), limit) for s in asked)
    return Prefetch(
        "early_payout_decisions", queryset=_decision_rows(info)[:last], to_attr=DECISIONS_ATTR
    )


NOT_EVALUATED = "not evaluated yet"


@strawberry_django.type(
    Refund,
    name="Refund",
    description="A refund to the buyer and where its money came from: the order's escrow, "
    "then the store's available balance, then its reserve; what remains became store debt. "
    "Refunds covered by after-sales protection are paid by the protection fund.",
)
class RefundType(Scoped, relay.Node):
    amount: Money = money_field("amount", Currency.USD)
    from_escrow: Money = money_field("from_escrow", Currency.USD)
    from_available: Money = money_field("from_available", Currency.USD)
    from_reserve: Money = money_field("from_reserve", Currency.USD)
    to_debt: Money = money_field("to_debt", Currency.USD)
    from_protection_fund: Money = money_field("from_protection_fund", Currency.USD)
    reason: str
    at: datetime

    @strawberry_django.field(
        prefetch_related=["dispute"],
        only=["store"],
        description="The dispute whose resolution paid it; null for other refunds (an order "
        "cancelled after payment), or when you may not see disputes (staff without "
        "disputes.view_dispute).",
    )
    def dispute(
        self, root: strawberry.Parent[Refund], info: Info
    ) -> Annotated["DisputeType", strawberry.lazy("disputes.schema")] | None:
        try:
            dispute = root.dispute
        except ObjectDoesNotExist:
            return None
        if not selectors.may_see(viewer(info), DISPUTE_PERM, root.store_id):
            return None
        return dispute  # type: ignore[return-value]

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        return selectors.refunds_visible_to(user, queryset)


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
class ReserveHoldType(Scoped, relay.Node):
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
        only=["release_at", "released_at"],
        description='"release the reserve to the store" while a release date is set and the '
        "hold is not released yet; null otherwise.",
    )
    def auto_action(self, root: strawberry.Parent[ReserveHold]) -> str | None:
        action = selectors.hold_auto_action(root)
        return action.description if action else None

    @strawberry_django.field(
        only=["release_at", "released_at"],
        description="When `autoAction` happens (`releaseAt`: the runner releases the hold from "
        "this moment on); null when nothing is pending.",
    )
    def auto_action_at(self, root: strawberry.Parent[ReserveHold]) -> datetime | None:
        action = selectors.hold_auto_action(root)
        return action.at if action else None

    @strawberry_django.field(
        only=["order"],
        annotate={"reserve_left": lambda info: selectors.hold_remaining()},
        description="What is left of it (refunds may draw on it); 0.00 once released.",
    )
    def remaining(self, root: strawberry.Parent[ReserveHold]) -> Money:
        if hasattr(root, "reserve_left"):
            left = to_cents(root.reserve_left)
        else:  # a hold loaded without the annotation
            left = ledger_balance(order_id=root.order_id, account=Account.RESERVE)
        return Money(amount=left, currency=Currency.USD)

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        # Upcoming releases first by date (no date yet: after them), then released holds.
        return selectors.reserve_holds_visible_to(user, queryset).order_by(
            F("released_at").asc(nulls_first=True),
            F("release_at").asc(nulls_last=True),
            "held_at",
            "pk",
        )


# --- fields for SellerAccount ---


BALANCES_AT_ATTR = "ledger_balances_at"


def balances_field() -> Any:
    """``SellerAccount.balances(at)``: five subqueries on the page's query (ten with ``at``),
    none per store, read from the running totals (payouts.DailyBalance) whatever the history."""

    def resolve(
        root: strawberry.Parent[Any],
        info: Info,
        at: Annotated[
            datetime | None,
            strawberry.argument(
                description="The balances at this instant (with a time zone); now when omitted."
            ),
        ] = None,
    ) -> Balances | None:
        at = aware(at, field="at")
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.pk):
            return None
        totals = None
        if getattr(root, BALANCES_AT_ATTR, None) == at:
            totals = selectors.annotated_balances(root)
        if totals is None:  # loaded without the annotation, or aliased with another ``at``
            totals = store_balances(root.pk) if at is None else balances_at([root.pk], at)[root.pk]
        return Balances.of(totals)

    def asked_at(info: Info) -> datetime | None:
        """The ``at`` argument of this selection (parsed as the scalar does; None when absent
        or not a time with a zone: the resolver then reports it)."""
        raw = next(iter(info.selected_fields), None)
        value = raw.arguments.get("at") if raw is not None else None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return None
        return value if isinstance(value, datetime) and value.tzinfo is not None else None

    def annotation(account: str) -> Any:
        return lambda info: selectors.balance_annotation(account, asked_at(info))

    return strawberry_django.field(
        resolver=resolve,
        annotate={
            BALANCES_AT_ATTR: lambda info: Value(
                asked_at(info), output_field=DateTimeField(null=True)
            ),
            **{selectors.balance_attr(account): annotation(account) for account in STORE_ACCOUNTS},
        },
        description="Derived from the ledger's running totals; with `at`, as they were at that "
        "instant. Null when you may not see this store's money (staff without "
        "payouts.view_ledgerentry).",
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
                source=None,
                evaluated_at=None,
                store=root,
            )
        return EarlyPayout(
            eligible=terms.eligible,
            reserve_rate=Decimal(terms.reserve_rate).quantize(RATE),
            reason=terms.reason,
            since=terms.since,
            source=EarlyPayoutSource(terms.source),
            evaluated_at=terms.evaluated_at,
            store=root,
        )

    columns = ("eligible", "reserve_rate", "reason", "since", "source", "evaluated_at")
    return strawberry_django.field(
        resolver=resolve,
        select_related=["early_payout"],
        prefetch_related=[_prefetch_decisions],
        only=[f"early_payout__{name}" for name in columns],
        description="The platform's early-payout decision; before the first evaluation: "
        f'eligible false, reason "{NOT_EVALUATED}". Null when you may not see it (staff without '
        "payouts.view_earlypayoutterms).",
    )


def reserve_schedule_field() -> Any:
    return page_field(
        field_name="reserve_holds",
        filters=ReserveHoldFilter,
        description='The "deposit inquiry" view: each order\'s reserve and its release date, '
        "upcoming releases first by date (not dated yet: after them), then released ones. "
        "Empty when you may not see this store's reserve (staff without "
        "payouts.view_reservehold).",
    )


# --- the promotion wallet, its movements and arrears ---

PromotionMovementKind = enum_from_choices("PromotionMovementKind", PromotionMovement.Kind.choices)
PromotionTopUpMethod = enum_from_choices(
    "PromotionTopUpMethod",
    PromotionMovement.Method.choices,
    description=gettext_noop(
        "ALIPAY and CREDIT_CARD: the seller or finance; BANK_TRANSFER: an offline "
        "transfer that finance records."
    ),
)
OPEN_ARREARS_ATTR = "promotion_in_arrears_since"
THRESHOLD_ATTR = "promotion_low_balance_threshold"
PROMOTION_ATTR = selectors.balance_attr(Account.PROMOTION)


@strawberry.type(
    name="PromotionWallet",
    description="The store's promotion (pay-per-click ads) wallet, in CNY. Ad charges may take "
    "it below zero: arrears, which freeze the store after the grace period and close it when "
    "too old or too large; a top-up pays them first.",
)
class PromotionWalletType:
    balance: Money = strawberry.field(description="CNY; negative while in arrears.")
    arrears_owed: Money = strawberry.field(description="CNY owed (0.00 when not in arrears).")
    in_arrears_since: datetime | None = strawberry.field(
        description="When the wallet went below zero; null when it is not in arrears."
    )
    low_balance_threshold: Money = strawberry.field(
        description="CNY; a balance below it raises a notice (0.00: no notices)."
    )


def _promotion_of(root: Any) -> PromotionWalletType:
    if hasattr(root, PROMOTION_ATTR):
        total = to_cents(getattr(root, PROMOTION_ATTR))
        since = getattr(root, OPEN_ARREARS_ATTR)
        threshold = to_cents(getattr(root, THRESHOLD_ATTR))
    else:  # a store returned by a mutation
        total = ledger_balance(store_id=root.pk, account=Account.PROMOTION, currency=Currency.CNY)
        episode = ArrearsEpisode.objects.filter(store_id=root.pk, cleared_at__isnull=True).first()
        since = episode.started_at if episode else None
        wallet = PromotionWallet.objects.filter(store_id=root.pk).first()
        threshold = wallet.low_balance_threshold if wallet else Decimal("0")
    return PromotionWalletType(
        balance=Money(amount=total, currency=Currency.CNY),
        arrears_owed=Money(amount=arrears.owed(total), currency=Currency.CNY),
        in_arrears_since=since,
        low_balance_threshold=Money.of(threshold, Currency.CNY),  # type: ignore[arg-type]
    )


ARREARS_HELD_ATTR = "arrears_held"
# What a store's clock (arrears.store_auto_action) reads, loaded with the page.
STORE_CLOCK_ANNOTATIONS = {
    PROMOTION_ATTR: lambda info: selectors.balance_annotation(Account.PROMOTION),
    OPEN_ARREARS_ATTR: lambda info: arrears.open_arrears_since(),
    ARREARS_HELD_ATTR: lambda info: arrears.arrears_held(),
}


def store_auto_action_of(root: Any) -> AutoAction | None:
    """The store's clock, from the page's annotations (a store returned by a mutation: three
    queries)."""
    if all(hasattr(root, attr) for attr in STORE_CLOCK_ANNOTATIONS):
        total = to_cents(getattr(root, PROMOTION_ATTR))
        since = getattr(root, OPEN_ARREARS_ATTR)
        held = getattr(root, ARREARS_HELD_ATTR)
    else:
        total = ledger_balance(store_id=root.pk, account=Account.PROMOTION, currency=Currency.CNY)
        episode = ArrearsEpisode.objects.filter(store_id=root.pk, cleared_at__isnull=True).first()
        since = episode.started_at if episode else None
        held = SellerAccount.FreezeReason.ARREARS in root.active_reasons()
    return arrears.store_auto_action(
        root.status, in_arrears_since=since, promotion_balance=total, arrears_held=held
    )


def promotion_field() -> Any:
    """``SellerAccount.promotion``: three subqueries on the page's query, none per store."""

    def resolve(root: strawberry.Parent[Any], info: Info) -> PromotionWalletType | None:
        if not selectors.may_see(viewer(info), selectors.PROMOTION_PERM, root.pk):
            return None
        return _promotion_of(root)

    return strawberry_django.field(
        resolver=resolve,
        annotate={
            PROMOTION_ATTR: lambda info: selectors.balance_annotation(Account.PROMOTION),
            OPEN_ARREARS_ATTR: lambda info: arrears.open_arrears_since(),
            THRESHOLD_ATTR: lambda info: selectors.low_balance_threshold(),
        },
        description="The promotion wallet; null when you may not see it (staff without "
        "payouts.view_promotionmovement).",
    )


@strawberry_django.filter_type(PromotionMovement, name="PromotionMovementFilter")
class PromotionMovementFilter:
    @strawberry_django.filter_field
    def kind(self, value: PromotionMovementKind, prefix: str) -> Q:  # type: ignore[valid-type]
        return Q(**{f"{prefix}kind": value})

    @strawberry_django.filter_field
    def at(self, value: DateTimeRange, prefix: str) -> Q:
        return value.q(f"{prefix}at", field="at")


@strawberry_django.type(
    PromotionMovement,
    name="PromotionMovement",
    description="A movement of a store's promotion wallet (CNY): a top-up, the ad system's "
    "daily charge, or a finance adjustment. Each is one posting on the ledger.",
)
class PromotionMovementType(Scoped, relay.Node):
    store: Annotated["SellerAccountType", strawberry.lazy("accounts.schema")]
    amount: Money = money_field(
        "amount", Currency.CNY, description="Signed as it moves the wallet: charges are negative."
    )
    reference: str = strawberry_django.field(
        description="The statement line or payment id; unique, so a repeat moves nothing."
    )
    note: str
    at: datetime

    @strawberry_django.field(only=["kind"])
    def kind(self, root: strawberry.Parent[PromotionMovement]) -> PromotionMovementKind:  # type: ignore[valid-type]
        return PromotionMovementKind(root.kind)

    @strawberry_django.field(only=["method"], description="Top-ups only; null otherwise.")
    def method(self, root: strawberry.Parent[PromotionMovement]) -> PromotionTopUpMethod | None:  # type: ignore[valid-type]
        return choice(PromotionTopUpMethod, root.method)

    @strawberry_django.field(
        select_related=["actor"],
        only=["actor__username"],
        description="Who recorded it (as `HistoryEntry.by`); null for the system (the ad "
        "system, imports).",
    )
    def recorded_by(self, root: strawberry.Parent[PromotionMovement], info: Info) -> str | None:
        return actor_name(info, root.actor)

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        return selectors.promotion_movements_visible_to(user, queryset).order_by("-at", "-pk")


def promotion_movements_field() -> Any:
    return page_field(
        field_name="promotion_movements",
        filters=PromotionMovementFilter,
        description="The wallet's movements, newest first; empty when you may not see them "
        "(staff without payouts.view_promotionmovement).",
    )


@strawberry_django.type(
    ArrearsEpisode,
    name="ArrearsEpisode",
    description="A stretch of time the promotion wallet spent below zero.",
)
class ArrearsEpisodeType(Scoped, relay.Node):
    started_at: datetime
    cleared_at: datetime | None = strawberry_django.field(
        description="When a top-up brought the wallet back to zero or more; null while open."
    )
    peak: Money = money_field("peak", Currency.CNY, description="The most owed (CNY).")

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        return selectors.arrears_episodes_visible_to(user, queryset).order_by("-started_at", "-pk")


def arrears_history_field() -> Any:
    return page_field(
        field_name="arrears_episodes",
        description="Every arrears episode, newest first (the open one, if any, has no "
        "`clearedAt`); they count against the store's health. Empty when you may not see them "
        "(staff without payouts.view_arrearsepisode).",
    )


# --- store health ---


@strawberry.type(
    name="StoreHealth",
    description="The store's health over the trailing window, computed when asked (at the "
    "request's clock) from stored data, exactly as the daily early-payout evaluation computes "
    'it. Rates are fractions with 4 decimals ("0.0500" is 5 %), null when there is nothing '
    "to divide by.",
)
class StoreHealthType:
    computed_at: datetime
    window_days: int
    operating_days: int = strawberry.field(description="Days since the store opened.")
    orders: int = strawberry.field(description="Orders paid in the window.")
    disputes: int = strawberry.field(description="Disputes opened in the window.")
    dispute_rate: Decimal | None = strawberry.field(description="disputes / orders.")
    refunded_orders: int = strawberry.field(description="Orders refunded in the window.")
    refund_rate: Decimal | None = strawberry.field(description="refundedOrders / orders.")
    rated_orders: int = strawberry.field(description="Orders rated in the window.")
    positive_rate: Decimal | None = strawberry.field(
        description="Share of rated orders with 4 or 5 stars."
    )
    service_points: int = strawberry.field(
        description="Lowered by each refund the after-sales protection fund paid in the window."
    )
    arrears_episodes: int = strawberry.field(
        description="Promotion arrears episodes open at any time in the window."
    )
    in_arrears: bool

    @classmethod
    def of(cls, health: Health) -> "StoreHealthType":
        return cls(**{f.name: getattr(health, f.name) for f in dataclasses.fields(health)})


def health_field() -> Any:
    """``SellerAccount.health``: its counts are subqueries on the page's query (for the
    request's clock), so a page of stores costs no query per store."""

    def resolve(root: strawberry.Parent[Any], info: Info) -> StoreHealthType | None:
        if not selectors.may_see(viewer(info), selectors.HEALTH_PERM, root.pk):
            return None
        now = request_now(info)
        health = annotated_health(root, now=now) or store_health(root, now=now)
        return StoreHealthType.of(health)

    def annotation(name: str) -> Any:
        return lambda info: health_annotations(request_now(info))[name]

    return strawberry_django.field(
        resolver=resolve,
        only=["opened_at"],
        annotate={name: annotation(name) for name in HEALTH_ANNOTATIONS},
        description="Operating time, dispute, refund and positive-rating rates, service points "
        "and arrears history over the trailing window; null when you may not see it (staff "
        "without accounts.view_selleraccount).",
    )


# --- fields for Order ---


def escrow_field() -> Any:
    def resolve(root: strawberry.Parent[Any], info: Info) -> Money | None:
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.store_id):
            return None
        if hasattr(root, "escrow_held"):
            held = to_cents(root.escrow_held)
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


def commission_field() -> Any:
    def resolve(root: strawberry.Parent[Any], info: Info) -> Money | None:
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.store_id):
            return None
        taken = ledger_balance(order_id=root.pk, account=Account.COMMISSION)
        return Money(amount=taken, currency=Currency.USD)

    return strawberry_django.field(
        resolver=resolve,
        only=["store"],
        description="The platform's commission on this order (USD): taken when its escrow was "
        "released, less what refunds returned; null when you may not see this store's money.",
    )


def commission_taken_field() -> Any:
    def resolve(root: strawberry.Parent[Any], info: Info) -> Money | None:
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.pk):
            return None
        taken = ledger_balance(store_id=root.pk, account=Account.COMMISSION)
        return Money(amount=taken, currency=Currency.USD)

    return strawberry_django.field(
        resolver=resolve,
        description="The platform's commission on this store's released orders (USD), less what "
        "refunds returned; null when you may not see this store's money.",
    )


def commission_rate_field() -> Any:
    def resolve(root: strawberry.Parent[Any]) -> Decimal:
        return root.effective_commission_rate

    return strawberry_django.field(
        resolver=resolve,
        only=["commission_rate"],
        description="The commission rate taken when escrow is released (the store's own, or the "
        "platform's default COMMISSION_RATE), e.g. 0.0500.",
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
    "statement_field",
]


@strawberry.type(name="StatementLine", description="One movement of a statement.")
class StatementLineType:
    at: datetime
    kind: str = strawberry.field(description="The posting's kind (PostingKind, lower case).")
    reference: str = strawberry.field(description="The posting's unique reference.")
    order_number: str | None
    amount: Money
    balance: Money = strawberry.field(description="The account's balance after this movement.")


@strawberry.type(name="AccountStatement", description="One account in one currency.")
class AccountStatementType:
    account: str = strawberry.field(description="escrow, available, reserve, promotion or debt.")
    currency: str
    opening: Money
    closing: Money = strawberry.field(description="opening + the month's movements.")
    lines: list[StatementLineType]


@strawberry.type(
    name="Statement",
    description="A store's monthly statement (UTC calendar month): per account and currency, "
    "the opening balance, each movement in time order and the closing balance.",
)
class StatementType:
    year: int
    month: int
    start: datetime
    end: datetime = strawberry.field(description="Exclusive: the next month's first instant.")
    accounts: list[AccountStatementType]

    @classmethod
    def of(cls, report: statements.Statement) -> "StatementType":
        def account(row: statements.AccountStatement) -> AccountStatementType:
            def money(amount: Decimal) -> Money:
                return Money(amount=amount, currency=row.currency)

            lines = [
                StatementLineType(
                    at=line.at,
                    kind=line.kind,
                    reference=line.reference,
                    order_number=line.order_number,
                    amount=money(line.amount),
                    balance=money(line.balance),
                )
                for line in row.lines
            ]
            return AccountStatementType(
                account=row.account,
                currency=row.currency,
                opening=money(row.opening),
                closing=money(row.closing),
                lines=lines,
            )

        return cls(
            year=report.year,
            month=report.month,
            start=report.start,
            end=report.end,
            accounts=[account(row) for row in report.accounts],
        )


def statement_field() -> Any:
    """``SellerAccount.statement(year, month)``: three queries for the store asked."""

    def resolve(
        root: strawberry.Parent[Any], info: Info, year: int, month: int
    ) -> StatementType | None:
        if not selectors.may_see(viewer(info), selectors.LEDGER_PERM, root.pk):
            return None
        return StatementType.of(statements.statement(store_id=root.pk, year=year, month=month))

    return strawberry_django.field(
        resolver=resolve,
        only=["id"],
        description="The monthly statement (year 2000-2100, month 1-12; `invalid` with the "
        "field otherwise). Null when you may not see this store's money (staff without "
        "payouts.view_ledgerentry).",
    )
