"""Idempotent demo data for a local back-office (DEBUG only).

Every state is reached through the services, as the admin and GraphQL would reach it, so the
demo objects carry their real history. Each kind of object is keyed on its natural key
(username, platform store id, order number): a second run creates nothing and says so.

The data is built by the :data:`SECTIONS` in order, each returning ``(new, already there)``.
Later apps add theirs (disputes...) to the end of that list with their own specs.

Money (through ``payouts.services``): 30 days of USD/CNY rates, the active store made eligible
for early payout by finance (a staff override, recent enough that the daily evaluation leaves
it alone for now), the early releases of its shipped orders (the money job of the deadlines
runner only, so that the orders left due for ``run_deadlines`` stay due), and three payouts
requested by its seller: one paid, one failed, one (in CNY) still requested.

Promotion wallets (through ``payouts.promotion``), for every store, before the stores are
frozen or closed: top-ups (Alipay, credit card, a bank transfer recorded by finance) and the ad
system's charges, each keyed on its statement reference; the seller store's low-balance
threshold and the notice it raised; one active store in arrears for less than
``ARREARS_GRACE_DAYS`` (the next ``run_deadlines`` more than a day later freezes it); one store
frozen for arrears (the arrears job of the deadlines runner only, at the moment it was due).
Then buyers' ratings of the completed orders and the daily early-payout evaluation of every
store (the evaluation job only), so that every store shows its health and decisions.

Disputes (through ``disputes.services``), besides the disputed order's open one: one the seller
answered with a proposal, one in arbitration, one awaiting the return of damaged goods on a
protected order, one resolved automatically (the disputes job of the deadlines runner only, at
the moment it was due), one protected "not received" dispute accepted and paid by the
protection fund, and one withdrawn by the buyer. Each has its own order, keyed on its platform
dispute id.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import SellerAccount, User
from accounts.roles import ROLES, sync_roles
from accounts.services import (
    seller_account_close,
    seller_account_create,
    seller_account_freeze,
    seller_user_create,
)
from backoffice import clock
from backoffice.errors import error_text
from disputes.deadlines import auto_resolve
from disputes.models import Dispute
from disputes.services import (
    dispute_escalate,
    dispute_open,
    dispute_respond,
    dispute_withdraw,
)
from orders.models import Order
from orders.services import (
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_record_rating,
    order_ship,
)
from payouts.arrears import arrears_freeze
from payouts.deadlines import early_release, evaluate_early_payout
from payouts.models import (
    ArrearsEpisode,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    IdempotencyRecord,
    Posting,
    PromotionMovement,
    PromotionWallet,
)
from payouts.promotion import promotion_charge, promotion_set_threshold, promotion_top_up
from payouts.services import (
    early_payout_set,
    exchange_rate_set,
    payout_mark_failed,
    payout_mark_paid,
    payout_request,
)


@dataclass(frozen=True)
class StoreSpec:
    store_id: str
    name: str
    status: str  # reached after the store's orders exist (a closed store takes no new orders)
    opened_days_ago: int
    currency: str = "USD"
    # "arrears": frozen by the arrears policy in the promotion section, not by risk staff
    freeze_reason: str = "risk"


@dataclass(frozen=True)
class OrderSpec:
    number: str
    store_id: str
    status: str
    amount: str
    buyer: str
    country: str
    placed_days_ago: float
    payment_method: str = "credit_card"
    protected: bool = False  # covered by after-sales protection


SELLER_STORE = "3100001"  # the store of the `seller` login
TEA_STORE = "3100004"  # healthy: the evaluation makes it eligible for early payout
ARREARS_STORE = "3100005"  # in arrears, still within the grace period
FROZEN_ARREARS_STORE = "3100006"  # frozen for unpaid arrears

STORES = [
    StoreSpec(SELLER_STORE, "Sunrise Gadgets", "active", opened_days_ago=420),
    StoreSpec("3100002", "Harbor Textiles", "frozen", opened_days_ago=210, currency="CNY"),
    StoreSpec("3100003", "Old Lantern Crafts", "closed", opened_days_ago=730),
    StoreSpec(TEA_STORE, "Jade Garden Tea", "active", opened_days_ago=500),
    StoreSpec(ARREARS_STORE, "Coral Bay Outdoor", "active", opened_days_ago=150),
    StoreSpec(
        FROZEN_ARREARS_STORE,
        "Maple Leaf Toys",
        "frozen",
        opened_days_ago=320,
        freeze_reason="arrears",
    ),
]

ORDERS = [
    OrderSpec("8100000000000001", SELLER_STORE, "unpaid", "24.90", "Ana Souza", "BR", 2),
    # Due for automatic cancellation at the next `run_deadlines`.
    OrderSpec("8100000000000002", SELLER_STORE, "unpaid", "12.50", "John Miller", "US", 25),
    OrderSpec("8100000000000003", SELLER_STORE, "paid", "89.00", "Lucía Gómez", "ES", 1, "alipay"),
    OrderSpec("8100000000000004", SELLER_STORE, "shipped", "45.20", "Marie Dubois", "FR", 10),
    # Shipped long ago: due for automatic confirmation at the next `run_deadlines`.
    OrderSpec("8100000000000005", SELLER_STORE, "shipped", "19.99", "Piotr Nowak", "PL", 70),
    OrderSpec("8100000000000006", SELLER_STORE, "completed", "130.00", "Kim Min-jun", "KR", 30),
    OrderSpec("8100000000000007", SELLER_STORE, "cancelled", "8.75", "Olga Ivanova", "RU", 12),
    OrderSpec("8100000000000008", SELLER_STORE, "refunded", "56.40", "Diego Rojas", "CL", 6),
    OrderSpec("8100000000000009", SELLER_STORE, "disputed", "210.00", "Emma Jansen", "NL", 20),
    OrderSpec("8100000000000010", "3100002", "paid", "33.00", "Yusuf Demir", "TR", 3, "tt"),
    OrderSpec("8100000000000011", "3100002", "shipped", "64.80", "Sara Rossi", "IT", 8),
    OrderSpec("8100000000000012", "3100003", "completed", "77.70", "Tom Evans", "GB", 120),
]

# The tea store's completed orders over the last three months, each rated 4 or 5 stars.
TEA_BUYERS = [
    ("Ingrid Holm", "NO", "42.00", 5),
    ("Mateo Silva", "PT", "18.50", 5),
    ("Chloé Martin", "FR", "64.90", 4),
    ("Noah Fischer", "DE", "27.30", 5),
    ("Sofia Esposito", "IT", "35.00", 5),
    ("Liam Murphy", "IE", "21.80", 5),
    ("Eva Horvat", "HR", "48.60", 4),
    ("Jakub Kowalski", "PL", "16.90", 5),
    ("Mia Andersen", "DK", "58.00", 5),
    ("Lucas Costa", "BR", "31.40", 5),
    ("Aino Virtanen", "FI", "24.70", 5),
    ("Daniel Levi", "IL", "39.90", 5),
]
TEA_ORDERS = [
    OrderSpec(f"81000000000001{n:02d}", TEA_STORE, "completed", amount, buyer, country, 80 - 5 * n)
    for n, (buyer, country, amount, _) in enumerate(TEA_BUYERS)
]
ORDERS += TEA_ORDERS

# The services each order goes through to reach its state, with the delay after placing.
STEP = {
    "pay": timedelta(hours=2),
    "ship": timedelta(days=2),
    "confirm": timedelta(days=12),
    "buyer_cancel": timedelta(days=1),
    "out_of_stock": timedelta(days=1),
    "dispute": timedelta(days=9),
}
ROUTES = {
    "unpaid": [],
    "paid": ["pay"],
    "shipped": ["pay", "ship"],
    "completed": ["pay", "ship", "confirm"],
    "cancelled": ["buyer_cancel"],
    "refunded": ["pay", "out_of_stock"],
    "disputed": ["pay", "ship", "dispute"],
}

# username == password. Staff roles are the groups of accounts/roles.py.
STAFF_ROLES = list(ROLES)


@dataclass
class Demo:
    """What the sections share: the moment of the run and the objects found or made so far."""

    now: datetime
    users: dict[str, User] = field(default_factory=dict)
    stores: dict[str, SellerAccount] = field(default_factory=dict)

    def seller_of(self, store_id: str) -> User | None:
        """The demo seller user acting for its own store; other stores' moves are the system's."""
        return self.users.get("seller") if store_id == SELLER_STORE else None


Section = Callable[[Demo], tuple[int, int]]


def seed_stores(demo: Demo) -> tuple[int, int]:
    created = 0
    for spec in STORES:
        store = SellerAccount.objects.filter(platform_store_id=spec.store_id).first()
        if store is None:
            store = seller_account_create(
                actor=None,
                platform_store_id=spec.store_id,
                name=spec.name,
                opened_at=demo.now - timedelta(days=spec.opened_days_ago),
                settlement_currency=spec.currency,
            )
            created += 1
        demo.stores[spec.store_id] = store
    return created, len(STORES) - created


def seed_users(demo: Demo) -> tuple[int, int]:
    sync_roles()
    created = 0
    wanted = ["admin", "seller", *STAFF_ROLES]
    for username in wanted:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = _create_user(username, demo)
            created += 1
        demo.users[username] = user
    return created, len(wanted) - created


def _create_user(username: str, demo: Demo) -> User:
    if username == "admin":
        return User.objects.create_superuser(username, "admin@example.com", "admin")
    if username == "seller":
        store = demo.stores[SELLER_STORE]
        return seller_user_create(
            actor=None, account_id=store.pk, username="seller", password="seller"
        )
    user = User.objects.create_user(username, password=username, is_staff=True)
    user.groups.add(Group.objects.get(name=username))
    return user


def seed_orders(demo: Demo) -> tuple[int, int]:
    created = 0
    for spec in ORDERS:
        if Order.objects.filter(order_number=spec.number).exists():
            continue
        _create_order(spec, demo)
        created += 1
    return created, len(ORDERS) - created


def _create_order(spec: OrderSpec, demo: Demo) -> Order:
    placed_at = demo.now - timedelta(days=spec.placed_days_ago)
    order = order_create(
        actor=None,
        store_id=demo.stores[spec.store_id].pk,
        order_number=spec.number,
        amount=Decimal(spec.amount),
        buyer_name=spec.buyer,
        buyer_country=spec.country,
        placed_at=placed_at,
        protected=spec.protected,
    )
    for step in ROUTES[spec.status]:
        _run_step(step, order.pk, spec, demo, at=min(placed_at + STEP[step], demo.now))
    return order


def _run_step(step: str, order_id: int, spec: OrderSpec, demo: Demo, *, at: datetime) -> None:
    seller = demo.seller_of(spec.store_id)
    if step == "pay":
        order_mark_paid(order_id=order_id, actor=None, payment_method=spec.payment_method, at=at)
    elif step == "ship":
        tracking = f"LP00{spec.number[-6:]}CN"
        order_ship(
            order_id=order_id, actor=seller, carrier="Cainiao", tracking_number=tracking, at=at
        )
    elif step == "confirm":
        order_confirm_receipt(order_id=order_id, actor=None, at=at)
    elif step in ("buyer_cancel", "out_of_stock"):
        actor = None if step == "buyer_cancel" else seller
        order_cancel(order_id=order_id, actor=actor, reason=step, at=at)
    elif step == "dispute":
        dispute_open(
            order_id=order_id,
            actor=None,
            reason="not_received",
            requested_refund=Order.objects.get(pk=order_id).amount,
            description="demo: item not received",
            at=at,
        )
    else:  # pragma: no cover - a typo in ROUTES
        raise ValueError(step)


def seed_store_states(demo: Demo) -> tuple[int, int]:
    """Freeze and close the stores meant to be so, once: only a store that has never changed
    state is moved, so a store staff have since unfrozen is left as it is. (The store frozen
    for arrears is frozen by the arrears policy, in the promotion section.)"""
    moved = 0
    risk = demo.users["risk"]
    specs = [spec for spec in STORES if spec.status != "active" and spec.freeze_reason == "risk"]
    for spec in specs:
        store = demo.stores[spec.store_id]
        if store.history.exists():
            continue
        if spec.status == "frozen":
            seller_account_freeze(
                account_id=store.pk, actor=risk, reason="risk", note="demo: risk review"
            )
        elif spec.status == "closed":
            seller_account_close(
                account_id=store.pk, actor=risk, reason="seller_request", note="demo"
            )
        moved += 1
    return moved, len(specs) - moved


# --- money ---

RATE_DAYS = 30
USD_CNY = Decimal("7.18")
EARLY_PAYOUT_RESERVE = Decimal("0.10")
# The override is this recent so that the daily evaluation (which would withdraw it: the
# store's dispute rate is far above the limit) leaves it alone for the override days.
EARLY_PAYOUT_OVERRIDE_AGE = timedelta(days=10)


@dataclass(frozen=True)
class PayoutSpec:
    key: str  # the request's idempotency key: a second run finds the payout by it
    amount: str  # USD taken from the available balance
    currency: str
    outcome: str  # requested | paid | failed


PAYOUTS = [
    PayoutSpec("demo-payout-usd-paid", "50.00", "USD", "paid"),
    PayoutSpec("demo-payout-cny-requested", "30.00", "CNY", "requested"),
    PayoutSpec("demo-payout-usd-failed", "20.00", "USD", "failed"),
]


def demo_rate(day) -> Decimal:
    """Around 7.18, moving a little from day to day (the same rate for a day on every run)."""
    return USD_CNY + (day.toordinal() % 9 - 4) * Decimal("0.0035")


def seed_exchange_rates(demo: Demo) -> tuple[int, int]:
    """A USD/CNY rate for each of the last 30 days, today included, set by finance."""
    days = [demo.now.date() - timedelta(days=n) for n in range(RATE_DAYS)]
    known = set(
        ExchangeRate.objects.filter(date__in=days, currency="USD").values_list("date", flat=True)
    )
    missing = [day for day in days if day not in known]
    for day in missing:
        exchange_rate_set(actor=demo.users["finance"], day=day, rate=demo_rate(day))
    return len(missing), len(known)


def seed_early_payout(demo: Demo) -> tuple[int, int]:
    """The active store made eligible (reserve 10 %) by finance 10 days ago, then the early
    release of its shipped orders. Only the money job runs, not every deadline: the orders the
    demo leaves due for ``run_deadlines`` (auto-cancel, auto-confirm) stay due."""
    store = demo.stores[SELLER_STORE]
    new = 0
    terms_existed = EarlyPayoutTerms.objects.filter(store=store).exists()
    if not terms_existed:
        early_payout_set(
            store_id=store.pk,
            actor=demo.users["finance"],
            eligible=True,
            reserve_rate=EARLY_PAYOUT_RESERVE,
            reason="demo: evaluation passed (operating time, dispute and refund rates, rating)",
            at=demo.now - EARLY_PAYOUT_OVERRIDE_AGE,
        )
        new += 1
    releases = Posting.objects.filter(kind=Posting.Kind.EARLY_RELEASE)
    released_before = releases.count()
    new += early_release(demo.now)
    return new, int(terms_existed) + released_before


def seed_payouts(demo: Demo) -> tuple[int, int]:
    """Payouts the seller requested from the active store, settled by finance."""
    store, seller, finance = demo.stores[SELLER_STORE], demo.users["seller"], demo.users["finance"]
    created = 0
    for spec in PAYOUTS:
        requested = IdempotencyRecord.objects.filter(
            key=spec.key, operation="payout_request", user=seller
        )
        if requested.exists():
            continue
        payout = payout_request(
            store_id=store.pk,
            actor=seller,
            amount=Decimal(spec.amount),
            currency=spec.currency,
            idempotency_key=spec.key,
            at=demo.now,
        )
        if spec.outcome == "paid":
            payout_mark_paid(
                payout_id=payout.pk, actor=finance, note="demo: bank ref DEMO-0001", at=demo.now
            )
        elif spec.outcome == "failed":
            payout_mark_failed(
                payout_id=payout.pk,
                actor=finance,
                reason="demo: returned by the bank (beneficiary account closed)",
                at=demo.now,
            )
        created += 1
    return created, len(PAYOUTS) - created


# --- disputes ---


@dataclass(frozen=True)
class DisputeSpec:
    dispute_id: str  # the platform dispute id: a second run finds the dispute by it
    order: OrderSpec  # its own order, shipped through the services, then disputed
    reason: str
    requested: str
    opened_days_ago: float
    outcome: str  # responded | arbitration | awaiting_return | auto_resolved | accepted | withdrawn
    description: str


def _shipped(number: str, amount: str, buyer: str, country: str, opened_days_ago: float, **kw):
    """The order of a demo dispute: placed three days before the dispute, shipped after two."""
    return OrderSpec(
        number, SELLER_STORE, "shipped", amount, buyer, country, opened_days_ago + 3, **kw
    )


DISPUTES = [
    DisputeSpec(
        "5100000001",
        _shipped("8100000000000013", "58.00", "Hannah Berg", "DE", 2),
        "not_as_described",
        "58.00",
        2,
        "responded",
        "demo: the colour differs from the photos",
    ),
    DisputeSpec(
        "5100000002",
        # Escalated 9 days ago: past the arbitration service level (the dashboard's overdue).
        _shipped("8100000000000014", "72.50", "Carlos Pérez", "MX", 12),
        "wrong_item",
        "72.50",
        12,
        "arbitration",
        "demo: received a different model",
    ),
    # Protected order, but "damaged" is outside the protection's scope: the seller handles it
    # and accepting goes to the return flow.
    DisputeSpec(
        "5100000003",
        _shipped("8100000000000015", "95.00", "Aiko Tanaka", "JP", 3, protected=True),
        "damaged",
        "95.00",
        3,
        "awaiting_return",
        "demo: the screen was cracked on arrival",
    ),
    # Its response deadline passed 9 days ago, before the disputed order's (6 days ago): the
    # disputes job run at that moment resolves this one only.
    DisputeSpec(
        "5100000004",
        _shipped("8100000000000016", "36.40", "Lars Nilsson", "SE", 14),
        "not_as_described",
        "15.00",
        14,
        "auto_resolved",
        "demo: smaller than described",
    ),
    DisputeSpec(
        "5100000005",
        _shipped("8100000000000017", "120.00", "Fatima Zahra", "MA", 4, protected=True),
        "not_received",
        "120.00",
        4,
        "accepted",
        "demo: tracking stopped two weeks ago",
    ),
    DisputeSpec(
        "5100000006",
        _shipped("8100000000000018", "27.30", "Jan Novák", "CZ", 5),
        "not_received",
        "27.30",
        5,
        "withdrawn",
        "demo: the parcel is late",
    ),
]


def seed_disputes(demo: Demo) -> tuple[int, int]:
    """Opened by support for the buyer, answered by the seller, escalated, withdrawn or
    resolved, each at its own moment in the past."""
    created = 0
    support, seller = demo.users["support"], demo.users["seller"]
    for spec in DISPUTES:
        if Dispute.objects.filter(platform_dispute_id=spec.dispute_id).exists():
            continue
        order = Order.objects.filter(order_number=spec.order.number).first()
        order = order or _create_order(spec.order, demo)
        opened_at = demo.now - timedelta(days=spec.opened_days_ago)
        dispute = dispute_open(
            order_id=order.pk,
            actor=support,
            reason=spec.reason,
            requested_refund=Decimal(spec.requested),
            description=spec.description,
            platform_dispute_id=spec.dispute_id,
            at=opened_at,
        )
        day = timedelta(days=1)
        if spec.outcome == "responded":
            dispute_respond(
                dispute_id=dispute.pk,
                actor=seller,
                action="propose",
                amount=Decimal("20.00"),
                note="demo: a partial refund, the buyer keeps the item",
                at=opened_at + day,
            )
        elif spec.outcome == "arbitration":
            dispute_respond(
                dispute_id=dispute.pk,
                actor=seller,
                action="reject",
                note="demo: the item shipped is the one ordered",
                at=opened_at + day,
            )
            dispute_escalate(
                dispute_id=dispute.pk,
                actor=support,
                note="demo: the buyer asks the platform to decide",
                at=opened_at + 3 * day,
            )
        elif spec.outcome in ("awaiting_return", "accepted"):
            dispute_respond(
                dispute_id=dispute.pk, actor=seller, action="accept", at=opened_at + day
            )
        elif spec.outcome == "auto_resolved":
            # Only the disputes job, at the moment this dispute fell due: run_all would also
            # move the demo orders left due for `run_deadlines`.
            auto_resolve(dispute.respond_by)
        elif spec.outcome == "withdrawn":
            dispute_withdraw(
                dispute_id=dispute.pk,
                actor=support,
                note="demo: the parcel arrived",
                at=opened_at + day,
            )
        created += 1
    return created, len(DISPUTES) - created


# --- the promotion wallet (CNY), ratings and the daily evaluation ---


@dataclass(frozen=True)
class MovementSpec:
    reference: str  # the statement line or payment id: a second run finds the movement by it
    kind: str  # top_up | charge
    amount: str
    days_ago: float
    method: str = ""  # top-ups: alipay | credit_card | bank_transfer


def _top_up(ref: str, amount: str, days_ago: float, method: str) -> MovementSpec:
    return MovementSpec(ref, "top_up", amount, days_ago, method)


def _charge(ref: str, amount: str, days_ago: float) -> MovementSpec:
    return MovementSpec(ref, "charge", amount, days_ago)


WALLETS: dict[str, list[MovementSpec]] = {
    # below its CNY 500 threshold after the last charge: a low-balance notice
    SELLER_STORE: [
        _top_up("DEMO-AP-3100001-1", "2000.00", 40, "alipay"),
        _charge("DEMO-ADS-3100001-1", "420.00", 30),
        _charge("DEMO-ADS-3100001-2", "515.60", 20),
        _charge("DEMO-ADS-3100001-3", "388.40", 10),
        _charge("DEMO-ADS-3100001-4", "356.00", 1),
    ],
    "3100002": [
        _top_up("DEMO-BOC-3100002-1", "800.00", 60, "bank_transfer"),
        _charge("DEMO-ADS-3100002-1", "210.00", 50),
        _charge("DEMO-ADS-3100002-2", "185.50", 35),
    ],
    "3100003": [
        _top_up("DEMO-CC-3100003-1", "500.00", 150, "credit_card"),
        _charge("DEMO-ADS-3100003-1", "300.00", 140),
        _charge("DEMO-ADS-3100003-2", "155.00", 130),
    ],
    TEA_STORE: [
        _top_up("DEMO-AP-3100004-1", "1500.00", 60, "alipay"),
        _charge("DEMO-ADS-3100004-1", "400.00", 45),
        _charge("DEMO-ADS-3100004-2", "380.00", 25),
        _charge("DEMO-ADS-3100004-3", "290.00", 5),
    ],
    # CNY 180.00 in arrears since 2 days ago: within the grace period
    ARREARS_STORE: [
        _top_up("DEMO-CC-3100005-1", "300.00", 20, "credit_card"),
        _charge("DEMO-ADS-3100005-1", "150.00", 10),
        _charge("DEMO-ADS-3100005-2", "120.00", 5),
        _charge("DEMO-ADS-3100005-3", "210.00", 2),
    ],
    # CNY 1,860.40 in arrears since 6 days ago: frozen when the grace period ran out
    FROZEN_ARREARS_STORE: [
        _top_up("DEMO-AP-3100006-1", "200.00", 30, "alipay"),
        _charge("DEMO-ADS-3100006-1", "150.00", 12),
        _charge("DEMO-ADS-3100006-2", "1260.40", 6),
        _charge("DEMO-ADS-3100006-3", "650.00", 4),
    ],
}
THRESHOLDS = {SELLER_STORE: Decimal("500.00"), TEA_STORE: Decimal("200.00")}


def seed_promotion(demo: Demo) -> tuple[int, int]:
    """Thresholds first (set by the seller, or finance), then each store's movements in time
    order: top-ups by the seller (its own store), the payment provider (the system) or finance
    (bank transfers), charges by the ad system. Runs before the store states: a frozen or
    closed store takes no charges. Then the store whose arrears outlived the grace period is
    frozen by the arrears job, at the moment it fell due."""
    new = 0
    for store_id, threshold in THRESHOLDS.items():
        store = demo.stores[store_id]
        if not PromotionWallet.objects.filter(store=store).exists():
            actor = demo.seller_of(store_id) or demo.users["finance"]
            promotion_set_threshold(store_id=store.pk, actor=actor, threshold=threshold)
            new += 1
    specs = [(store_id, spec) for store_id, specs in WALLETS.items() for spec in specs]
    known = set(
        PromotionMovement.objects.filter(
            reference__in=[spec.reference for _, spec in specs]
        ).values_list("reference", flat=True)
    )
    for store_id, spec in specs:
        if spec.reference not in known:
            _move_wallet(store_id, spec, demo)
            new += 1
    new += _freeze_for_arrears(demo)
    return new, len(known)


def _move_wallet(store_id: str, spec: MovementSpec, demo: Demo) -> None:
    store, at = demo.stores[store_id], demo.now - timedelta(days=spec.days_ago)
    if spec.kind == "charge":
        promotion_charge(
            store_id=store.pk, actor=None, amount=spec.amount, reference=spec.reference, at=at
        )
        return
    if spec.method == PromotionMovement.Method.BANK_TRANSFER:
        actor = demo.users["finance"]
    else:
        actor = demo.seller_of(store_id)  # else the payment provider's integration
    promotion_top_up(
        store_id=store.pk,
        actor=actor,
        amount=spec.amount,
        method=spec.method,
        reference=spec.reference,
        at=at,
    )


def _freeze_for_arrears(demo: Demo) -> int:
    store = demo.stores[FROZEN_ARREARS_STORE]
    if store.history.exists():
        return 0
    episode = ArrearsEpisode.objects.get(store=store, cleared_at__isnull=True)
    # The runner's next pass after the grace period (it runs every few minutes).
    due = episode.started_at + timedelta(days=settings.ARREARS_GRACE_DAYS, minutes=5)
    return arrears_freeze(min(due, demo.now))


def seed_ratings(demo: Demo) -> tuple[int, int]:
    """Buyers' ratings of completed orders (the platform's feedback feed, the system), a day
    after each order was confirmed."""
    stars = {spec.number: rating for spec, (*_, rating) in zip(TEA_ORDERS, TEA_BUYERS, strict=True)}
    stars |= {"8100000000000006": 5, "8100000000000012": 4}
    orders = Order.objects.filter(order_number__in=stars, status=Order.Status.COMPLETED)
    rated = 0
    for order in orders.filter(rating__isnull=True):
        order_record_rating(
            order_id=order.pk,
            actor=None,
            rating=stars[order.order_number],
            at=min(order.completed_at + timedelta(days=1), demo.now),
        )
        rated += 1
    return rated, orders.count() - rated


def seed_evaluation(demo: Demo) -> tuple[int, int]:
    """The daily early-payout evaluation (its job only), as the deadlines runner runs it: each
    store not closed gets its health figures and decision, once per UTC day. The seller
    store's recent staff override stands (EARLY_PAYOUT_OVERRIDE_DAYS)."""
    decisions = EarlyPayoutDecision.objects.filter(source="evaluation")
    before = decisions.count()
    evaluate_early_payout(demo.now)
    return decisions.count() - before, before


SECTIONS: list[tuple[str, Section]] = [
    ("stores", seed_stores),
    ("users", seed_users),
    ("orders", seed_orders),
    # Before the store states: frozen and closed stores take no charges.
    ("promotion", seed_promotion),
    ("store states", seed_store_states),
    ("exchange rates", seed_exchange_rates),
    # Before early payout: the orders its disputes return to "shipped" are released with the
    # others, so that a second run finds nothing left to release.
    ("disputes", seed_disputes),
    ("early payout", seed_early_payout),
    ("payouts", seed_payouts),
    # Last: the evaluation reads the ratings, disputes, refunds and arrears above.
    ("ratings", seed_ratings),
    ("evaluation", seed_evaluation),
]


class Command(BaseCommand):
    help = (
        "Create demo stores, orders and disputes in every state and the demo logins (admin/admin, "
        "seller/seller, support/support, risk/risk, finance/finance). Idempotent; DEBUG only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="seed even when DEBUG is off (never in production)"
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates well-known logins (admin/admin...) and runs only with DEBUG "
                "on (DJANGO_DEBUG=1). Use --force to seed anyway."
            )
        demo = Demo(now=clock.now())
        total = 0
        try:
            with transaction.atomic():
                for name, section in SECTIONS:
                    created, existing = section(demo)
                    total += created
                    self.stdout.write(f"{name}: {created} new, {existing} already there")
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(f"seed_demo failed, nothing was written: {error_text(exc)}") from exc
        if total:
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo data ready. Logins: admin/admin, seller/seller, "
                    + ", ".join(f"{role}/{role}" for role in STAFF_ROLES)
                )
            )
        else:
            self.stdout.write("Nothing new: the demo data was already there.")
