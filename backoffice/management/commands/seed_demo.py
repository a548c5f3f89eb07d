"""Idempotent demo data for a local back-office (DEBUG only).

Every state is reached through the services, as the admin and GraphQL would reach it, so the
demo objects carry their real history. Each kind of object is keyed on its natural key
(username, platform store id, order number): a second run creates nothing and says so.

The data is built by the :data:`SECTIONS` in order, each returning ``(new, already there)``.
Later apps add theirs (disputes, payouts...) to the end of that list with their own specs.
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
from orders.models import Order
from orders.services import (
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_open_dispute,
    order_ship,
)


@dataclass(frozen=True)
class StoreSpec:
    store_id: str
    name: str
    status: str  # reached after the store's orders exist (a closed store takes no new orders)
    opened_days_ago: int
    currency: str = "USD"


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


SELLER_STORE = "3100001"  # the store of the `seller` login

STORES = [
    StoreSpec(SELLER_STORE, "Sunrise Gadgets", "active", opened_days_ago=420),
    StoreSpec("3100002", "Harbor Textiles", "frozen", opened_days_ago=210, currency="CNY"),
    StoreSpec("3100003", "Old Lantern Crafts", "closed", opened_days_ago=730),
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
        placed_at = demo.now - timedelta(days=spec.placed_days_ago)
        order = order_create(
            actor=None,
            store_id=demo.stores[spec.store_id].pk,
            order_number=spec.number,
            amount=Decimal(spec.amount),
            buyer_name=spec.buyer,
            buyer_country=spec.country,
            placed_at=placed_at,
        )
        for step in ROUTES[spec.status]:
            _run_step(step, order.pk, spec, demo, at=min(placed_at + STEP[step], demo.now))
        created += 1
    return created, len(ORDERS) - created


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
        # Until the disputes app exists, the order side of opening a dispute; then this becomes
        # disputes.services.dispute_open (which calls it) in a disputes section.
        order_open_dispute(order_id=order_id, actor=None, note="demo: item not received", at=at)
    else:  # pragma: no cover - a typo in ROUTES
        raise ValueError(step)


def seed_store_states(demo: Demo) -> tuple[int, int]:
    """Freeze and close the stores meant to be so, once: only a store that has never changed
    state is moved, so a store staff have since unfrozen is left as it is."""
    moved = 0
    risk = demo.users["risk"]
    for spec in STORES:
        store = demo.stores[spec.store_id]
        if spec.status == "active" or store.history.exists():
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
    wanted = sum(spec.status != "active" for spec in STORES)
    return moved, wanted - moved


SECTIONS: list[tuple[str, Section]] = [
    ("stores", seed_stores),
    ("users", seed_users),
    ("orders", seed_orders),
    ("store states", seed_store_states),
]


class Command(BaseCommand):
    help = (
        "Create demo stores, orders in every state and the demo logins (admin/admin, "
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
