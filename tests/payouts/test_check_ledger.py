"""``manage.py check_ledger``, its periodic task and the ``Ledger`` line of /health/: a clean
ledger passes; each kind of corruption, made behind the services' back, is named."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from procrastinate.contrib.django import app as queue_app

from backoffice.deadlines import run_all
from payouts.checks import run_ledger_check
from payouts.ledger import Leg, post
from payouts.models import Account, DailyBalance, IdempotencyRecord, LedgerCheck
from payouts.services import early_payout_set, payout_request
from tests import factories as f

pytestmark = pytest.mark.django_db


def check() -> tuple[int, str]:
    """Run the command: its exit status and what it printed."""
    out = StringIO()
    try:
        call_command("check_ledger", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def books():
    """A store with money in every state: escrow, available, reserve, a payout with a key."""
    store = f.store()
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.10", at=f.T0)
    f.order(store, status="completed", amount="100.00")
    paid = f.order(store, status="paid", amount="40.00")
    shipped = f.order(store, status="shipped", amount="50.00")
    run_all(f.T0 + timedelta(days=10))
    payout = payout_request(
        store_id=store.pk, actor=f.seller(store), amount="20.00", idempotency_key="k1"
    )
    return {"store": store, "paid": paid, "shipped": shipped, "payout": payout}


def test_a_clean_ledger_passes_and_says_so(books):
    status, out = check()

    assert status == 0, out
    assert "The ledger holds." in out
    assert LedgerCheck.objects.get().problems == 0


class Undo(Exception):
    pass


def test_an_unbalanced_posting_is_named(books):
    posting = books["payout"].postings.get()
    # PostgreSQL refuses it at commit (and at the test's end, which checks deferred
    # constraints): the corruption lives in a savepoint rolled back after the check.
    with pytest.raises(Undo), transaction.atomic():
        sql(
            "INSERT INTO payouts_ledgerentry (posting_id, account, currency, amount, at) "
            "VALUES (%s, 'fx', 'USD', 1.25, %s)",
            [posting.pk, f.T0],
        )
        status, out = check()
        raise Undo

    assert status == 1
    assert f"posting {posting.pk} ({posting.reference}): its USD legs sum to 1.25, not 0" in out
    assert "running totals: OK" in out


def test_a_running_total_that_differs_from_its_entries_is_named(books):
    row = DailyBalance.objects.filter(account=Account.AVAILABLE).latest("day")
    sql("UPDATE payouts_dailybalance SET balance = balance + 3 WHERE id = %s", [row.pk])

    status, out = check()

    assert status == 1
    assert (
        f"store {row.store_id} available USD on {row.day}: running total "
        f"{row.balance + 3}, entries sum to {row.balance}"
    ) in out


def test_a_finished_order_holding_escrow_is_named(books):
    paid = books["paid"]
    sql("UPDATE orders_order SET status = 'refunded' WHERE id = %s", [paid.pk])

    status, out = check()

    assert status == 1
    assert f"order {paid.pk} ({paid.order_number}) is refunded but holds 40.00 in escrow" in out


def test_a_negative_reserve_is_named(books):
    store, shipped = books["store"], books["shipped"]
    post(  # a broken posting: more out of the order's reserve than it holds (5.00)
        reference="broken",
        kind="reversal",
        at=f.T0 + timedelta(days=11),
        legs=[
            Leg(Account.RESERVE, Decimal("-7.00"), store.pk, shipped.pk),
            Leg(Account.AVAILABLE, Decimal("7.00"), store.pk, shipped.pk),
        ],
    )

    status, out = check()

    assert status == 1
    assert f"order {shipped.pk}: reserve -2.00 is negative" in out
    assert "running totals: OK" in out


def test_an_idempotency_key_whose_result_is_gone_is_named(books):
    record = IdempotencyRecord.objects.get(key="k1")
    sql("UPDATE payouts_idempotencyrecord SET result_id = 999999 WHERE id = %s", [record.pk])

    status, out = check()

    assert status == 1
    assert (
        f"idempotency record {record.pk} (key 'k1' of payout_request): its result "
        "payouts.Payout 999999 does not exist"
    ) in out


def test_the_periodic_task_records_its_result_and_health_reads_the_last_one(client, books):
    assert "payouts:check_ledger" in queue_app.tasks
    sql(
        "UPDATE payouts_dailybalance SET balance = balance + 3 WHERE id = %s",
        [DailyBalance.objects.first().pk],
    )

    queue_app.tasks["payouts:check_ledger"]()

    assert LedgerCheck.objects.get().problems == 1
    body = client.get("/health/", {"format": "json"}).json()
    assert body["status"] == "unhealthy"
    assert "found 1 offending rows" in body["checks"]["Ledger()"]

    sql(
        "UPDATE payouts_dailybalance SET balance = balance - 3 WHERE id = %s",
        [DailyBalance.objects.first().pk],
    )
    run_ledger_check()

    body = client.get("/health/", {"format": "json"}).json()
    assert body["checks"]["Ledger()"] == "OK"
    assert body["status"] == "healthy"
