"""Every benchmark, each against a baseline measured in the same run (``make bench``).

Not a test: ``python benchmarks/run.py [--quick]`` prints one table per benchmark and exits 0.

- the deadlines runner against a raw bulk update, over N generated due unpaid orders
  (``--orders N --batch B``), on a private in-memory SQLite database; then the runner resolving
  N overdue disputes of one store (each an automatic refund through the waterfall) whose ledger
  already holds N completed orders: the time per dispute must not grow with the history;
- importing an orders export (``import_orders.py``): our importer against a raw ``bulk_create``
  and django-import-export's defaults, on 100,000 generated rows (``--import-rows N``;
  ``--quick``: 10,000), each case in a process of its own on a fresh temporary SQLite file;
  then ours on the seller center's real layout (one store, USD and CNY: ``--real``), once each.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
os.environ["DATABASE_URL"] = "sqlite://:memory:"
# Not a server: a throwaway key (settings.py refuses to start without one when DEBUG is off).
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "benchmarks-only-insecure-key-not-for-any-server-0123456789"
)

import django

django.setup()

import import_orders  # noqa: E402  (benchmarks/import_orders.py: each case in a child process)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.services import seller_account_create  # noqa: E402
from backoffice import clock  # noqa: E402
from backoffice.deadlines import run_all, run_job  # noqa: E402
from backoffice.unit_of_work import unit_of_work  # noqa: E402
from disputes.models import Dispute  # noqa: E402
from orders.models import EndReason, Order, OrderTransition  # noqa: E402
from payouts import ledger  # noqa: E402
from payouts.models import Account  # noqa: E402


def generate(store_id: int, n: int, placed_at) -> None:
    """N unpaid orders (the default state: no transition is involved in creating them)."""
    Order.objects.all().delete()
    Order.objects.bulk_create(
        Order(
            store_id=store_id,
            order_number=str(9_000_000_000_000_000 + i),
            amount="10.00",
            placed_at=placed_at,
        )
        for i in range(n)
    )


def raw_cancel(now) -> int:
    """The baseline: what the runner writes, with no locking, checks or per-row work."""
    cutoff = now - timedelta(days=settings.UNPAID_CANCEL_DAYS)
    with transaction.atomic():
        ids = list(
            Order.objects.filter(status="unpaid", placed_at__lte=cutoff).values_list(
                "pk", flat=True
            )
        )
        Order.objects.filter(pk__in=ids).update(
            status="cancelled", closed_at=now, end_reason=EndReason.PAY_TIMEOUT, updated_at=now
        )
        OrderTransition.objects.bulk_create(
            (
                OrderTransition(
                    order_id=pk, transition="cancel", source="unpaid", target="cancelled", at=now
                )
                for pk in ids
            ),
            batch_size=1000,
        )
    return len(ids)


def measure(work: Callable[[], int]) -> tuple[int, float, int]:
    count = 0

    def counted(execute, sql, params, many, context):  # every query (no logging cap)
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        start = time.perf_counter()
        done = work()
        seconds = time.perf_counter() - start
    return done, seconds, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="deadlines: due orders")
    parser.add_argument("--batch", type=int, default=settings.DEADLINES_BATCH_SIZE)
    parser.add_argument(
        "--import-rows", type=int, default=import_orders.FULL_ROWS, help="rows of the orders file"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"import {import_orders.B_ROWS:,} rows, not 100,000"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="imports: timed runs per case, the fastest shown"
    )
    parser.add_argument("--only", choices=("deadlines", "imports"), help="run one benchmark")
    parser.add_argument(
        "--real",
        choices=tuple(import_orders.REAL_CURRENCIES),
        default="both",
        help="imports: the seller-center layout too (USD, or USD and CNY; once each)",
    )
    args = parser.parse_args()
    if args.only != "imports":
        deadlines(args)
    if args.only != "deadlines":
        if args.only is None:
            print()
        rows = import_orders.B_ROWS if args.quick else args.import_rows
        import_orders.run(rows, repeat=args.repeat, real=args.real)


def deadlines(args: argparse.Namespace) -> None:
    settings.DEADLINES_BATCH_SIZE = args.batch

    call_command("migrate", verbosity=0)
    now = clock.now()
    store = seller_account_create(
        actor=None, platform_store_id="bench", name="Bench", opened_at=now - timedelta(days=400)
    )
    placed_at = now - timedelta(days=settings.UNPAID_CANCEL_DAYS + 1)

    rows = []
    for label, work in [
        ("raw UPDATE + audit INSERT (baseline)", lambda: raw_cancel(now)),
        ("deadlines runner (run_all)", lambda: run_all(now)["orders.cancel_unpaid"]),
    ]:
        generate(store.pk, args.orders, placed_at)
        done, seconds, queries = measure(work)
        assert done == args.orders, (label, done)
        rows.append((label, done, seconds, queries))

    base = rows[0][2]
    print(f"Cancelling {args.orders} due unpaid orders, SQLite in memory, batch {args.batch}")
    print(
        f"{'method':<38} {'orders':>7} {'seconds':>8} {'orders/s':>9} {'queries':>8} {'x base':>7}"
    )
    for label, done, seconds, queries in rows:
        print(
            f"{label:<38} {done:>7} {seconds:>8.3f} {done / seconds:>9.0f} {queries:>8} "
            f"{seconds / base:>6.1f}x"
        )
    disputes(args, store.pk, now)


def generate_disputes(store_id: int, n: int, now) -> None:
    """N completed orders whose money reached the store (its history), and N disputed orders
    in escrow whose full-refund dispute the seller never answered."""
    Dispute.objects.all().delete()
    Order.objects.all().delete()
    day = timedelta(days=1)
    paid_at = now - 30 * day
    Order.objects.bulk_create(
        Order(
            store_id=store_id,
            order_number=str(9_100_000_000_000_000 + i),
            amount="10.00",
            placed_at=paid_at,
            paid_at=paid_at,
            shipped_at=paid_at + day,
            closed_at=paid_at + 2 * day if i < n else None,
            status="completed" if i < n else "disputed",
        )
        for i in range(2 * n)
    )
    orders = list(Order.objects.order_by("pk"))
    amount = Decimal("10.00")
    with unit_of_work():
        for i, order in enumerate(orders):
            ledger.post(
                reference=f"order:{order.pk}:payment",
                kind="payment",
                at=paid_at,
                legs=[
                    ledger.Leg(Account.BUYER_FUNDS, -amount),
                    ledger.Leg(Account.ESCROW, amount, store_id, order.pk),
                ],
            )
            if i < n:
                ledger.post(
                    reference=f"order:{order.pk}:release",
                    kind="release",
                    at=paid_at + 2 * day,
                    legs=[
                        ledger.Leg(Account.ESCROW, -amount, store_id, order.pk),
                        ledger.Leg(Account.AVAILABLE, amount, store_id, order.pk),
                    ],
                )
    Dispute.objects.bulk_create(
        Dispute(
            order=order,
            store_id=store_id,
            reason="not_received",
            requested_refund=amount,
            protected=False,
            opened_at=now - 10 * day,
            respond_by=now - 5 * day,
            escalate_at=now + 5 * day,
        )
        for order in orders[n:]
    )


def disputes(args: argparse.Namespace, store_id: int, now) -> None:
    generate_disputes(store_id, args.orders, now)
    done, seconds, queries = measure(lambda: run_job("disputes.auto_resolve", now).done)
    assert done == args.orders, done
    print()
    print(
        f"Resolving {args.orders} overdue disputes (automatic full refunds) of one store whose "
        f"ledger holds {args.orders} completed orders"
    )
    print(
        f"{'disputes':>8} {'seconds':>8} {'ms/dispute':>11} {'queries':>8} {'queries/dispute':>16}"
    )
    print(
        f"{done:>8} {seconds:>8.3f} {1000 * seconds / done:>11.3f} {queries:>8} "
        f"{queries / done:>16.1f}"
    )


if __name__ == "__main__":
    main()
