"""Every benchmark, each figure beside a baseline measured in the same run: ``make bench``.

Not a test: ``python benchmarks/run.py [--quick] [--only PART ...]`` prints the machine, then
each part's rows as they come, then ONE table of every row, and exits 0 (a goal missed is a
``MISS`` row, not an error). Parts (benchmarks/README.md says what each measures):

- ``graphql``: a page of 10 and 100 orders through GraphQL against a hand-written view of the
  same JSON (``graphql_page.py``, a process of its own);
- ``imports``: 100,000 rows (``--import-rows``) through our importer, a raw ``bulk_create`` and
  django-import-export row by row (``import_orders.py``; its own tables go to
  ``$TMPDIR/bench-imports.txt``), and the seller center's real layout;
- ``deadlines``: 10,000 and 100,000 due items of every kind (``--deadline-items``) through the
  runner, against a raw ``UPDATE`` + audit ``INSERT``, on a private in-memory SQLite database;
- ``load``: 60 s (``--load-seconds``) of 80 % reads / 20 % writes on gunicorn with 2 workers,
  on SQLite and on a throwaway PostgreSQL cluster (``load.py``);
- ``admin``: the orders changelist and a store page at 10,000 orders / ledger entries against
  Django's default ModelAdmin (``admin_pages.py``).

``--quick`` shrinks every size (a few minutes in all); ``--repeat N`` (3) runs per figure, the
median kept; ``--markdown FILE`` writes the table for benchmarks/README.md.
"""

import argparse
import contextlib
import gc
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
os.environ["DATABASE_URL"] = "sqlite://:memory:"
# Not a server: a throwaway key (settings.py refuses to start without one when DEBUG is off).
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "benchmarks-only-insecure-key-not-for-any-server-0123456789"
)

import django  # noqa: E402

django.setup()

import benchlib  # noqa: E402  (benchmarks/benchlib.py: the table, the machine)
import import_orders  # noqa: E402  (benchmarks/import_orders.py: each case in a child process)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.services import seller_account_create  # noqa: E402
from backoffice import clock  # noqa: E402
from backoffice.deadlines import run_all  # noqa: E402
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
        start, cpu_start = time.perf_counter(), time.process_time()
        done = work()
        seconds = time.perf_counter() - start
    LAST_CPU[0] = time.process_time() - cpu_start  # the database is in process: all its work
    return done, seconds, count


LAST_CPU = [0.0]  # CPU seconds of the last measure()


PARTS = ("graphql", "admin", "load", "imports", "deadlines")  # the longest last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and short runs: a few minutes in all"
    )
    parser.add_argument("--only", choices=PARTS, action="append", help="run this part (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, the median kept")
    parser.add_argument("--import-rows", type=int, help="imports: rows (default 100,000)")
    parser.add_argument("--deadline-items", type=int, nargs=2, help="deadlines: two sizes")
    parser.add_argument("--batch", type=int, default=settings.DEADLINES_BATCH_SIZE)
    parser.add_argument("--load-seconds", type=float, help="load: seconds per database (60)")
    parser.add_argument("--admin-orders", type=int, help="admin: orders (10,000)")
    parser.add_argument("--no-postgres", action="store_true", help="load: SQLite only")
    parser.add_argument("--markdown", type=Path, help="also write the table here (Markdown)")
    parser.add_argument("--deadlines-size", type=int, help=argparse.SUPPRESS)  # one child
    args = parser.parse_args()
    if args.deadlines_size:
        benchlib.emit([deadlines_row(args.deadlines_size, args.batch)])
        return
    parts = args.only or PARTS
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    print(f"machine: {benchlib.machine(load_before)}", flush=True)
    rows: list[benchlib.Row] = []
    for part in parts:
        print(f"== {part} ...", flush=True)
        part_rows = RUNNERS[part](args)
        benchlib.print_table(part_rows)
        rows += part_rows
    minutes = (time.perf_counter() - started) / 60
    print()
    title = (
        f"make bench{' --quick' if args.quick else ''}: {minutes:.0f} min; machine: "
        f"{benchlib.machine(load_before)}, {os.getloadavg()[0]:.2f} at the end"
    )
    benchlib.print_table(rows, title=title)
    if args.markdown:
        notes = "\n".join(f"- {r.part}, {r.case}: {r.note}" for r in rows if r.note)
        args.markdown.write_text(f"{title}\n\n{benchlib.markdown_table(rows)}\n\n{notes}\n")


def child(script: str, *options: str, postgres: bool = False) -> list[benchlib.Row]:
    """A benchmark script in a process of its own (its own database); its rows."""
    command = [sys.executable, str(HERE / script), *options]
    if postgres:
        command = ["bash", str(ROOT / ".ci" / "with-postgres"), *command]
    env = {**os.environ, "BENCH_CHILD": "1"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    rows = benchlib.read_rows(done.stdout)
    if not rows:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        rows = [benchlib.Row(script, " ".join(options), f"failed: {tail[:200]}", "-", met=False)]
    return rows


def run_graphql(args: argparse.Namespace) -> list[benchlib.Row]:
    return child("graphql_page.py", "--sizes", "10", "100", "--repeat", str(args.repeat))


def run_admin(args: argparse.Namespace) -> list[benchlib.Row]:
    orders = args.admin_orders or (2_000 if args.quick else 10_000)
    return child("admin_pages.py", "--orders", str(orders), "--repeat", str(args.repeat))


def run_load(args: argparse.Namespace) -> list[benchlib.Row]:
    seconds = args.load_seconds or (10 if args.quick else 60)
    options = ("--seconds", str(seconds), "--floor-seconds", str(max(3, seconds / 6)))
    rows = child("load.py", *options)
    if not args.no_postgres:
        rows += child("load.py", "--database", "env", *options, postgres=True)
    return rows


def run_imports(args: argparse.Namespace) -> list[benchlib.Row]:
    rows = args.import_rows or (import_orders.B_ROWS if args.quick else import_orders.FULL_ROWS)
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        outcomes = import_orders.run(
            rows,
            repeat=1 if args.quick else args.repeat,
            real="none" if args.quick else "usd",
            memory=False,
            pick="median",
        )
    (Path(tempfile.gettempdir()) / "bench-imports.txt").write_text(quiet.getvalue())
    return import_rows(rows, outcomes)


def import_rows(rows: int, outcomes: dict) -> list[benchlib.Row]:
    a, b, ours = outcomes.get("A"), outcomes.get("B"), outcomes.get("ours")
    if not (a and b and ours and a.data and b.data and ours.data):
        failed = next((o.failure for o in (a, b, ours) if o and o.failure), "no outcome")
        return [benchlib.Row("import", f"{rows:,} rows", f"failed: {failed}", "-", met=False)]
    report = f"created {ours.get('created')}, errors {ours.get('errors')}"
    # Ratios of CPU seconds (each case's process; SQLite runs in it), wall seconds beside them:
    # on a shared machine the wall times follow the other jobs more than the work.
    to_a = ours.get("cpu_seconds") / a.get("cpu_seconds")
    result = [
        benchlib.Row(
            part="import",
            case=f"{rows:,} rows, every rule (ours) vs raw bulk_create",
            figure=(
                f"{ours.get('cpu_seconds'):.1f} s CPU ({ours.get('seconds'):.1f} wall), "
                f"{ours.rows / ours.get('cpu_seconds'):,.0f} rows/s CPU ({report})"
            ),
            baseline=(
                f"raw bulk_create {a.get('cpu_seconds'):.1f} s CPU ({a.get('seconds'):.1f} wall), "
                f"{a.rows / a.get('cpu_seconds'):,.0f} rows/s CPU"
            ),
            ratio=to_a,
            goal="<= 1.2x",
            met=to_a <= 1.2,
        ),
        benchlib.Row(
            part="import",
            case="ours vs import-export row by row (rows/s)",
            figure=f"{ours.rate:,.0f} rows/s",
            baseline=f"import-export defaults {b.rate:,.0f} rows/s on {b.rows:,} rows",
            ratio=ours.rate / b.rate,
            note="ratio: how many times faster",
        ),
    ]
    real = outcomes.get("real", {}).get("USD")
    if real is not None and real.data:
        ratio = real.get("cpu_seconds") / ours.get("cpu_seconds")
        result.append(
            benchlib.Row(
                part="import",
                case=f"{rows:,} rows, the seller center's real Chinese layout (USD)",
                figure=f"{real.get('cpu_seconds'):.1f} s CPU ({real.get('seconds'):.1f} wall)",
                baseline=(
                    f"ours on the SPEC layout {ours.get('cpu_seconds'):.1f} s CPU "
                    f"({ours.get('seconds'):.1f} wall)"
                ),
                ratio=ratio,
                goal="same speed (<= 1.2x)",
                met=ratio <= 1.2,
            )
        )
    return result


def run_deadlines(args: argparse.Namespace) -> list[benchlib.Row]:
    """Each size in a process of its own (a fresh in-memory database); the time ratio."""
    sizes = args.deadline_items or ((500, 5_000) if args.quick else (10_000, 100_000))
    # Both sizes in turn, ``--repeat`` rounds, each size's median kept: one run of 3 s against
    # one of 30 s made the ratio follow whatever else the machine ran at the time.
    rounds = [
        [
            row
            for n in sizes
            for row in child("run.py", "--deadlines-size", str(n), "--batch", str(args.batch))
        ]
        for _ in range(1 if args.quick else args.repeat)
    ]
    rows = [_median_row([r[i] for r in rounds if len(r) == len(sizes)]) for i in range(len(sizes))]
    rows = [row for row in rows if row is not None] or rounds[0]
    # The ratio of CPU seconds (the database runs in the process): wall times on a shared
    # machine follow the other jobs more than the work (beside them in the figure).
    seconds = [row.data and row.data.get("cpu_seconds") for row in rows]
    walls = [row.data and row.data.get("seconds") for row in rows]
    if len(rows) != 2 or not all(seconds):
        return rows
    small, large = sizes
    ratio = seconds[1] / seconds[0]
    goal = 10.5 * large / small / 10
    rows.append(
        benchlib.Row(
            part="deadlines",
            case=f"CPU time {large:,} / {small:,} items",
            figure=(
                f"{seconds[1]:.1f} s / {seconds[0]:.1f} s CPU "
                f"(wall {walls[1]:.1f} s / {walls[0]:.1f} s: {walls[1] / walls[0]:.2f}x)"
            ),
            baseline=f"linear: {large / small:.1f}",
            ratio=ratio,
            goal=f"<= {goal:.1f}",
            met=ratio <= goal,
        )
    )
    return rows


def _median_row(rows: list[benchlib.Row]) -> benchlib.Row | None:
    """The row of median CPU time, its note saying of how many runs."""
    timed = sorted(
        (row for row in rows if row.data and row.data.get("cpu_seconds")),
        key=lambda row: row.data["cpu_seconds"],
    )
    if not timed:
        return None
    row = timed[len(timed) // 2]
    cpus = ", ".join(f"{r.data['cpu_seconds']:.1f}" for r in timed)
    row.note += f"; median of {len(timed)} runs, sizes in turn (CPU s: {cpus})"
    return row


def deadlines_row(n: int, batch: int) -> benchlib.Row:
    """``n`` due items of every kind through ``run_all``, beside a raw bulk cancel of ``n``."""
    settings.DEADLINES_BATCH_SIZE = batch
    call_command("migrate", verbosity=0)
    now = clock.now()
    store = seller_account_create(
        actor=None, platform_store_id="bench", name="Bench", opened_at=now - timedelta(days=400)
    )
    generate(store.pk, n, now - timedelta(days=settings.UNPAID_CANCEL_DAYS + 1))
    raw_n, raw_seconds, raw_queries = measure(lambda: raw_cancel(now))
    Order.objects.all().delete()  # only orders and their audit rows so far
    generate_mixed(store.pk, n, now)
    gc.collect()
    memory_before, database_before = _rss(), _database_bytes()
    done, seconds, queries = measure(lambda: sum(run_all(now).values()))
    cpu = LAST_CPU[0]
    grown = (_rss() - memory_before) / 2**20
    # The database is in memory: the rows the run writes (audit rows, events, postings) are
    # RSS too; what the process grew besides them is what the runner keeps.
    database = (_database_bytes() - database_before) / 2**20
    per_item = queries / max(done, 1)
    return benchlib.Row(
        part="deadlines",
        case=(
            f"{n:,} due items (unpaid to cancel, shipped to confirm, overdue disputes "
            "to refund; a third each)"
        ),
        figure=(
            f"{seconds:.1f} s ({cpu:.1f} s CPU), {done / seconds:,.0f} items/s, "
            f"{per_item:.2f} statements/item, "
            f"RSS +{grown:.0f} MB (the in-memory database +{database:.0f} MB)"
        ),
        baseline=(
            f"raw UPDATE + audit INSERT of {raw_n:,} orders {raw_seconds:.1f} s, "
            f"{raw_queries / raw_n:.3f} statements/item"
        ),
        ratio=seconds / raw_seconds,
        goal="<= 0.5 statements/item",
        met=per_item <= 0.5,
        note=f"{done:,} of {n:,} items done; batch {batch}",
        data={
            "seconds": seconds,
            "cpu_seconds": cpu,
            "done": done,
            "queries": queries,
            "rss_growth_mb": grown,
            "database_growth_mb": database,
        },
    )


def _database_bytes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_size")
        return pages * cursor.fetchone()[0]


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


RUNNERS = {
    "graphql": run_graphql,
    "imports": run_imports,
    "deadlines": run_deadlines,
    "load": run_load,
    "admin": run_admin,
}


def generate_mixed(store_id: int, n: int, now) -> None:
    """``n`` due items, a third of each kind: unpaid orders past the payment period, shipped
    orders past the confirmation period (their payment in escrow), and disputed orders whose
    full-refund dispute the seller never answered (their payment in escrow), in a store whose
    ledger also holds as many completed orders (its history)."""
    Dispute.objects.all().delete()
    Order.objects.all().delete()
    day = timedelta(days=1)
    third = n // 3
    kinds = ["unpaid"] * (n - 2 * third) + ["shipped"] * third + ["disputed"] * third
    kinds += ["completed"] * third
    paid_at = now - timedelta(days=settings.AUTO_CONFIRM_DAYS + 5)
    Order.objects.bulk_create(
        Order(
            store_id=store_id,
            order_number=str(9_100_000_000_000_000 + i),
            amount="10.00",
            placed_at=paid_at,
            paid_at=None if kind == "unpaid" else paid_at,
            shipped_at=None if kind == "unpaid" else paid_at + day,
            completed_at=paid_at + 2 * day if kind == "completed" else None,
            closed_at=paid_at + 2 * day if kind == "completed" else None,
            status=kind,
        )
        for i, kind in enumerate(kinds)
    )
    amount = Decimal("10.00")
    paid = Order.objects.exclude(status="unpaid").order_by("pk").only("pk", "status")
    with transaction.atomic(), unit_of_work():
        for order in paid:
            ledger.post(
                reference=f"order:{order.pk}:payment",
                kind="payment",
                at=paid_at,
                legs=[
                    ledger.Leg(Account.BUYER_FUNDS, -amount),
                    ledger.Leg(Account.ESCROW, amount, store_id, order.pk),
                ],
            )
            if order.status == "completed":
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
        for order in Order.objects.filter(status="disputed")
    )


if __name__ == "__main__":
    main()
