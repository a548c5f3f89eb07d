"""Proving the books: the checks of ``manage.py check_ledger`` and of its periodic task.

Each check returns the offending rows as lines of text (empty: nothing wrong):

- every posting balances: its legs sum to zero per currency;
- every running total (:class:`~payouts.models.DailyBalance`) equals the sum of its entries up to
  the end of its day, and every day with entries has its row;
- no order that is unpaid or finished (completed, cancelled, refunded) holds escrow;
- no reserve is negative, per order or per store;
- each idempotency key has one result, and that result exists.

:func:`run_ledger_check` runs them all and records the result (:class:`LedgerCheck`), which the
``Ledger`` line of ``/health/`` reads.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from backoffice import clock
from backoffice.jobs import periodic
from orders.models import Order
from payouts.ledger import ZERO, to_cents
from payouts.models import (
    Account,
    DailyBalance,
    IdempotencyRecord,
    LedgerCheck,
    LedgerEntry,
    Payout,
    PromotionMovement,
)

HALF_CENT = Decimal("0.005")  # SQLite sums decimals as floats (payouts.ledger.to_cents)
FINISHED = (
    Order.Status.UNPAID,
    Order.Status.COMPLETED,
    Order.Status.CANCELLED,
    Order.Status.REFUNDED,
)
RESULT_MODELS = {
    "payout_request": Payout,
    "payout_mark_paid": Payout,
    "payout_mark_failed": Payout,
    "promotion_top_up": PromotionMovement,
    "promotion_charge": PromotionMovement,
    "promotion_adjust": PromotionMovement,
}


def _not_zero(field: str) -> Q:
    return Q(**{f"{field}__gt": HALF_CENT}) | Q(**{f"{field}__lt": -HALF_CENT})


def unbalanced_postings() -> list[str]:
    rows = (
        LedgerEntry.objects.values_list("posting_id", "posting__reference", "currency")
        .annotate(total=Sum("amount"))
        .filter(_not_zero("total"))
        .order_by("posting_id", "currency")
    )
    return [
        _("posting %(id)s (%(ref)s): its %(currency)s legs sum to %(total)s, not 0")
        % {"id": pk, "ref": ref, "currency": currency, "total": to_cents(total)}
        for pk, ref, currency, total in rows
    ]


def wrong_running_totals() -> list[str]:
    """Every running total against the entries, day by day (one pass over the daily sums)."""
    Key = tuple[int, str, str]
    sums: dict[Key, dict[date, Decimal]] = defaultdict(dict)
    days = (
        LedgerEntry.objects.filter(store__isnull=False)
        .annotate(day=TruncDate("at", tzinfo=UTC))
        .values_list("store_id", "account", "currency", "day")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for store_id, account, currency, day, total in days.iterator():
        sums[(store_id, account, currency)][day] = to_cents(total)
    rows: dict[Key, dict[date, Decimal]] = defaultdict(dict)
    for store_id, account, currency, day, balance in DailyBalance.objects.values_list(
        "store_id", "account", "currency", "day", "balance"
    ).iterator():
        rows[(store_id, account, currency)][day] = to_cents(balance)
    problems = []
    for key in sorted(set(sums) | set(rows)):
        problems += _compare(key, sums.get(key, {}), rows.get(key, {}))
    return problems


def _compare(
    key: tuple[int, str, str], sums: dict[date, Decimal], rows: dict[date, Decimal]
) -> list[str]:
    store_id, account, currency = key
    problems, running = [], ZERO
    for day in sorted(set(sums) | set(rows)):
        running += sums.get(day, ZERO)
        recorded = rows.get(day)
        if recorded is None:
            problems.append(
                _("store %(store)s %(account)s %(currency)s on %(day)s: no running total")
                % {"store": store_id, "account": account, "currency": currency, "day": day}
            )
        elif recorded != running:
            problems.append(
                _(
                    "store %(store)s %(account)s %(currency)s on %(day)s: running total "
                    "%(recorded)s, entries sum to %(sum)s"
                )
                % {
                    "store": store_id,
                    "account": account,
                    "currency": currency,
                    "day": day,
                    "recorded": recorded,
                    "sum": running,
                }
            )
    return problems


def finished_orders_holding_escrow() -> list[str]:
    rows = (
        LedgerEntry.objects.filter(account=Account.ESCROW, order__status__in=FINISHED)
        .values_list("order_id", "order__order_number", "order__status")
        .annotate(total=Sum("amount"))
        .filter(_not_zero("total"))
        .order_by("order_id")
    )
    return [
        _("order %(id)s (%(number)s) is %(status)s but holds %(total)s in escrow")
        % {"id": pk, "number": number, "status": status, "total": to_cents(total)}
        for pk, number, status, total in rows
    ]


def negative_reserves() -> list[str]:
    problems = []
    for field, label in (("order_id", _("order")), ("store_id", _("store"))):
        rows = (
            LedgerEntry.objects.filter(account=Account.RESERVE)
            .values_list(field)
            .annotate(total=Sum("amount"))
            .filter(total__lt=-HALF_CENT)
            .order_by(field)
        )
        problems += [
            _("%(what)s %(id)s: reserve %(total)s is negative")
            % {"what": label, "id": pk, "total": to_cents(total)}
            for pk, total in rows
        ]
    return problems


def idempotency_keys_without_one_result() -> list[str]:
    problems = []
    repeated = (
        IdempotencyRecord.objects.values_list("user_id", "operation", "key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("operation", "key")
    )
    for user_id, operation, key, n in repeated:
        problems.append(
            _("idempotency key %(key)r of %(operation)s (user %(user)s) has %(n)s results")
            % {"key": key, "operation": operation, "user": user_id, "n": n}
        )
    for operation, model in RESULT_MODELS.items():
        records = IdempotencyRecord.objects.filter(operation=operation)
        missing = records.exclude(result_id__in=model.objects.values("pk")).order_by("pk")
        for pk, key, result_id in missing.values_list("pk", "key", "result_id"):
            problems.append(
                _(
                    "idempotency record %(id)s (key %(key)r of %(operation)s): its result "
                    "%(model)s %(result)s does not exist"
                )
                % {
                    "id": pk,
                    "key": key,
                    "operation": operation,
                    "model": model._meta.label,
                    "result": result_id,
                }
            )
    return problems


CHECKS: dict[str, Callable[[], list[str]]] = {
    "balanced postings": unbalanced_postings,
    "running totals": wrong_running_totals,
    "escrow of finished orders": finished_orders_holding_escrow,
    "reserves": negative_reserves,
    "idempotency keys": idempotency_keys_without_one_result,
}


def check_ledger() -> dict[str, list[str]]:
    """Every check by name, with its offending rows."""
    return {name: check() for name, check in CHECKS.items()}


@periodic("payouts:check_ledger", cron=lambda: settings.LEDGER_CHECK_CRON)
def run_ledger_check() -> LedgerCheck:
    """Run every check and record the result (the periodic task)."""
    return record(check_ledger())


def record(found: dict[str, list[str]]) -> LedgerCheck:
    """Keep what a run found; the health check reads the latest."""
    problems = [f"{name}: {line}" for name, lines in found.items() for line in lines]
    return LedgerCheck.objects.create(
        finished_at=clock.now(), problems=len(problems), report="\n".join(problems[:1000])
    )
