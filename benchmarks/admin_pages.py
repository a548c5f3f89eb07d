"""Admin pages at size against Django's default ModelAdmin for the same model, in one process.

    python benchmarks/admin_pages.py [--orders 10000] [--repeat 3]

One store with N orders (a third of them completed, their payment and release posted: about N
ledger entries of the store), a superuser signed in with Django's test client. Measured: the
orders changelist (``/admin/orders/order/``) and the store's page (its change page, with the
money panels) against the same two pages of a default ``admin.ModelAdmin`` registered for the
same models on a second admin site (``/bench-admin/``); and, for information, the store's details
page (the panels its change page fetches when staff open them) beside the default store page.
Each figure is the median of
``--repeat`` requests, ours and the default interleaved; the SQL statements of one request of
each are counted. Both answers must be 200.
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import benchlib

DEFAULT_URL = "bench-admin/"


def _urlpatterns() -> list:
    from django.contrib import admin
    from django.urls import path

    from accounts.models import SellerAccount
    from backoffice.composition.urls import urlpatterns
    from orders.models import Order

    site = admin.AdminSite(name="benchadmin")
    site.register(Order)
    site.register(SellerAccount)
    return [*urlpatterns, path(DEFAULT_URL, site.urls)]


def make_data(n: int) -> tuple[Any, Any]:
    """A store with ``n`` orders; every third completed with its payment and release posted
    (three store ledger entries each), and a superuser."""
    from django.db import transaction

    from accounts.models import User
    from accounts.services import seller_account_create
    from backoffice import clock
    from backoffice.unit_of_work import unit_of_work
    from orders.models import Order
    from payouts import ledger
    from payouts.models import Account

    now = clock.now()
    store = seller_account_create(
        actor=None, platform_store_id="7000001", name="Bench", opened_at=now - timedelta(400)
    )
    day = timedelta(days=1)
    states = ("completed", "unpaid", "shipped")
    paid_at = now - 30 * day
    Order.objects.bulk_create(
        Order(
            store_id=store.pk,
            order_number=str(9_200_000_000_000_000 + i),
            amount=Decimal("10.00") + i % 50,
            buyer_name=f"Buyer {i}",
            buyer_country="BR",
            placed_at=paid_at - i * timedelta(minutes=1),
            paid_at=None if states[i % 3] == "unpaid" else paid_at,
            shipped_at=None if states[i % 3] == "unpaid" else paid_at + day,
            completed_at=paid_at + 2 * day if states[i % 3] == "completed" else None,
            status=states[i % 3],
        )
        for i in range(n)
    )
    with transaction.atomic(), unit_of_work():
        for order in Order.objects.filter(status="completed").only("pk", "amount"):
            ledger.post(
                reference=f"order:{order.pk}:payment",
                kind="payment",
                at=paid_at,
                legs=[
                    ledger.Leg(Account.BUYER_FUNDS, -order.amount),
                    ledger.Leg(Account.ESCROW, order.amount, store.pk, order.pk),
                ],
            )
            ledger.post(
                reference=f"order:{order.pk}:release",
                kind="release",
                at=paid_at + 2 * day,
                legs=[
                    ledger.Leg(Account.ESCROW, -order.amount, store.pk, order.pk),
                    ledger.Leg(Account.AVAILABLE, order.amount, store.pk, order.pk),
                ],
            )
    admin = User.objects.create_superuser(username="bench-admin", password="x")
    return store, admin


def _get(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])


def measure(client: Any, ours: str, default: str, repeat: int) -> dict[str, float]:
    _get(client, ours), _get(client, default)  # warm: templates, caches
    times: dict[str, list[float]] = {"ours": [], "default": []}
    for _ in range(repeat):
        for name, url in (("ours", ours), ("default", default)):
            start = time.process_time()
            _get(client, url)
            times[name].append(time.process_time() - start)
    counts = {}
    for name, url in (("ours", ours), ("default", default)):
        with benchlib.counting() as count:
            _get(client, url)
        counts[name] = count[0]
    return {
        "ours_ms": 1000 * sorted(times["ours"])[repeat // 2],
        "default_ms": 1000 * sorted(times["default"])[repeat // 2],
        "ours_queries": counts["ours"],
        "default_queries": counts["default"],
    }


def run(orders: int, repeat: int) -> list[benchlib.Row]:
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from payouts.models import LedgerEntry

    call_command("migrate", verbosity=0)
    store, admin = make_data(orders)
    entries = LedgerEntry.objects.filter(store=store).count()
    client = Client()
    client.force_login(admin)
    gc.collect()
    gc.freeze()  # what exists now stays: a server's collector walks only its requests' objects
    pages = [
        (f"orders changelist, {orders:,} orders", "admin/orders/order/"),
        (
            f"store page, {entries:,} ledger entries",
            f"admin/accounts/selleraccount/{store.pk}/change/",
        ),
    ]
    # The store page's details (its longer panels), fetched when staff open them: beside the
    # default store page, for information (no goal: it is a second request, on demand).
    details = (
        f"store details on demand, {entries:,} ledger entries",
        f"admin/accounts/selleraccount/{store.pk}/details/",
        f"/{DEFAULT_URL}accounts/selleraccount/{store.pk}/change/",
    )
    rows = []
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
        for label, url, *default in [*pages, details]:
            default_url = default[0] if default else f"/{DEFAULT_URL}{url.removeprefix('admin/')}"
            m = measure(client, f"/{url}", default_url, repeat)
            ratio = m["ours_ms"] / m["default_ms"]
            rows.append(
                benchlib.Row(
                    part="admin",
                    case=label,
                    figure=f"{m['ours_ms']:.0f} ms CPU, {m['ours_queries']} queries",
                    baseline=(
                        f"default ModelAdmin {m['default_ms']:.0f} ms CPU, "
                        f"{m['default_queries']} queries"
                    ),
                    ratio=ratio,
                    goal="" if default else "<= 2x",
                    met=None if default else ratio <= 2,
                    note=f"median of {repeat} requests (CPU time of the process)",
                )
            )
    return rows


urlpatterns: list = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    benchlib.setup_django("sqlite://:memory:")
    urlpatterns.extend(_urlpatterns())
    benchlib.emit(run(args.orders, args.repeat))


if __name__ == "__main__":
    main()
