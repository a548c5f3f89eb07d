"""Posting to the ledger and reading balances.

:func:`post` is the only writer of ledger rows. A posting's legs must sum to zero per
currency; its reference is unique, so posting the same reference again is a no-op that
returns ``None`` (retries and concurrent runners never post twice). Each posting writes its
``ledger.posted`` event (backoffice/events.py) with it, batched like the posting.

Inside :func:`batched` (imports of thousands of rows) the same services post and read without a
query each: :func:`post` collects postings and entries that :meth:`LedgerBatch.flush` inserts in
bulk, and :func:`balance` answers from balances read once per batch (:meth:`LedgerBatch.load`)
plus what the batch posted since. The rules (references, balanced legs, what a balance is) are
the same code paths in both modes.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Sum

from backoffice import db, events
from backoffice.money import Currency, has_more_than_cents, quantize
from payouts.models import Account, LedgerEntry, Posting, Refund

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
    if (batch := _batch.get()) is not None:
        return batch.post(
            reference=reference, kind=kind, legs=legs, at=at, actor=actor, memo=memo, links=links
        )
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
    _posted(posting, [_leg_payload(vars_of(leg)) for leg in legs])
    return posting


def vars_of(leg: Leg) -> dict[str, Any]:
    return {name: getattr(leg, name) for name in Leg.__slots__}


def _leg_payload(leg: dict[str, Any]) -> dict[str, Any]:
    return {name: leg[name] for name in ("account", "amount", "currency", "store_id", "order_id")}


def _posted(posting: Posting, legs: list[dict[str, Any]]) -> None:
    """The ``ledger.posted`` event of a posting (backoffice/events.py)."""
    store_id = posting.store_id or next((leg["store_id"] for leg in legs if leg["store_id"]), None)
    events.record(
        events.LEDGER_POSTED,
        object_type="posting",
        object_id=posting.pk,
        store_id=store_id,
        payload={
            "object": "posting",
            "id": posting.pk,
            "reference": posting.reference,
            "kind": posting.kind,
            "at": posting.at,
            "store_id": store_id,
            "order_id": posting.order_id,
            "payout_id": posting.payout_id,
            "legs": legs,
        },
        at=posting.at,
    )


def is_posted(reference: str) -> bool:
    _settle()
    return Posting.objects.filter(reference=reference).exists()


def exact(total: Decimal | float | None) -> Decimal:
    """A database SUM of cent amounts, made exact. SQLite keeps decimals as REAL, so its SUM
    carries float residue (``-4.4e-16`` for a zero balance); the error stays far below half a
    cent for any realistic total, so rounding to the cent restores the exact value. PostgreSQL
    sums NUMERIC exactly and is unaffected."""
    return quantize(Decimal(str(total))) if total is not None else ZERO


def balance(**filters: Any) -> Decimal:
    """The sum of the entries matching ``filters`` (e.g. store_id=, account=, order_id=)."""
    if (batch := _batch.get()) is not None:
        known = batch.balance(filters)
        if known is not None:
            return known
        batch.flush()
    return exact(LedgerEntry.objects.filter(**filters).aggregate(s=Sum("amount"))["s"])


def store_balances(store_id: int) -> dict[str, Decimal]:
    """Balance of each store account: escrow, available, reserve, debt in USD; promotion in CNY."""
    _settle()
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
    _settle()
    rows = (
        LedgerEntry.objects.filter(store_id=store_id, account=Account.RESERVE)
        .values("order_id")
        .annotate(total=Sum("amount"))
        .order_by("order_id")
    )
    totals = {row["order_id"]: exact(row["total"]) for row in rows}
    return {order_id: total for order_id, total in totals.items() if total > 0}


# --- batch mode ---------------------------------------------------------------------------------

Scope = tuple[str, int]  # ("store_id", id) or ("order_id", id)
BALANCE_FILTERS = frozenset({"store_id", "order_id", "account", "currency"})


class LedgerBatch:
    """Postings made inside :func:`batched` and not yet inserted, and the balances the services
    read meanwhile: per store or order, what the database held when it was loaded plus what the
    batch posted since. Also, for the loaded orders, what was refunded (refunds are written
    at once, so the database holds them too: this only saves the query), and the net change of
    each store account over the whole batch (:attr:`moved`), for reports of what an import moves
    (or would move, in a dry run)."""

    def __init__(self) -> None:
        self.postings: list[Posting] = []
        self.entries: list[dict[str, Any]] = []  # LedgerEntry fields (no instance needed)
        # References posted in this batch or known to exist; for the orders in ``covered``
        # every existing reference is in it, so their postings need no query to be checked.
        self.references: set[str] = set()
        self.covered: set[int] = set()
        self.totals: dict[Scope, dict[tuple[str, str], Decimal]] = {}
        self.refunds: dict[int, tuple[Decimal, set[str]]] = {}  # order -> (total, references)
        self.moved: dict[tuple[int, str, str], Decimal] = defaultdict(Decimal)

    def load(self, *, store_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> None:
        """Read the balances of these stores and orders (one query each for all of them), and
        the references already posted for the orders."""
        stores = {i for i in store_ids if ("store_id", i) not in self.totals}
        orders = {i for i in order_ids if ("order_id", i) not in self.totals}
        if not (stores or orders):
            return
        self.flush()  # the database must hold what was posted to them before they were loaded
        for field, ids in (("store_id", stores), ("order_id", orders)):
            if not ids:
                continue
            for pk in ids:
                self.totals[(field, pk)] = {}
            rows = (
                LedgerEntry.objects.filter(**{f"{field}__in": ids})
                .values_list(field, "account", "currency")
                .annotate(total=Sum("amount"))
                .order_by()
            )
            for pk, account, currency, total in rows:
                self.totals[(field, pk)][(account, currency)] = exact(total)
        if orders:
            self.references.update(
                Posting.objects.filter(order_id__in=orders).values_list("reference", flat=True)
            )
            self.covered |= orders
            self.refunds.update((pk, (ZERO, set())) for pk in orders)
            refunds = Refund.objects.filter(order_id__in=orders).values_list(
                "order_id", "amount", "reference"
            )
            for pk, amount, reference in refunds:
                total, references = self.refunds[pk]
                self.refunds[pk] = (total + amount, references | {reference})

    def load_new(self, *, store_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> None:
        """Stores and orders created in this batch: nothing is posted to them yet."""
        for pk in store_ids:
            self.totals.setdefault(("store_id", pk), {})
        for pk in order_ids:
            self.totals.setdefault(("order_id", pk), {})
            self.covered.add(pk)
            self.refunds.setdefault(pk, (ZERO, set()))

    def refunded(self, order_id: int) -> Decimal | None:
        """What was refunded on a loaded order; ``None`` for another order (ask the database)."""
        known = self.refunds.get(order_id)
        return None if known is None else known[0]

    def refund_is_new(self, order_id: int, reference: str) -> bool:
        """Whether the batch knows that no refund of ``order_id`` has this reference yet."""
        known = self.refunds.get(order_id)
        return known is not None and reference not in known[1]

    def refund_made(self, order_id: int, reference: str, amount: Decimal) -> None:
        if (known := self.refunds.get(order_id)) is not None:
            self.refunds[order_id] = (known[0] + amount, known[1] | {reference})

    def balance(self, filters: dict[str, Any]) -> Decimal | None:
        """The balance for the filters the services use (a store's or an order's account,
        optionally in one currency); ``None`` for any other filter."""
        scopes = [field for field in ("store_id", "order_id") if field in filters]
        if len(scopes) != 1 or "account" not in filters or not set(filters) <= BALANCE_FILTERS:
            return None
        scope = (scopes[0], filters[scopes[0]])
        if scope not in self.totals:
            self.load(**{f"{scope[0]}s": [scope[1]]})
        account, currency = filters["account"], filters.get("currency")
        return sum(
            (
                total
                for (entry_account, entry_currency), total in self.totals[scope].items()
                if entry_account == account and currency in (None, entry_currency)
            ),
            ZERO,
        )

    def post(
        self,
        *,
        reference: str,
        kind: str,
        legs: list[Leg],
        at: datetime,
        actor: Any,
        memo: str,
        links: dict[str, Any],
    ) -> Posting | None:
        if reference in self.references:
            return None
        # Links by id: assigning related objects costs more than the rest of the posting.
        ids = {
            (f"{name}_id" if isinstance(value, models.Model) else name): (
                value.pk if isinstance(value, models.Model) else value
            )
            for name, value in links.items()
        }
        if ids.get("order_id") not in self.covered and (
            Posting.objects.filter(reference=reference).exists()
        ):
            self.references.add(reference)
            return None
        posting = db.build(
            Posting,
            reference=reference,
            kind=kind,
            at=at,
            memo=memo[:300],
            actor_id=actor.pk if getattr(actor, "pk", None) else None,
            **ids,
        )
        self.references.add(reference)
        self.postings.append(posting)
        for leg in legs:
            self.entries.append(
                {
                    "posting": posting,
                    "account": leg.account,
                    "store_id": leg.store_id,
                    "order_id": leg.order_id,
                    "currency": leg.currency,
                    "amount": leg.amount,
                    "at": at,
                }
            )
            for scope in (("store_id", leg.store_id), ("order_id", leg.order_id)):
                if (totals := self.totals.get(scope)) is not None:
                    key = (leg.account, leg.currency)
                    totals[key] = totals.get(key, ZERO) + leg.amount
            if leg.store_id is not None:
                self.moved[(leg.store_id, leg.account, leg.currency)] += leg.amount
        return posting

    def flush(self) -> None:
        """Insert the pending postings (with ids taken up front, for their entries), then their
        entries."""
        if not self.postings:
            return
        for posting, pk in zip(
            self.postings, db.reserve_ids(Posting, len(self.postings)), strict=True
        ):
            posting.pk = pk
        db.insert_many(Posting, self.postings)
        legs: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for entry in self.entries:
            entry["posting_id"] = entry.pop("posting").pk
            legs[entry["posting_id"]].append(_leg_payload(entry))
        db.insert_values(LedgerEntry, self.entries)
        with events.batched():  # one bulk insert, or joins the audit batch's
            for posting in self.postings:
                _posted(posting, legs[posting.pk])
        self.postings, self.entries = [], []

    def forget_orders(self) -> None:
        """Flush, then drop what the batch knows of orders (their balances and references), so
        memory does not grow with the number of orders; a store's balances are kept."""
        self.flush()
        self.references.clear()
        self.covered.clear()
        self.refunds.clear()
        self.totals = {scope: t for scope, t in self.totals.items() if scope[0] == "store_id"}


_batch: ContextVar[LedgerBatch | None] = ContextVar("ledger_batch", default=None)


@contextmanager
def batched() -> Iterator[LedgerBatch]:
    """Post and read balances through one :class:`LedgerBatch`, flushed at the end of the block
    (or earlier). Must run inside ``atomic``, like every posting. A nested call joins the outer
    batch. Queries of entries other than :func:`balance` flush it first (:func:`_settle`)."""
    current = _batch.get()
    if current is not None:
        yield current
        return
    batch = LedgerBatch()
    token = _batch.set(batch)
    try:
        yield batch
        batch.flush()
    finally:
        _batch.reset(token)


def current_batch() -> LedgerBatch | None:
    return _batch.get()


def _settle() -> None:
    """Before reading entries from the database: insert what a batch has pending."""
    if (batch := _batch.get()) is not None:
        batch.flush()
