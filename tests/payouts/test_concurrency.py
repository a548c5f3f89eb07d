"""20 threads race refunds, payouts and releases on the same stores (PostgreSQL row locks)."""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from backoffice.deadlines import run_all
from backoffice.errors import error_code
from payouts.ledger import balance, store_balances
from payouts.models import LedgerEntry, Payout, Posting, Refund
from payouts.services import early_payout_set, payout_request, refund
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(jobs: list) -> list[str]:
    """Run each job in its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def run(i: int, job) -> None:
        try:
            barrier.wait()
            job()
            outcomes[i] = "ok"
        except ValidationError as exc:
            outcomes[i] = error_code(exc) or "invalid"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_racing_refunds_payouts_and_releases_have_one_winner_each():
    # given: store A with 100 available; store C with a completed order of 100;
    # store B eligible for early payout with 4 shipped orders past the delay
    a = f.store()
    f.order(a, status="completed", amount="100.00")
    c = f.store()
    completed = f.order(c, status="completed", amount="100.00")
    b = f.store()
    early_payout_set(store_id=b.pk, actor=None, eligible=True, reserve_rate="0.10", at=f.T0)
    shipped = [f.order(b, status="shipped", amount="50.00") for _ in range(4)]
    now = max(o.shipped_at for o in shipped) + timedelta(days=3)

    # when 8 payouts of 60 (only one fits), 6 full refunds of one order with different
    # references (only one fits) and 6 deadline runners race
    jobs = (
        [lambda: payout_request(store_id=a.pk, actor=None, amount="60.00")] * 8
        + [
            lambda i=i: refund(completed, amount=Decimal("100.00"), at=now, reference=f"race-{i}")
            for i in range(6)
        ]
        + [lambda: run_all(now)] * 6
    )
    outcomes = _race(jobs)

    # then exactly one payout and one refund won, the others were refused cleanly
    assert Counter(outcomes[:8]) == {"ok": 1, "insufficient_funds": 7}
    assert Counter(outcomes[8:14]) == {"ok": 1, "invalid": 5}
    assert outcomes[14:] == ["ok"] * 6
    assert Payout.objects.count() == 1 and Refund.objects.count() == 1
    # each shipped order was released early exactly once
    assert Posting.objects.filter(kind="early_release").count() == 4
    # and the ledger still balances, with no store account overdrawn
    assert balance(currency="USD") == 0
    assert store_balances(a.pk)["available"] == Decimal("40.00")
    assert store_balances(c.pk) == store_balances(f.store().pk)  # all zero: refunded in full
    assert store_balances(b.pk)["available"] == Decimal("180.00")
    assert store_balances(b.pk)["reserve"] == Decimal("20.00")
    unbalanced = LedgerEntry.objects.values("posting_id").annotate(n=Sum("amount")).exclude(n=0)
    assert not unbalanced.exists()
