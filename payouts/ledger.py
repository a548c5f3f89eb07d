"""Posting to the ledger and reading balances.

:func:`post` is the only writer of ledger rows. A posting's legs must sum to zero per
currency; its reference is unique, so posting the same reference again is a no-op that
returns ``None`` (retries and concurrent runners never post twice).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from backoffice.money import Currency, has_more_than_cents, quantize
from payouts.models import Account, LedgerEntry, Posting

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Leg:
    account: str
    amount: Decimal
    store_id: int | None = None
    order_id: int | None = None
    currency: str = Currency.USD


class UnbalancedPosting(ValueError):
    """A programming error: the legs of a posting do not sum to zero."""


def _check(legs: list[Leg]) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:
        if has_more_than_cents(leg.amount):
            raise UnbalancedPosting(f"{leg} has more than 2 decimals")
        totals[leg.currency] += leg.amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise UnbalancedPosting(f"legs do not sum to zero: {unbalanced} in {legs}")


def post(
    *,
    reference: str,
    kind: str,
    legs: list[Leg],
    at: datetime,
    actor: Any = None,
    memo: str = "",
    **links: Any,
) -> Posting | None:
    """Write one balanced posting. ``links`` are the posting's foreign keys (store, order,
    payout, refund). Returns None when nothing moves or the reference was posted before."""
    legs = [leg for leg in legs if leg.amount != 0]
    if not legs:
        return None
    _check(legs)
    try:
        with transaction.atomic():
            posting = Posting.objects.create(
                reference=reference,
                kind=kind,
                at=at,
                memo=memo[:300],
                actor=actor if getattr(actor, "pk", None) else None,
                **links,
            )
    except IntegrityError:
        if Posting.objects.filter(reference=reference).exists():
            return None
        raise
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            posting=posting,
            account=leg.account,
            store_id=leg.store_id,
            order_id=leg.order_id,
            currency=leg.currency,
            amount=leg.amount,
            at=at,
        )
        for leg in legs
    )
    return posting


def is_posted(reference: str) -> bool:
    return Posting.objects.filter(reference=reference).exists()


def exact(total: Decimal | float | None) -> Decimal:
    """A database SUM of cent amounts, made exact. SQLite keeps decimals as REAL, so its SUM
    carries float residue (``-4.4e-16`` for a zero balance); the error stays far below half a
    cent for any realistic total, so rounding to the cent restores the exact value. PostgreSQL
    sums NUMERIC exactly and is unaffected."""
    return quantize(Decimal(str(total))) if total is not None else ZERO


def balance(**filters: Any) -> Decimal:
    """The sum of the entries matching ``filters`` (e.g. store_id=, account=, order_id=)."""
    return exact(LedgerEntry.objects.filter(**filters).aggregate(s=Sum("amount"))["s"])


def store_balances(store_id: int) -> dict[str, Decimal]:
    """Balance of each store account: escrow, available, reserve, debt in USD; promotion in CNY."""
    rows = (
        LedgerEntry.objects.filter(store_id=store_id)
        .values("account")
        .annotate(total=Sum("amount"))
    )
    balances = {
        account: ZERO
        for account in (
            Account.ESCROW,
            Account.AVAILABLE,
            Account.RESERVE,
            Account.PROMOTION,
            Account.DEBT,
        )
    }
    for row in rows:
        balances[row["account"]] = exact(row["total"])
    return balances


def reserve_by_order(store_id: int) -> dict[int, Decimal]:
    """What is left of each order's reserve hold, for orders with something left."""
    rows = (
        LedgerEntry.objects.filter(store_id=store_id, account=Account.RESERVE)
        .values("order_id")
        .annotate(total=Sum("amount"))
        .order_by("order_id")
    )
    totals = {row["order_id"]: exact(row["total"]) for row in rows}
    return {order_id: total for order_id, total in totals.items() if total > 0}
