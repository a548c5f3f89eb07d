"""What every benchmark shares: Django on a private database, timing (median of N), SQL
statement counts, one row of ``make bench``'s table, the machine's description.

A benchmark script run by ``run.py`` prints its rows as one ``BENCH-ROWS <json>`` line; run
alone it prints them as a table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS_MARK = "BENCH-ROWS "
SECRET = "benchmarks-only-insecure-key-not-for-any-server-0123456789"


def setup_django(database_url: str) -> None:
    """Django on ``database_url`` (set before ``django.setup()``), with a throwaway key."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", SECRET)
    # Plain HTTP on 127.0.0.1 or the test client: no redirect to HTTPS, no collected static.
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_SERVE_STATIC", "0")
    import django

    django.setup()


@dataclass
class Row:
    """One line of the table: a figure beside its baseline of the same run."""

    part: str
    case: str
    figure: str
    baseline: str
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    data: dict | None = None  # raw numbers, for a parent that combines rows

    @property
    def verdict(self) -> str:
        return "" if self.met is None else "PASS" if self.met else "MISS"


def median_seconds(work: Callable[[], Any], repeat: int = 3) -> float:
    """The median wall time of ``repeat`` runs (the machine is shared: one run may be slowed)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def counting() -> Iterator[list[int]]:
    """Counts every SQL statement run on the default connection inside the block."""
    from django.db import connection

    count = [0]

    def counted(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        yield count


def machine(load_before: float | None = None) -> str:
    """Cores, load average before the run, Python, Django and database versions."""
    import django

    load = os.getloadavg()[0] if load_before is None else load_before
    versions = [f"Python {platform.python_version()}", f"Django {django.get_version()}"]
    versions.append(f"SQLite {__import__('sqlite3').sqlite_version}")
    pg = postgres_version()
    if pg:
        versions.append(pg)
    return f"{os.cpu_count()} cores, load average {load:.2f} before the run; " + ", ".join(versions)


def postgres_version() -> str:
    import glob
    import subprocess

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        return ""
    out = subprocess.run([found[-1], "--version"], capture_output=True, text=True).stdout
    return out.strip().replace("postgres (PostgreSQL)", "PostgreSQL")


def emit(rows: list[Row]) -> None:
    """Rows for ``run.py`` (one marked line) or, run alone, as a table."""
    if os.environ.get("BENCH_CHILD"):
        print(ROWS_MARK + json.dumps([asdict(row) for row in rows]), flush=True)
    else:
        print_table(rows)


def read_rows(stdout: str) -> list[Row]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(ROWS_MARK):
            return [Row(**row) for row in json.loads(line[len(ROWS_MARK) :])]
    return []


def print_table(rows: list[Row], *, title: str | None = None) -> None:
    header = ("part", "case", "figure", "baseline (same run)", "ratio", "goal", "verdict")
    lines = [
        (
            r.part,
            r.case,
            r.figure,
            r.baseline,
            "" if r.ratio is None else f"{r.ratio:.2f}x",
            r.goal,
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    if title:
        print(title)
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    notes = [f"- {r.part}, {r.case}: {r.note}" for r in rows if r.note]
    if notes:
        print()
        print("\n".join(notes))


def markdown_table(rows: list[Row]) -> str:
    out = ["| part | case | figure | baseline (same run) | ratio | goal | verdict |"]
    out.append("| --- | --- | --- | --- | ---: | --- | --- |")
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        out.append(
            f"| {r.part} | {r.case} | {r.figure} | {r.baseline} | {ratio} | {r.goal} | "
            f"{r.verdict} |"
        )
    return "\n".join(out)
