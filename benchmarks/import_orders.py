"""Importing an orders export: our importer against two baselines, same machine, same run.

Not a test: ``python benchmarks/import_orders.py [--rows 100000] [--quick]`` prints a table with
PASS/MISS per goal and exits 0 whatever it measures. ``benchmarks/run.py`` (``make bench``) runs it.

What runs, each case in a process of its own on a fresh SQLite file (a copy of a database
migrated once for the run), with ``DATABASE_URL`` set before ``django.setup()``:

- parse only: the shared parsing layer (``open_export``) over the file, no database: the floor
  under every case, since all three parse the same file with it;
- ours: ``backoffice.composition.imports.runner.import_export`` on the whole file; the report
  must say created == rows, no errors, landed;
- baseline A: the same parsing, stores by dict, ``Order.objects.bulk_create`` in batches of
  1,000 in one transaction; no rules, no ledger, no audit: the fastest honest write;
- baseline B: django-import-export's row-by-row import (a ``ModelResource`` for ``Order`` with a
  ``ForeignKeyWidget`` for the store, default settings, ``import_data(dataset, dry_run=False)``)
  on the first 10,000 rows (the generator's files for one seed are prefixes of each other);
  its rows/s is extrapolated to the whole file;
- ours again on 10% (at least 5,000 rows), 50% and 100% of the rows with ``tracemalloc`` on, for
  memory: its hooks slow allocation-heavy code, so the timed run above has it off;
- the seller center's real layout (``generate.py --layout seller-center``: one store, 23 Chinese
  columns, no store column, no shipping time): parse only and ours
  (``import_export(path, store=..., store_name=...)``) on a file of as many rows, USD amounts and,
  with ``--real both`` (the default), CNY amounts with the USD/CNY rate recorded for every order
  day before the clock starts; once each (``--real-repeat``), and with ``--real-memory`` ours
  again on 10% and 100% of them with ``tracemalloc`` on.

Peak memory is ``tracemalloc``'s peak (Python allocations made during the import) and the
process's max RSS (``VmHWM`` on Linux, ``resource.getrusage`` elsewhere: see ``_max_rss_bytes``),
shown with the RSS it had before the import began.
SQL statements are counted with a ``connection.execute_wrapper`` (one per ``execute``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import generate  # noqa: E402  (benchmarks/generate.py: needs no Django)

FULL_ROWS = 100_000  # the goals are stated for this size
B_ROWS = 10_000
BATCH = 1_000
SEED = 1
STORES = 50
RESULT = "BENCH-RESULT "
# --runner: another module with the same import_export()
RUNNER = "backoffice.composition.imports.runner"
NOT_AVAILABLE = "importer not available yet (backoffice/composition/imports/runner.py is missing)"

# The goals (informational: the benchmark never fails the build).
MAX_SLOWER_THAN_A = 5.0
MIN_FASTER_THAN_B = 10.0
MAX_WHOLE_FILE_SECONDS = 30.0
MAX_MEMORY_GROWTH = 1.5  # peak at 100% of the rows over peak at 10%: roughly flat ...
MEMORY_SLACK = 4 * 2**20  # ... or at most this much above it (small files: fixed costs dominate)
REAL_CURRENCIES = {"none": (), "usd": ("USD",), "both": ("USD", "CNY")}
MIN_MEMORY_ROWS = 5_000  # a few of the importer's batches (2,000 rows): below, no plateau yet


# --- the cases, each run in a child process ----------------------------------------------------


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _max_rss_bytes() -> int:
    """This process's peak resident set. On Linux ``getrusage``'s ``ru_maxrss`` carries the
    parent's peak over ``exec`` (a child of ``run.py``, which holds Django, starts at the
    parent's size), so the kernel's own high-water mark of this process, ``VmHWM``, comes first."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def case_parse(path: Path, rows: int, *, store: str | None = None) -> dict:
    from backoffice.imports.parse import open_export

    parsed = errors = 0
    with open_export(path, kind="orders", store=store) as export:
        for result in export.results():
            parsed += 1
            errors += len(result.errors)
    return {"rows": parsed, "created": None, "errors": errors}


def _order_fields(row) -> dict:
    """An ``OrderRow`` as ``Order`` field values: what every case writes for a new order."""
    state = str(row.state)
    return {
        "order_number": row.order_number,
        "buyer_name": row.buyer_name or "",
        "buyer_country": row.buyer_country or "",
        "amount": row.amount.amount,
        "product_total": row.product_total.amount if row.product_total else None,
        "shipping_cost": row.shipping_cost.amount if row.shipping_cost else None,
        "payment_method": str(row.payment_method or ""),
        "product_info": row.product_info or "",
        "protected": bool(row.protected),
        "status": state,
        "placed_at": row.ordered_at,
        "paid_at": row.paid_at,
        "shipped_at": row.shipped_at,
        "completed_at": row.confirmed_at if state == "completed" else None,
        "carrier": row.parcels[0][0] if row.parcels else "",
        "tracking_number": row.parcels[0][1] if row.parcels else "",
        "parcels": [{"carrier": c, "tracking_number": t} for c, t in row.parcels],
        "end_reason": str(row.end_reason or ""),
        "disputed_from": ("shipped" if row.shipped_at else "paid") if state == "disputed" else "",
    }


def _store_pk(stores: dict[str, int], row) -> int:
    """The store's pk from the dict, creating an unknown store as the SPEC says (active, named
    by Store Name)."""
    from accounts.models import SellerAccount

    pk = stores.get(row.store_id)
    if pk is None:
        pk = SellerAccount.objects.create(
            platform_store_id=row.store_id,
            name=row.store_name or row.store_id,
            opened_at=row.ordered_at,
        ).pk
        stores[row.store_id] = pk
    return pk


def case_bulk_create(path: Path, rows: int) -> dict:
    from django.db import transaction

    from accounts.models import SellerAccount
    from backoffice.imports.parse import open_export
    from orders.models import Order

    errors = 0
    with transaction.atomic():
        stores = dict(SellerAccount.objects.values_list("platform_store_id", "pk"))
        batch: list[Order] = []
        with open_export(path, kind="orders") as export:
            for result in export.results():
                if result.errors:
                    errors += len(result.errors)
                    continue
                row = result.row
                batch.append(Order(store_id=_store_pk(stores, row), **_order_fields(row)))
                if len(batch) >= BATCH:
                    Order.objects.bulk_create(batch)
                    batch.clear()
        Order.objects.bulk_create(batch)
    return {"rows": rows, "created": Order.objects.count(), "errors": errors}


_FIELD_NAMES = (
    "order_number",
    "buyer_name",
    "buyer_country",
    "amount",
    "product_total",
    "shipping_cost",
    "payment_method",
    "product_info",
    "protected",
    "status",
    "placed_at",
    "paid_at",
    "shipped_at",
    "completed_at",
    "carrier",
    "tracking_number",
    "parcels",
    "end_reason",
    "disputed_from",
)


def case_import_export(path: Path, rows: int) -> dict:
    import tablib
    from import_export import fields, resources
    from import_export.widgets import ForeignKeyWidget

    from accounts.models import SellerAccount
    from backoffice.imports.parse import open_export
    from orders.models import Order

    class OrderResource(resources.ModelResource):
        store = fields.Field(
            attribute="store",
            column_name="store",
            widget=ForeignKeyWidget(SellerAccount, field="platform_store_id"),
        )

        class Meta:
            model = Order
            import_id_fields = ("order_number",)
            # ``status`` is a protected FSMField: it can only be given to the constructor
            # (init_instance below), never assigned, so it is not an import field.
            fields = ("store", *(name for name in _FIELD_NAMES if name != "status"))

        def init_instance(self, row=None):
            return Order(status=row["status"])

    started = time.perf_counter()
    dataset = tablib.Dataset(headers=["store", *_FIELD_NAMES])
    stores = dict(SellerAccount.objects.values_list("platform_store_id", "pk"))
    errors = 0
    with open_export(path, kind="orders") as export:
        for result in export.results():
            if result.errors:
                errors += len(result.errors)
                continue
            _store_pk(stores, result.row)  # import-export's FK widget needs the store to exist
            values = _order_fields(result.row)
            # import-export's JSONWidget reads JSON text, as a file would hold it
            values["parcels"] = json.dumps(values["parcels"])
            dataset.append([result.row.store_id, *(values[name] for name in _FIELD_NAMES)])
    parse_seconds = time.perf_counter() - started
    result = OrderResource().import_data(dataset, dry_run=False)
    return {
        "rows": rows,
        "created": result.totals["new"],
        "errors": errors + len(result.base_errors) + sum(len(r.errors) for r in result.rows),
        "invalid": len(result.invalid_rows),
        "parse_seconds": parse_seconds,
    }


def prepare_ours() -> dict:
    """A staff member who may import (untimed): the importer acts for someone."""
    from accounts.models import User

    actor = User(username="bench-importer", is_staff=True, is_superuser=True)
    actor.set_unusable_password()
    actor.save()
    return {"actor": actor}


def prepare_ours_real(currency: str) -> dict:
    """Ours on the seller center's layout: the acting user and, for a CNY store, the USD/CNY
    rate of every day the file's orders can fall on (untimed, as a seller records them first)."""
    options = prepare_ours()
    if currency == "CNY":
        from datetime import timedelta

        from payouts.services import exchange_rate_set

        first, last = generate.seller_center_days()
        for k in range((last - first).days + 1):
            exchange_rate_set(actor=None, day=first + timedelta(days=k), rate="7.18")
    return options | {"store": generate.SELLER_CENTER_STORE.platform_id}


def case_ours(path: Path, rows: int, *, actor, store: str | None = None) -> dict:
    import_export = importlib.import_module(os.environ.get("BENCH_RUNNER", RUNNER)).import_export
    one_store = {"store": store, "store_name": generate.SELLER_CENTER_STORE.name} if store else {}
    report = import_export(path, kind="orders", actor=actor, file_name=path.name, **one_store)
    errors = report.errors
    listed = [] if isinstance(errors, int) else [str(error) for error in list(errors)[:3]]
    return {
        "rows": rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": errors if isinstance(errors, int) else len(errors),
        "first_errors": listed,
        "landed": bool(report.landed),
    }


CASES: dict[str, Callable[..., dict]] = {
    "parse": case_parse,
    "bulk_create": case_bulk_create,
    "import_export": case_import_export,
    "ours": case_ours,
}
PREPARE: dict[str, Callable[[], dict]] = {"ours": prepare_ours}


def child(
    case: str,
    path: Path | None,
    db: Path,
    rows: int,
    trace: bool,
    layout: str = "spec",
    currency: str = "USD",
) -> None:
    """One measured case (or ``migrate``, to make the template database), in this process."""
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "benchmarks-only-insecure-key-not-for-any-server-0123456789"
    )
    os.environ.pop("DJANGO_DEBUG", None)  # DEBUG keeps every query's SQL
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if case == "migrate":
        call_command("migrate", verbosity=0)
        print(RESULT + json.dumps({"ok": True}), flush=True)
        return
    work = CASES[case]
    if layout == "seller-center":
        if case == "ours":
            options = prepare_ours_real(currency)
        elif case == "parse":
            options = {"store": generate.SELLER_CENTER_STORE.platform_id}
        else:
            raise SystemExit(f"{case}: not run on the seller-center layout")
    else:
        options = PREPARE.get(case, dict)()
    connection.ensure_connection()
    rss_before = _max_rss_bytes()
    counter = QueryCounter()
    if trace:
        tracemalloc.start()
    with connection.execute_wrapper(counter):
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = work(path, rows, **options)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    outcome |= {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "queries": counter.count,
        "tracemalloc_peak": peak,
        "rss_before": rss_before,
        "max_rss": _max_rss_bytes(),
    }
    print(RESULT + json.dumps(outcome, default=str), flush=True)


# --- the parent: files, cases, table -----------------------------------------------------------


@dataclass
class Outcome:
    label: str
    rows: int
    data: dict | None = None
    failure: str | None = None

    def get(self, key: str):
        return None if self.data is None else self.data.get(key)

    @property
    def rate(self) -> float | None:
        seconds = self.get("seconds")
        return self.rows / seconds if seconds else None


PICK = "best"  # run(pick=...): "best" keeps the fastest of the repeats, "median" the median


def best_of(repeat: int, label: str, case: str, **options) -> Outcome:
    """The run with the shortest wall time of ``repeat`` (a busy machine only ever slows a
    run down), or the median one with ``PICK = "median"``; a failure ends the series."""
    runs: list[Outcome] = []
    for _ in range(repeat):
        outcome = run_child(label, case, **options)
        if outcome.failure:
            return outcome
        runs.append(outcome)
    runs.sort(key=lambda o: o.get("seconds"))
    chosen = runs[len(runs) // 2] if PICK == "median" else runs[0]
    if repeat > 1:
        chosen.label += f" ({'median' if PICK == 'median' else 'best'} of {repeat})"
    return chosen


def run_child(
    label: str,
    case: str,
    *,
    path: Path | None,
    rows: int,
    workdir: Path,
    template: Path,
    trace: bool = False,
    layout: str = "spec",
    currency: str = "USD",
) -> Outcome:
    """Run one case in a child process; ``migrate`` makes ``template``, every other case runs on
    a fresh copy of it."""
    fresh = case != "migrate"
    name = f"{case}-{layout}-{currency}-{rows}{'-traced' if trace else ''}"
    db = workdir / f"{name}.sqlite3" if fresh else template
    if fresh:
        shutil.copyfile(template, db)
    command = [sys.executable, __file__, "--case", case, "--db", str(db), "--rows", str(rows)]
    if path is not None:
        command += ["--file", str(path)]
    if trace:
        command.append("--trace")
    if layout != "spec":
        command += ["--layout", layout, "--currency", currency]
    print(f"  running {label} on {rows:,} rows ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if fresh:
        db.unlink(missing_ok=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT):
            return Outcome(label, rows, data=json.loads(line[len(RESULT) :]))
    tail = [line for line in done.stderr.strip().splitlines() if line.strip()][-1:] or ["?"]
    return Outcome(label, rows, failure=f"failed (exit {done.returncode}): {tail[0][:160]}")


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f} MB"


def _num(value, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def print_table(outcomes: list[Outcome]) -> None:
    header = (
        f"{'case':<52} {'rows':>8} {'seconds':>8} {'CPU s':>7} {'rows/s':>8} {'SQL/row':>8} "
        f"{'tracemalloc':>12} {'max RSS':>9} {'RSS before':>10}"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        if o.failure:
            print(f"{o.label:<52} {o.rows:>8,}  {o.failure}")
            continue
        queries = o.get("queries")
        per_row = None if not queries else queries / o.rows
        print(
            f"{o.label:<52} {o.rows:>8,} {_num(o.get('seconds'), '.2f'):>8} "
            f"{_num(o.get('cpu_seconds'), '.2f'):>7} {_num(o.rate):>8} "
            f"{_num(per_row, '.3f'):>8} {_mb(o.get('tracemalloc_peak')):>12} "
            f"{_mb(o.get('max_rss')):>9} {_mb(o.get('rss_before')):>10}"
        )


def verdict(ok: bool | None) -> str:
    return "PENDING" if ok is None else "PASS" if ok else "MISS"


def importer_available() -> bool:
    try:
        return importlib.util.find_spec(os.environ.get("BENCH_RUNNER", RUNNER)) is not None
    except ImportError:
        return False


def run(
    rows: int = FULL_ROWS,
    *,
    b_rows: int = B_ROWS,
    repeat: int = 1,
    keep: bool = False,
    runner: str | None = None,
    real: str = "both",
    real_repeat: int = 1,
    real_memory: bool = False,
    memory: bool = True,
    pick: str = "best",
) -> dict:
    """Generate the files, run every case, print the table. Never raises for a bad number.
    ``real``: the seller-center layout's cases too (``none``, ``usd`` or ``both``: USD and CNY),
    ``real_repeat`` times each; ``real_memory``: its memory runs too. ``memory=False`` leaves
    out the memory runs; ``pick="median"`` keeps the median of ``repeat`` runs, not the
    fastest. Returns the outcomes: ``A``, ``B``, ``ours`` and ``real`` (by currency)."""
    global PICK
    PICK = pick
    if runner:
        os.environ["BENCH_RUNNER"] = runner  # the children inherit it
    b_rows = min(b_rows, rows)
    sizes = sorted({min(max(rows // 10, MIN_MEMORY_ROWS), rows), max(rows // 2, 1), rows})
    sizes = sizes if memory else []
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        real_options = {"currencies": REAL_CURRENCIES[real], "repeat": real_repeat}
        real_options["memory_sizes"] = [sizes[0], rows] if real_memory else []
        return _run(rows, b_rows, sizes, workdir, repeat, real_options)
    finally:
        if keep:
            print(f"files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(rows: int, b_rows: int, sizes: list[int], workdir: Path, repeat: int, real: dict) -> dict:
    load_before = os.getloadavg()[0]  # before this run adds its own
    files: dict[int, Path] = {}
    started = time.perf_counter()
    for n in sorted({*sizes, b_rows, rows}):
        files[n] = workdir / f"orders-{n}.csv"
        print(f"  generating {files[n].name} ...", flush=True)
        generate.generate("orders", files[n], rows=n, seed=SEED, stores=STORES)
    generated = time.perf_counter() - started
    big = files[rows]
    real_files: dict[tuple[str, int], Path] = {}
    for currency in real["currencies"]:
        for n in sorted({rows, *real["memory_sizes"]} if currency == "USD" else {rows}):
            real_files[currency, n] = workdir / f"seller-center-{currency}-{n}.csv"
            print(f"  generating {real_files[currency, n].name} ...", flush=True)
            generate.generate(
                "orders",
                real_files[currency, n],
                rows=n,
                seed=SEED,
                layout="seller-center",
                currency=currency,
            )

    template = workdir / "template.sqlite3"
    migrated = run_child(
        "migrate", "migrate", path=None, rows=0, workdir=workdir, template=template
    )
    if migrated.failure:
        print(f"Import benchmark: cannot migrate a fresh database: {migrated.failure}")
        return {"A": migrated}

    have_importer = importer_available()
    common = {"workdir": workdir, "template": template}
    timed = {"repeat": repeat, **common}
    parse = best_of(
        label="parse only (open_export, no writes)", case="parse", path=big, rows=rows, **timed
    )
    base_a = best_of(
        label="A: raw bulk_create (same parsing)", case="bulk_create", path=big, rows=rows, **timed
    )
    base_b = best_of(
        label="B: import-export row by row (defaults)",
        case="import_export",
        path=files[b_rows],
        rows=b_rows,
        **timed,
    )
    ours: Outcome | None = None
    traced: list[Outcome] = []
    if have_importer:
        ours = best_of(label="ours: import_export()", case="ours", path=big, rows=rows, **timed)
        for n in sizes if not ours.failure else ():
            traced.append(
                run_child(
                    f"ours, memory run ({n * 100 // rows}% of rows)",
                    "ours",
                    path=files[n],
                    rows=n,
                    trace=True,
                    **common,
                )
            )

    real_outcomes: dict[str, Outcome] = {}
    real_traced: list[Outcome] = []
    real_parse: Outcome | None = None
    if real["currencies"]:
        sc = {"layout": "seller-center", "repeat": real["repeat"], **common}
        real_parse = best_of(
            label="parse only, seller-center USD",
            case="parse",
            path=real_files["USD", rows],
            rows=rows,
            currency="USD",
            **sc,
        )
    for currency in real["currencies"] if have_importer else ():
        rated = " (rates recorded)" if currency == "CNY" else ""
        real_outcomes[currency] = best_of(
            label=f"ours: seller-center {currency}{rated}",
            case="ours",
            path=real_files[currency, rows],
            rows=rows,
            currency=currency,
            **sc,
        )
    if have_importer and "USD" in real_outcomes and not real_outcomes["USD"].failure:
        for n in real["memory_sizes"]:
            real_traced.append(
                run_child(
                    f"ours, seller-center USD memory ({n * 100 // rows}%)",
                    "ours",
                    path=real_files["USD", n],
                    rows=n,
                    trace=True,
                    layout="seller-center",
                    currency="USD",
                    **common,
                )
            )

    size_mb = big.stat().st_size / 2**20
    load_after, cores = os.getloadavg()[0], os.cpu_count() or 1
    print()
    print(
        f"Importing an orders export of {rows:,} rows (mixed states, seed {SEED}, {STORES} stores, "
        f"CSV {size_mb:.1f} MB, generated in {generated:.1f} s); SQLite file, fresh per case"
    )
    print(
        f"machine: {cores} cores, load average {load_before:.1f} before the run, "
        f"{load_after:.1f} at its end (the run itself keeps one core busy)"
        + (
            ": others were busy; wall times are inflated, CPU seconds less so (two vCPUs may"
            " share a core), and the ratios within this run are the steadiest figures"
            if load_before > cores - 1
            else ""
        )
    )
    print_table(
        [
            parse,
            base_a,
            base_b,
            *([ours] if ours else []),
            *traced,
            *([real_parse] if real_parse else []),
            *real_outcomes.values(),
            *real_traced,
        ]
    )
    if real_files:
        shown = ", ".join(
            f"{currency} {real_files[currency, rows].stat().st_size / 2**20:.1f} MB"
            for currency in real["currencies"]
        )
        print(
            f"seller-center layout: one store ({generate.SELLER_CENTER_STORE.platform_id}), "
            f"23 Chinese columns, no store or shipping-time column; CSV {shown}"
        )
    if not have_importer:
        print(f"ours: {NOT_AVAILABLE}: its numbers are pending")
    if base_b.data and base_b.rate and b_rows < rows:
        print(
            f"B ran on the first {b_rows:,} rows; extrapolated to {rows:,} rows: "
            f"{rows / base_b.rate:,.0f} s at {base_b.rate:,.0f} rows/s "
            f"(of which building its Dataset with our parser: {base_b.get('parse_seconds'):.1f} s)"
        )
    for outcome in (base_a, base_b, ours, *traced, *real_outcomes.values(), *real_traced):
        if outcome and outcome.data and outcome.get("errors"):
            print(f"{outcome.label}: {outcome.get('errors')} errors {outcome.get('first_errors')}")
    print()
    print_goals(rows, base_a, base_b, ours, traced)
    if real_outcomes:
        print()
        print_real_goals(rows, base_a, ours, real_outcomes, real_traced)
    return {"A": base_a, "B": base_b, "ours": ours, "real": real_outcomes}


def print_goals(
    rows: int, base_a: Outcome, base_b: Outcome, ours: Outcome | None, traced: list[Outcome]
) -> None:
    measured = ours is not None and ours.data is not None
    lines: list[tuple[str, str, str, bool | None]] = []

    if measured:
        ok = (
            ours.get("created") == rows
            and ours.get("errors") == 0
            and ours.get("landed") is not False
        )
        shown = f"created {ours.get('created')}, errors {ours.get('errors')}"
        shown += f", landed {ours.get('landed')}"
    else:
        ok, shown = None, ours.failure if ours else "pending: no importer yet"
    lines.append(("report of the whole file", shown, f"created {rows}, errors 0", ok))

    if measured and base_a.data:
        ratio = ours.get("seconds") / base_a.get("seconds")
        cpu = ours.get("cpu_seconds") / base_a.get("cpu_seconds")
        lines.append(
            (
                "ours vs A: raw bulk_create (time)",
                f"{ratio:.2f}x slower (CPU {cpu:.2f}x)",
                f"<= {MAX_SLOWER_THAN_A:g}x",
                ratio <= MAX_SLOWER_THAN_A,
            )
        )
    else:
        lines.append(("ours vs A: raw bulk_create (time)", "-", "<= 5x", None))

    if measured and base_b.rate:
        ratio = ours.rate / base_b.rate
        cpu = (base_b.get("cpu_seconds") / base_b.rows) / (ours.get("cpu_seconds") / ours.rows)
        lines.append(
            (
                "ours vs B: import-export (rows/s)",
                f"{ratio:.1f}x faster (CPU {cpu:.1f}x)",
                f">= {MIN_FASTER_THAN_B:g}x",
                ratio >= MIN_FASTER_THAN_B,
            )
        )
    else:
        lines.append(("ours vs B: import-export (rows/s)", "-", ">= 10x", None))

    if measured:
        lines.append(_whole_file(f"whole {FULL_ROWS:,}-row file", ours.get("seconds"), rows))
    else:
        lines.append(
            (f"whole {FULL_ROWS:,}-row file", "-", f"< {MAX_WHOLE_FILE_SECONDS:g} s", None)
        )

    peaks = [t.get("tracemalloc_peak") for t in traced]
    target = f"<= {MAX_MEMORY_GROWTH}x or +{MEMORY_SLACK / 2**20:.0f} MB"
    if len(peaks) >= 2 and all(peaks):
        growth = peaks[-1] / peaks[0]
        per_10k = (peaks[-1] - peaks[0]) / (traced[-1].rows - traced[0].rows) * 10_000
        shown = " / ".join(f"{p / 2**20:.1f}" for p in peaks) + " MB"
        shown += f" ({growth:.2f}x, {per_10k / 2**20:+.2f} MB per 10k rows)"
        lines.append(
            (
                f"memory flat ({traced[0].rows:,} -> {traced[-1].rows:,} rows)",
                shown,
                target,
                growth <= MAX_MEMORY_GROWTH or peaks[-1] - peaks[0] <= MEMORY_SLACK,
            )
        )
    else:
        lines.append(("memory flat (10% -> 100% of rows)", "-", target, None))

    width = max(len(line[1]) for line in lines)
    aim = max(len(line[2]) for line in lines)
    if base_a.data and base_b.rate:
        # what the relative goals can reach at all: no ORM importer writes faster than A
        ceiling = base_a.rate / base_b.rate
        a_whole = base_a.get("seconds") * FULL_ROWS / rows
        print(
            f"for scale: A itself is {ceiling:.1f}x faster than B and takes {a_whole:.1f} s for "
            f"{FULL_ROWS:,} rows; no importer that writes through the ORM beats A"
        )
    print(f"{'goal (informational)':<36} {'measured':<{width}} {'target':<{aim}} verdict")
    for name, shown, target, ok in lines:
        print(f"{name:<36} {shown:<{width}} {target:<{aim}} {verdict(ok)}")


def _whole_file(name: str, seconds: float, rows: int) -> tuple[str, str, str, bool]:
    """The goal line of the whole file, from the seconds ``rows`` rows took."""
    whole = seconds * FULL_ROWS / rows
    note = "" if rows == FULL_ROWS else f" (extrapolated from {rows:,})"
    shown = f"{whole:.1f} s{note}"
    return (name, shown, f"< {MAX_WHOLE_FILE_SECONDS:g} s", whole < MAX_WHOLE_FILE_SECONDS)


def print_real_goals(
    rows: int,
    base_a: Outcome,
    ours: Outcome | None,
    real: dict[str, Outcome],
    traced: list[Outcome],
) -> None:
    """The same goals for ours on the seller-center layout (A and ours as measured above, on
    the SPEC layout's file of as many orders)."""
    lines: list[tuple[str, str, str, bool | None]] = []
    for currency, outcome in real.items():
        name = f"seller-center {currency}"
        if outcome.data is None:
            lines.append((f"{name}: report", outcome.failure or "-", f"created {rows}", None))
            continue
        ok = (
            outcome.get("created") == rows
            and outcome.get("errors") == 0
            and outcome.get("landed") is not False
        )
        shown = f"created {outcome.get('created')}, errors {outcome.get('errors')}"
        lines.append((f"{name}: report", f"{shown}, landed {outcome.get('landed')}", "", ok))
        lines.append(_whole_file(f"{name}: whole {FULL_ROWS:,} rows", outcome.get("seconds"), rows))
        if base_a.data:
            ratio = outcome.get("seconds") / base_a.get("seconds")
            cpu = outcome.get("cpu_seconds") / base_a.get("cpu_seconds")
            lines.append(
                (
                    f"{name} vs A (SPEC file)",
                    f"{ratio:.2f}x slower (CPU {cpu:.2f}x)",
                    f"<= {MAX_SLOWER_THAN_A:g}x",
                    ratio <= MAX_SLOWER_THAN_A,
                )
            )
        if ours is not None and ours.data:
            ratio = outcome.get("seconds") / ours.get("seconds")
            cpu = outcome.get("cpu_seconds") / ours.get("cpu_seconds")
            lines.append(
                (f"{name} vs ours on SPEC", f"{ratio:.2f}x the time (CPU {cpu:.2f}x)", "", None)
            )
    peaks = [t.get("tracemalloc_peak") for t in traced]
    if len(peaks) >= 2 and all(peaks):
        growth = peaks[-1] / peaks[0]
        lines.append(
            (
                f"seller-center memory ({traced[0].rows:,} -> {traced[-1].rows:,})",
                " / ".join(f"{p / 2**20:.1f}" for p in peaks) + f" MB ({growth:.2f}x)",
                f"<= {MAX_MEMORY_GROWTH}x or +{MEMORY_SLACK / 2**20:.0f} MB",
                growth <= MAX_MEMORY_GROWTH or peaks[-1] - peaks[0] <= MEMORY_SLACK,
            )
        )
    width = max(len(line[1]) for line in lines)
    aim = max(len(line[2]) for line in lines)
    title = "seller-center layout (informational)"
    first = max(len(title), *(len(line[0]) for line in lines))
    print(f"{title:<{first}} {'measured':<{width}} {'target':<{aim}} verdict")
    for name, shown, target, ok in lines:
        judged = "-" if ok is None and not target else verdict(ok)
        print(f"{name:<{first}} {shown:<{width}} {target:<{aim}} {judged}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--quick", action="store_true", help=f"{B_ROWS:,} rows")
    parser.add_argument("--b-rows", type=int, default=B_ROWS, help="rows for baseline B")
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed runs per case; the fastest is shown"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--runner", help=f"module whose import_export() is ours (default {RUNNER})")
    parser.add_argument(
        "--real",
        choices=tuple(REAL_CURRENCIES),
        default="both",
        help="the seller-center layout's cases: none, USD, or USD and CNY (default both)",
    )
    parser.add_argument(
        "--real-repeat", type=int, default=1, help="timed runs of each seller-center case"
    )
    parser.add_argument(
        "--real-memory",
        action="store_true",
        help="seller-center USD memory runs too (10%% and 100%% of the rows, tracemalloc on)",
    )
    # a child process: one case
    parser.add_argument("--case", choices=["migrate", *CASES], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--layout", default="spec", help=argparse.SUPPRESS)
    parser.add_argument("--currency", default="USD", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        child(args.case, args.file, args.db, args.rows, args.trace, args.layout, args.currency)
        return
    rows = B_ROWS if args.quick else args.rows
    run(
        rows,
        b_rows=args.b_rows,
        repeat=args.repeat,
        keep=args.keep,
        runner=args.runner,
        real=args.real,
        real_repeat=args.real_repeat,
        real_memory=args.real_memory,
    )


if __name__ == "__main__":
    main()
