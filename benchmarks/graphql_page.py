"""A GraphQL page of orders against a hand-written view of the same JSON, in one process.

    python benchmarks/graphql_page.py [--sizes 10 100] [--repeat 3] [--profile 100]

A store whose seller (signed in with an API token) asks for a page of its orders with the
store, the store's balances, each order's history and its availableTransitions, through
``/graphql/`` with Django's test client. The baseline is a plain Django view behind the same
middleware: ``.values()`` for the orders, one prefetch of their history, one query for the
stores and their balances, the transitions from a hand-written table, ``json.dumps``. Both
answers are parsed and must be equal before anything is timed. Each figure is the median of
``--repeat`` measurements, GraphQL and baseline interleaved; the SQL statements of one request
of each are counted. ``--profile N`` prints the top of cProfile's profile of the N-order page.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import benchlib

QUERY = """
query Page($first: Int!) {
  orders(first: $first) {
    edges { node {
      id orderNumber status placedAt
      amount { amount currency }
      store {
        id name status
        balances {
          escrow { amount currency } available { amount currency }
          reserve { amount currency } promotion { amount currency } debt { amount currency }
        }
      }
      history { from to transition by at note }
      availableTransitions { name allowed reason code }
    } }
  }
}
"""
STATES = ["unpaid", "paid", "shipped", "completed", "cancelled", "refunded", "disputed"]
BASELINE_URL = "bench/orders/"

# The hand-written view's table: where each transition may start, which a seller may run.
SOURCES = {
    "pay": {"unpaid"},
    "ship": {"paid"},
    "confirm": {"shipped"},
    "cancel": {"unpaid", "paid"},
    "open_dispute": {"paid", "shipped", "completed"},
    "resolve_dispute": {"disputed"},
}
SELLER_MAY = {"ship", "cancel"}


# --- the hand-written view ---------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount.quantize(Decimal("0.01"))), "currency": currency}


def _transitions(order: dict, store_status: str, now) -> list[dict[str, Any]]:
    from django.conf import settings

    from orders.models import Order

    out = []
    for name, sources in sorted(SOURCES.items()):  # the order availableTransitions gives
        status = order["status"]
        reason = code = None
        if status not in sources:
            label = Order.Status(status).label
            reason, code = f"Not possible while the order is {label}.", "invalid_transition"
        elif name == "pay" and store_status == "closed":
            reason = "The store is closed: it takes no buyer money, so this order cannot be paid."
            code = "invalid_transition"
        elif name == "open_dispute" and status == "completed":
            closes = order["completed_at"] + timedelta(days=settings.DISPUTE_WINDOW_DAYS)
            if now > closes:
                reason = f"The dispute window closed {closes:%Y-%m-%d %H:%M} UTC."
                code = "deadline_passed"
        if code is None and name not in SELLER_MAY:
            reason, code = "You do not have permission to do this.", "permission_denied"
        out.append({"name": name, "allowed": code is None, "reason": reason, "code": code})
    return out


def handwritten_view(request):
    """The same JSON as QUERY for a seller: three queries, no framework between."""
    from django.http import HttpResponse
    from strawberry.relay import to_base64

    from accounts.models import SellerAccount
    from backoffice import clock
    from orders.models import Order, OrderTransition
    from payouts.models import STORE_ACCOUNTS
    from payouts.selectors import balance_annotations, balance_attr

    first = int(request.GET["first"])
    store_id = request.user.store_id
    orders = list(
        Order.objects.filter(store_id=store_id)
        .order_by("-placed_at", "-id")
        .values("id", "order_number", "status", "placed_at", "amount", "completed_at", "store_id")[
            :first
        ]
    )
    history: dict[int, list[dict]] = {o["id"]: [] for o in orders}
    for row in (
        OrderTransition.objects.filter(order_id__in=history)
        .order_by("at", "id")
        .values("order_id", "source", "target", "transition", "actor__username", "at", "note")
    ):
        history[row["order_id"]].append(
            {
                "from": row["source"].upper(),
                "to": row["target"].upper(),
                "transition": row["transition"],
                "by": row["actor__username"],
                "at": row["at"].isoformat(),
                "note": row["note"],
            }
        )
    stores = {}
    for s in (
        SellerAccount.objects.filter(pk__in={o["store_id"] for o in orders})
        .annotate(**balance_annotations())
        .values("id", "name", "status", *(balance_attr(a) for a in STORE_ACCOUNTS))
    ):
        balances = {
            a: _money(s[balance_attr(a)], "CNY" if a == "promotion" else "USD")
            for a in ("escrow", "available", "reserve", "promotion", "debt")
        }
        stores[s["id"]] = {
            "id": to_base64("SellerAccount", s["id"]),
            "name": s["name"],
            "status": s["status"].upper(),
            "balances": balances,
            "_status": s["status"],
        }
    now = clock.now()
    edges = []
    for o in orders:
        store = stores[o["store_id"]]
        node = {
            "id": to_base64("Order", o["id"]),
            "orderNumber": o["order_number"],
            "status": o["status"].upper(),
            "placedAt": o["placed_at"].isoformat(),
            "amount": _money(o["amount"], "USD"),
            "store": {k: v for k, v in store.items() if k != "_status"},
            "history": history[o["id"]],
            "availableTransitions": _transitions(o, store["_status"], now),
        }
        edges.append({"node": node})
    body = json.dumps({"data": {"orders": {"edges": edges}}})
    return HttpResponse(body, content_type="application/json")


# The benchmark's URLconf: the project's, plus the hand-written view.
def _urlpatterns() -> list:
    from django.urls import path

    from backoffice.composition.urls import urlpatterns

    return [*urlpatterns, path(BASELINE_URL, handwritten_view)]


# --- the data ----------------------------------------------------------------------------------


def make_data(n: int) -> tuple[Any, str]:
    """A store with ``n`` orders walked through the services to every state (with history and
    ledger postings), and its seller's API token."""
    from accounts.services import api_token_create
    from tests import factories as f

    store = f.store(name="Bench Store")
    other = f.store(name="Other Store")  # not on the page: the scoping must filter it out
    for i in range(n):
        f.order(store, status=STATES[i % len(STATES)], amount=f"{10 + i % 90}.50")
        if i % 10 == 0:
            f.order(other, status="paid")
    seller = f.seller(store, username="bench-seller")
    _token, plaintext = api_token_create(actor=seller, name="bench")
    return store, plaintext


# --- measuring ---------------------------------------------------------------------------------


class Page:
    def __init__(self, token: str) -> None:
        from django.test import Client

        self.client = Client()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def graphql(self, n: int) -> bytes:
        body = json.dumps({"query": QUERY, "variables": {"first": n}})
        response = self.client.post("/graphql/", body, content_type="application/json", **self.auth)
        assert response.status_code == 200, response.content[:300]
        return response.content

    def baseline(self, n: int) -> bytes:
        response = self.client.get(f"/{BASELINE_URL}", {"first": n}, **self.auth)
        assert response.status_code == 200, response.content[:300]
        return response.content


def _counted(call) -> int:
    with benchlib.counting() as count:
        call()
    return count[0]


def measure(page: Page, n: int, repeat: int) -> dict[str, Any]:
    ours, theirs = json.loads(page.graphql(n)), json.loads(page.baseline(n))
    assert "errors" not in ours, ours["errors"]
    assert len(ours["data"]["orders"]["edges"]) == n, "not enough orders for the page"
    if ours != theirs:
        difference = _first_difference(ours, theirs)
        raise SystemExit(f"the two answers differ for {n} orders:\n{difference}")
    loops = max(1, 300 // n)  # each measurement is several requests (short ones are noisy)
    times: dict[str, list[tuple[float, float]]] = {"graphql": [], "baseline": []}
    for _ in range(repeat):
        for name, call in (("graphql", page.graphql), ("baseline", page.baseline)):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(loops):
                call(n)
            times[name].append(
                ((time.perf_counter() - wall) / loops, (time.process_time() - cpu) / loops)
            )
    result = {}
    for name, pairs in times.items():
        result[f"{name}_ms"] = 1000 * statistics.median(wall for wall, _ in pairs)
        result[f"{name}_cpu_ms"] = 1000 * statistics.median(cpu for _, cpu in pairs)
    return {
        **result,
        "graphql_queries": _counted(lambda: page.graphql(n)),
        "baseline_queries": _counted(lambda: page.baseline(n)),
        "bytes": len(page.graphql(n)),
    }


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: graphql {a!r} != hand-written {b!r}"


def profile(page: Page, n: int, top: int = 30) -> str:
    page.graphql(n)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        page.graphql(n)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def run(sizes: list[int], repeat: int, profile_size: int | None) -> list[benchlib.Row]:
    from django.core.management import call_command
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    _store, token = make_data(max(sizes))
    page = Page(token)
    gc.collect()
    gc.freeze()  # what exists now stays: a server's collector walks only its requests' objects
    rows = []
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
        if profile_size:
            print(profile(page, profile_size))
        for n in sizes:
            m = measure(page, n, repeat)
            ratio = m["graphql_cpu_ms"] / m["baseline_cpu_ms"]
            goal = "<= 3x" if n == max(sizes) else ""
            rows.append(
                benchlib.Row(
                    part="GraphQL page",
                    case=f"{n} orders + store, balances, history, availableTransitions (seller)",
                    figure=(
                        f"{m['graphql_cpu_ms']:.1f} ms CPU ({m['graphql_ms']:.1f} wall), "
                        f"{m['graphql_queries']} queries"
                    ),
                    baseline=(
                        f"hand-written .values() view {m['baseline_cpu_ms']:.1f} ms CPU "
                        f"({m['baseline_ms']:.1f} wall), {m['baseline_queries']} queries"
                    ),
                    ratio=ratio,
                    goal=goal,
                    met=ratio <= 3 if goal else None,
                    note=(
                        f"median of {repeat} (each the mean of {max(1, 300 // n)} requests; "
                        f"ratio of CPU times), {m['bytes']:,} B JSON"
                    ),
                )
            )
    counts = [r.figure.rsplit(", ", 1)[1] for r in rows]
    rows.append(
        benchlib.Row(
            part="GraphQL page",
            case=f"queries for {' and '.join(map(str, sizes))} orders",
            figure=" / ".join(counts),
            baseline="-",
            goal="constant in page size",
            met=len(set(counts)) == 1,
        )
    )
    return rows


urlpatterns: list = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=int, metavar="N", help="print cProfile's top for N")
    args = parser.parse_args()
    benchlib.setup_django("sqlite://:memory:")
    urlpatterns.extend(_urlpatterns())
    benchlib.emit(run(args.sizes, args.repeat, args.profile))


if __name__ == "__main__":
    main()
