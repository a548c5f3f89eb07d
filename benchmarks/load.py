"""A mixed load on a real server: gunicorn with 2 workers on 127.0.0.1, a seller's API token.

    python benchmarks/load.py [--seconds 60] [--clients 4]                   # SQLite
    .ci/with-postgres .venv/bin/python benchmarks/load.py --database env      # PostgreSQL

The database is made for the run (SQLite: a temporary file; ``--database env``: the empty one
``DATABASE_URL`` names, e.g. the throwaway cluster of ``.ci/with-postgres``): migrated, one
store with its seller and API token, orders to read and orders to act on (paid ones with their
payment posted, unpaid ones). gunicorn starts with ``deploy/gunicorn.conf.py`` (2 workers) on
a free port. Then ``--clients`` threads, each with its own keep-alive connection, send requests
until ``--seconds`` have passed: 80 % reads (a page of 20 orders with store, history and
availableTransitions), 20 % writes through GraphQL mutations (ship a paid order, cancel a paid
one, which refunds it through the ledger, or cancel an unpaid one). An error is any answer
that is not a 200 with data: a top-level ``errors``, or a mutation's ``OperationInfo``.
The baseline, measured first by the same clients on the same server, is a request that does
nothing (``/auth/csrf/``): the floor the server and the machine give. After the run the server
stops and ``check_ledger`` proves the books.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import benchlib

READ = """
query Page { orders(first: 20) { edges { node {
  id orderNumber status placedAt amount { amount currency }
  store { id name status }
  history { from to transition by at note }
  availableTransitions { name allowed reason code }
} } } }
"""
SHIP = """mutation($input: OrderShipInput!) { orderShip(input: $input) {
  __typename ... on OperationInfo { messages { code message } } ... on Order { id status } } }"""
CANCEL = """mutation($input: OrderCancelInput!) { orderCancel(input: $input) {
  __typename ... on OperationInfo { messages { code message } } ... on Order { id status } } }"""


# --- the database ------------------------------------------------------------------------------


def make_data(readable: int, paid: int, unpaid: int) -> dict:
    """The store, its seller's token and the orders the writers act on (global ids)."""
    from django.db import transaction
    from strawberry.relay import to_base64

    from accounts.models import User
    from accounts.services import api_token_create, seller_account_create
    from backoffice import clock
    from backoffice.unit_of_work import unit_of_work
    from orders.models import Order
    from payouts import ledger
    from payouts.models import Account

    now = clock.now()
    store = seller_account_create(
        actor=None, platform_store_id="7100001", name="Load", opened_at=now - timedelta(400)
    )
    seller = User.objects.create_user(username="load-seller", password="x", store=store)
    _row, token = api_token_create(actor=seller, name="load")
    at = now - timedelta(days=2)
    kinds = ["completed"] * readable + ["paid"] * paid + ["unpaid"] * unpaid
    Order.objects.bulk_create(
        Order(
            store_id=store.pk,
            order_number=str(9_300_000_000_000_000 + i),
            amount=Decimal("20.00") + i % 30,
            buyer_name=f"Buyer {i}",
            buyer_country="BR",
            placed_at=at - i * timedelta(seconds=10),
            paid_at=None if kind == "unpaid" else at,
            shipped_at=at + timedelta(hours=1) if kind == "completed" else None,
            completed_at=at + timedelta(days=1) if kind == "completed" else None,
            status=kind,
        )
        for i, kind in enumerate(kinds)
    )
    with transaction.atomic(), unit_of_work():
        for order in Order.objects.exclude(status="unpaid").only("pk", "amount", "status"):
            legs = [
                ledger.Leg(Account.BUYER_FUNDS, -order.amount),
                ledger.Leg(Account.ESCROW, order.amount, store.pk, order.pk),
            ]
            ledger.post(reference=f"order:{order.pk}:payment", kind="payment", at=at, legs=legs)
            if order.status == "completed":
                ledger.post(
                    reference=f"order:{order.pk}:release",
                    kind="release",
                    at=at + timedelta(days=1),
                    legs=[
                        ledger.Leg(Account.ESCROW, -order.amount, store.pk, order.pk),
                        ledger.Leg(Account.AVAILABLE, order.amount, store.pk, order.pk),
                    ],
                )

    def ids(status: str) -> list[str]:
        pks = Order.objects.filter(status=status).order_by("pk").values_list("pk", flat=True)
        return [to_base64("Order", pk) for pk in pks]

    return {"token": token, "paid": ids("paid"), "unpaid": ids("unpaid")}


def check_ledger() -> str:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = open(os.devnull, "w")  # noqa: SIM115 (the command's own report is not wanted here)
    try:
        call_command("check_ledger", stdout=out)
    except CommandError as error:
        return f"ledger: {error}"
    finally:
        out.close()
    return "ledger holds"


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "backoffice.wsgi"],
        cwd=benchlib.ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/auth/csrf/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
        if server.poll() is not None:
            break
    stop_server(server)
    raise SystemExit(f"gunicorn did not start; its log: {log.read_text()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers: its own session
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- the clients -------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    reads: int = 0
    writes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None, write: bool) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.writes += write
            self.reads += not write
            if error:
                self.errors += 1
                if len(self.first_errors) < 5:
                    self.first_errors.append(error)


class Writes:
    """The writers' work, each order used once: ship a paid order, cancel a paid one (a refund
    through the ledger), cancel an unpaid one."""

    def __init__(self, paid: list[str], unpaid: list[str]) -> None:
        self.paid, self.unpaid = iter(paid), iter(unpaid)
        self.turn = itertools.cycle(("ship", "refund", "cancel"))
        self.lock = threading.Lock()

    def next(self) -> tuple[str, dict] | None:
        with self.lock:
            kind = next(self.turn)
            order = next(self.unpaid if kind == "cancel" else self.paid, None)
        if order is None:
            return None
        if kind == "ship":
            return SHIP, {"id": order, "carrier": "Cainiao", "trackingNumber": "LP00LOAD"}
        return CANCEL, {"id": order, "reason": "BUYER_CANCEL"}


def graphql_error(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:120]!r}"
    answer = json.loads(body)
    if answer.get("errors"):
        return str(answer["errors"][0].get("message"))[:160]
    for payload in (answer.get("data") or {}).values():
        if isinstance(payload, dict) and payload.get("__typename") == "OperationInfo":
            return str(payload["messages"])[:160]
    return None


def client(port: int, token: str, until: float, tally: Tally, writes: Writes | None, seed: int):
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.monotonic() < until:
        write = writes is not None and rng.random() < 0.2
        task = writes.next() if write else None
        if writes is None:
            method, path, body = "GET", "/auth/csrf/", None
        else:
            query, variables = (READ, {}) if task is None else (task[0], {"input": task[1]})
            method, path = "POST", "/graphql/"
            body = json.dumps({"query": query, "variables": variables})
        start = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            error = graphql_error(response.status, data) if writes else None
            if writes is None and response.status != 200:
                error = f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        tally.add(time.perf_counter() - start, error, task is not None)
    connection.close()


def drive(port: int, token: str, seconds: float, clients: int, writes: Writes | None) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client, args=(port, token, until, tally, writes, seed))
        for seed in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    if len(latencies) < 2:
        return (latencies or [0.0])[0], 0.0, 0.0
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def run(database: str, seconds: float, clients: int, floor_seconds: float) -> list[benchlib.Row]:
    from django.core.management import call_command
    from django.db import connections

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    if database == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
    benchlib.setup_django(os.environ["DATABASE_URL"])
    vendor = connections["default"].vendor
    call_command("migrate", verbosity=0)
    writes_needed = int(seconds * 60)  # generous: 300 req/s x 20 % writes
    data = make_data(readable=200, paid=writes_needed * 2 // 3, unpaid=writes_needed // 3 + 1)
    connections.close_all()
    port = free_port()
    server = start_server(port, workdir / "gunicorn.log")
    try:
        floor = drive(port, data["token"], floor_seconds, clients, None)
        load = drive(port, data["token"], seconds, clients, Writes(data["paid"], data["unpaid"]))
    finally:
        stop_server(server)
    ledger = check_ledger()
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(vendor, vendor)
    p50, p95, p99 = percentiles(load.latencies)
    f50, f95, f99 = percentiles(floor.latencies)
    met = load.errors == 0 and p99 < 300 and ledger == "ledger holds"
    note = f"{load.reads:,} reads, {load.writes:,} writes; {ledger}"
    if load.first_errors:
        note += f"; first errors: {load.first_errors}"
    return [
        benchlib.Row(
            part="load",
            case=(
                f"{name}, gunicorn 2 workers, {clients} clients, {seconds:.0f} s, "
                "80 % reads / 20 % writes"
            ),
            figure=(
                f"{len(load.latencies) / seconds:.1f} req/s, p50/p95/p99 "
                f"{p50:.0f}/{p95:.0f}/{p99:.0f} ms, {load.errors} errors, {ledger}"
            ),
            baseline=(
                f"empty request {len(floor.latencies) / floor_seconds:.0f} req/s, "
                f"p50/p95/p99 {f50:.0f}/{f95:.0f}/{f99:.0f} ms"
            ),
            goal="0 errors, p99 < 300 ms, ledger holds",
            met=met,
            note=note,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "env"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4, help="2 per worker (default 4)")
    parser.add_argument("--floor-seconds", type=float, default=10)
    args = parser.parse_args()
    benchlib.emit(run(args.database, args.seconds, args.clients, args.floor_seconds))


if __name__ == "__main__":
    main()
