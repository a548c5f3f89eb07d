"""Posting to the ledger and reading balances.

:func:`post` is the only writer of ledger rows. A posting's legs must sum to zero per
currency; its reference is unique, so posting the same reference again is a no-op that
returns ``None`` (retries and concurrent runners never post twice). Each posting writes its
``ledger.posted`` event (backoffice/events.py) with it, batched like the posting.

The ledger takes part in the unit of work (:mod:`backoffice.unit_of_work`; registered at the
end of this module): outside a batch, :class:`LedgerNow` posts at once and every read queries.
Inside one (imports of thousands of rows, the deadline jobs' batches) the same services post and
read without a query each: :func:`post` collects postings and entries that
:meth:`LedgerBatch.flush` inserts in bulk, and :func:`balance` answers from balances read once
per batch (:func:`load`) plus what the batch posted since; so do :func:`refunded` and
:func:`commission_charged` for the orders loaded. The rules (references, balanced legs, what a
balance is) are the same code paths in both modes; services never ask which one runs.

Running totals: every posting also moves the :class:`~payouts.models.DailyBalance` rows of the
store accounts it touches (:func:`apply_deltas`, in the same transaction and under the store's
row lock; a batch adds its postings up in memory and writes them at :meth:`LedgerBatch.flush`).
Store balances are read from them (:func:`balance`, :func:`store_balances`,
:func:`balances_at`), never by summing a store's whole history; balances of one order (escrow,
reserve) are still sums of that order's few entries.
"""

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import SellerAccount
from backoffice import db, events, unit_of_work
from backoffice.money import Currency, has_more_than_cents, quantize
from payouts.models import (
    STORE_ACCOUNTS,
    Account,
    DailyBalance,
    LedgerEntry,
    Posting,
    Refund,
    ReserveHold,
)

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
    return _part().post(
        reference=reference, kind=kind, legs=legs, at=at, actor=actor, memo=memo, links=links
    )


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


def to_cents(total: Decimal | float | None) -> Decimal:
    """A database SUM of cent amounts, made exact. SQLite keeps decimals as REAL, so its SUM
    carries float residue (``-4.4e-16`` for a zero balance); the error stays far below half a
    cent for any realistic total, so rounding to the cent restores the exact value. PostgreSQL
    sums NUMERIC exactly and is unaffected."""
    return quantize(Decimal(str(total))) if total is not None else ZERO


def balance(**filters: Any) -> Decimal:
    """The sum of the entries matching ``filters`` (e.g. store_id=, account=, order_id=)."""
    part = _part()
    known = part.balance(filters)
    if known is not None:
        return known
    _write_pending()
    if set(filters) == {"store_id", "account", "currency"}:
        return current_balance(filters["store_id"], filters["account"], filters["currency"])
    if set(filters) == {"store_id", "account"}:
        rows = latest(DailyBalance.objects.filter(**filters)).values_list("balance", flat=True)
        return sum((to_cents(total) for total in rows), ZERO)
    return to_cents(LedgerEntry.objects.filter(**filters).aggregate(s=Sum("amount"))["s"])


def store_balances(store_id: int, accounts: Iterable[str] = STORE_ACCOUNTS) -> dict[str, Decimal]:
    """Balance of each store account: escrow, available, reserve, debt in USD; promotion in CNY
    (an account's currencies added up). From the running totals: one query. ``accounts`` may
    add the platform's commission taken from the store (tagged with it)."""
    _write_pending()
    rows = latest(DailyBalance.objects.filter(store_id=store_id)).values_list("account", "balance")
    balances = {str(account): ZERO for account in accounts}
    for account, total in rows:
        if account in balances:  # by default not the platform's commission
            balances[account] += to_cents(total)
    return balances


def balances_at(store_ids: Iterable[int], at: datetime) -> dict[int, dict[str, Decimal]]:
    """Each store's balances (as :func:`store_balances`) at the instant ``at``: the running
    total at the end of the day before plus the entries of ``at``'s day up to ``at``. One query
    for all the stores, whatever their history."""
    _write_pending()
    ids = list(store_ids)
    day = at.astimezone(UTC).date()
    start = datetime.combine(day, time.min, tzinfo=UTC)
    closing = latest(
        DailyBalance.objects.filter(store_id__in=ids, day__lt=day), before=day
    ).values_list("store_id", "account", "balance")
    intraday = (
        LedgerEntry.objects.filter(store_id__in=ids, at__gte=start, at__lte=at)
        .values_list("store_id", "account")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    result = {pk: {account.value: ZERO for account in STORE_ACCOUNTS} for pk in ids}
    for store_id, account, total in closing.union(intraday, all=True):
        if account in result[store_id]:
            result[store_id][account] += to_cents(total)
    return result


def latest(rows: QuerySet[DailyBalance], *, before: date | None = None) -> QuerySet[DailyBalance]:
    """The latest of ``rows`` per store account and currency (before ``before`` when given): the
    running totals at that point."""
    last = DailyBalance.objects.filter(
        store=OuterRef("store"), account=OuterRef("account"), currency=OuterRef("currency")
    )
    if before is not None:
        last = last.filter(day__lt=before)
    return rows.filter(day=Subquery(last.order_by("-day").values("day")[:1])).order_by()


def balance_at_annotation(account: str, at: datetime | None) -> Coalesce:
    """Annotation on a SellerAccount queryset: the store's ``account`` balance now (``at`` None)
    or at ``at``, from the running totals: two subqueries, none per row."""
    if at is None:
        return _latest_balance(account)
    money = DecimalField(max_digits=18, decimal_places=2)
    rows = DailyBalance.objects.filter(store=OuterRef("pk"), account=account)
    day = at.astimezone(UTC).date()
    start = datetime.combine(day, time.min, tzinfo=UTC)
    closing = rows.filter(day__lt=day).order_by("-day").values("balance")[:1]
    intraday = (
        LedgerEntry.objects.filter(store=OuterRef("pk"), account=account, at__gte=start, at__lte=at)
        .order_by()
        .values("store")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(Decimal("0"), output_field=money)
    return Coalesce(Subquery(closing, output_field=money), zero, output_field=money) + Coalesce(
        Subquery(intraday, output_field=money), zero, output_field=money
    )


@functools.cache
def _latest_balance(account: str) -> Coalesce:
    """The balance now: the account's latest running total (one currency per store account).
    Built once per account: it holds no time, and a query resolves a copy of it, so every page
    of stores (the GraphQL optimizer asks twice per request) shares it."""
    money = DecimalField(max_digits=18, decimal_places=2)
    total = (
        DailyBalance.objects.filter(store=OuterRef("pk"), account=account)
        .order_by("-day")
        .values("balance")[:1]
    )
    return Coalesce(Subquery(total, output_field=money), Decimal("0"), output_field=money)


# --- running totals -----------------------------------------------------------------------------

Key = tuple[int, str, str]  # (store_id, account, currency)
Deltas = dict[Key, dict[date, Decimal]]


def add_delta(
    deltas: Deltas, store_id: int | None, account: str, currency: str, at: datetime, amount: Decimal
) -> None:
    """Count one store leg towards the running totals (platform legs have none)."""
    if store_id is None:
        return
    days = deltas.setdefault((store_id, account, currency), {})
    day = at.astimezone(UTC).date()
    days[day] = days.get(day, ZERO) + amount


def apply_deltas(deltas: Deltas) -> None:
    """Move the running totals by what was posted: for each store account, the row of each day
    with movements is created (from the balance before it) or moved, and so is every later row
    (a posting dated in the past moves the days after it). Under the stores' row locks, at most
    four statements for any number of postings, in plain SQL (compiling ORM queries cost more
    than running them: this runs with every posting)."""
    # A day whose movements cancel out (a batch's debt taken and repaid the same day) still
    # gets its row: a day with entries has a running total (check_ledger).
    if not deltas:
        return
    connection = connections[router.db_for_write(DailyBalance)]
    store_ids = sorted({key[0] for key in deltas})
    first = min(day for days in deltas.values() for day in days)
    rows: dict[Key, list[tuple[int, date, Decimal]]] = defaultdict(list)
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update:  # SQLite serialises its writers
            cursor.execute(_LOCK_SQL % _marks(store_ids), store_ids)
        accounts, currencies = sorted({k[1] for k in deltas}), sorted({k[2] for k in deltas})
        day = connection.ops.adapt_datefield_value(first)
        cursor.execute(
            _ROWS_SQL % (_marks(store_ids), _marks(accounts), _marks(currencies)),
            [day, day, *store_ids, *accounts, *currencies],
        )
        for pk, store_id, account, currency, row_day, total in cursor.fetchall():
            if isinstance(row_day, str):  # SQLite without converters
                row_day = date.fromisoformat(row_day)
            rows[(store_id, account, currency)].append((pk, row_day, to_cents(total)))
    created: list[dict[str, Any]] = []
    changed: list[list[Any]] = []
    for key, days in deltas.items():
        new, moved = _moved_rows(key, rows.get(key, []), days)
        created += new
        changed += [
            [connection.ops.adapt_decimalfield_value(total, 18, 2), pk] for pk, total in moved
        ]
    if created:
        db.insert_values(DailyBalance, created)
    if changed:
        with connection.cursor() as cursor:
            cursor.executemany(_UPDATE_SQL, changed)


def _marks(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


_TABLE = DailyBalance._meta.db_table
_LOCK_SQL = f"SELECT id FROM {SellerAccount._meta.db_table} WHERE id IN (%s) FOR UPDATE"
# Per account, its rows from the last one on or before the first day moved (or from that day).
_ROWS_SQL = (
    f"SELECT d.id, d.store_id, d.account, d.currency, d.day, d.balance FROM {_TABLE} d "
    f"WHERE d.day >= COALESCE((SELECT MAX(p.day) FROM {_TABLE} p WHERE p.store_id = d.store_id "
    "AND p.account = d.account AND p.currency = d.currency AND p.day <= %%s), %%s) "
    "AND d.store_id IN (%s) AND d.account IN (%s) AND d.currency IN (%s) ORDER BY d.day"
)
_UPDATE_SQL = f"UPDATE {_TABLE} SET balance = %s WHERE id = %s"
_CURRENT_SQL = (
    f"SELECT balance FROM {_TABLE} WHERE store_id = %s AND account = %s AND currency = %s "
    "ORDER BY day DESC LIMIT 1"
)


def _moved_rows(
    key: Key, rows: list[tuple[int, date, Decimal]], days: dict[date, Decimal]
) -> tuple[list[dict[str, Any]], list[tuple[int, Decimal]]]:
    """The new rows and the moved rows (id, balance) of one account: ``rows`` are its rows
    (id, day, balance) in order of day from the last one before the first day of ``days`` (or
    from that day)."""
    by_day = {row_day: (pk, total) for pk, row_day, total in rows}
    created, changed = [], []
    before = ZERO  # the balance at the end of the previous day, before these movements
    added = ZERO  # what these movements added up to that day
    for day in sorted(set(by_day) | set(days)):
        added += days.get(day, ZERO)
        if day not in by_day:
            created.append(
                {
                    "store_id": key[0],
                    "account": key[1],
                    "currency": key[2],
                    "day": day,
                    "balance": before + added,
                }
            )
            continue
        pk, before = by_day[day]
        if added:
            changed.append((pk, before + added))
    return created, changed


def current_balance(store_id: int, account: str, currency: str) -> Decimal:
    """One store account's balance in one currency: its latest running total (one indexed
    read)."""
    connection = connections[router.db_for_read(DailyBalance)]
    with connection.cursor() as cursor:
        cursor.execute(_CURRENT_SQL, [store_id, account, currency])
        row = cursor.fetchone()
    return to_cents(row[0]) if row else ZERO


def reserve_by_order(store_id: int) -> dict[int, Decimal]:
    """What is left of each order's reserve hold, for orders with something left (only holds
    not released yet can have something left: their entries, not the store's whole history)."""
    _write_pending()
    unreleased = ReserveHold.objects.filter(store_id=store_id, released_at__isnull=True)
    rows = (
        LedgerEntry.objects.filter(
            store_id=store_id,
            account=Account.RESERVE,
            order_id__in=unreleased.values("order_id"),
        )
        .values("order_id")
        .annotate(total=Sum("amount"))
        .order_by("order_id")
    )
    totals = {row["order_id"]: to_cents(row["total"]) for row in rows}
    return {order_id: total for order_id, total in totals.items() if total > 0}


def commission_charged(order_id: int) -> Decimal:
    """The commission the platform took on an order's releases (before any was returned)."""
    known = _part().charged(order_id)
    if known is not None:
        return known
    _write_pending()
    total = LedgerEntry.objects.filter(
        order_id=order_id, account=Account.COMMISSION, amount__gt=0
    ).aggregate(total=Sum("amount"))["total"]
    return to_cents(total or ZERO)


# --- batch mode ---------------------------------------------------------------------------------

Scope = tuple[str, int]  # ("store_id", id) or ("order_id", id)
_COMMISSION = Account.COMMISSION.value  # a plain str: compared on every leg a batch posts
BALANCE_FILTERS = frozenset({"store_id", "order_id", "account", "currency"})


class LedgerBatch:
    """The ledger's part of a unit of work: postings made in the batch and not yet inserted,
    and the balances the services read meanwhile: per store or order, what the database held
    when it was loaded plus what the batch posted since. Also, for the loaded orders, what was
    refunded and the commission charged, and the net change of each store account over the
    whole batch (:attr:`moved`), for reports of what an import moves (or would move, in a dry
    run)."""

    def __init__(self) -> None:
        self.postings: list[Posting] = []
        self.entries: list[dict[str, Any]] = []  # LedgerEntry fields (no instance needed)
        # References posted in this batch or known to exist; for the orders in ``covered``
        # every existing reference is in it, so their postings need no query to be checked.
        self.references: set[str] = set()
        self.covered: set[int] = set()
        self.totals: dict[Scope, dict[tuple[str, str], Decimal]] = {}
        self.refunds: dict[int, tuple[Decimal, set[str]]] = {}  # order -> (total, references)
        self.commission: dict[int, Decimal] = {}  # order -> commission charged (positive legs)
        self.moved: dict[tuple[int, str, str], Decimal] = defaultdict(Decimal)
        self.held: Deltas | None = None  # running totals' moves not written yet (hold_totals)

    def load(self, *, store_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> None:
        """Read the balances of these stores and orders (one query each for all of them), and
        the references already posted for the orders."""
        stores = {i for i in store_ids if ("store_id", i) not in self.totals}
        orders = {i for i in order_ids if ("order_id", i) not in self.totals}
        if not (stores or orders):
            return
        self.flush()  # the database must hold what was posted to them before they were loaded
        if stores:  # read from the running totals (an order's balances from its entries)
            self.write_totals()
        for pk in stores:
            self.totals[("store_id", pk)] = {}
        if stores:  # from the running totals
            rows = latest(DailyBalance.objects.filter(store_id__in=stores)).values_list(
                "store_id", "account", "currency", "balance"
            )
            for pk, account, currency, total in rows:
                self.totals[("store_id", pk)][(account, currency)] = to_cents(total)
        for pk in orders:
            self.totals[("order_id", pk)] = {}
        if orders:
            charged = Sum("amount", filter=Q(account=Account.COMMISSION, amount__gt=0))
            rows = (
                LedgerEntry.objects.filter(order_id__in=orders)
                .values_list("order_id", "account", "currency")
                .annotate(total=Sum("amount"), charged=charged)
                .order_by()
            )
            self.commission.update((pk, ZERO) for pk in orders)
            for pk, account, currency, total, commission in rows:
                self.totals[("order_id", pk)][(account, currency)] = to_cents(total)
                if commission:
                    self.commission[pk] += to_cents(commission)
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
            self.commission.setdefault(pk, ZERO)

    def refunded(self, order_id: int) -> Decimal:
        known = self.refunds.get(order_id)
        return LEDGER_NOW.refunded(order_id) if known is None else known[0]

    def find_refund(self, order_id: int, reference: str) -> Refund | None:
        known = self.refunds.get(order_id)
        if known is not None and reference not in known[1]:  # no query: it is new
            return None
        return LEDGER_NOW.find_refund(order_id, reference)

    def add_refund(self, fields: dict[str, Any]) -> Refund:
        """A refund of a loaded order is inserted with the batch's rows (its total is known
        here); of another order, at once (its total is read from the database)."""
        order_id = fields["order"].pk
        known = self.refunds.get(order_id)
        if known is None:
            return LEDGER_NOW.add_refund(fields)
        record = db.create(Refund, **fields)
        self.refunds[order_id] = (known[0] + record.amount, known[1] | {record.reference})
        return record

    def charged(self, order_id: int) -> Decimal | None:
        return self.commission.get(order_id)

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
            if leg.account == _COMMISSION and leg.amount > 0 and leg.order_id in self.commission:
                self.commission[leg.order_id] += leg.amount
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
        deltas: Deltas = {}
        for entry in self.entries:
            entry["posting_id"] = entry.pop("posting").pk
            legs[entry["posting_id"]].append(_leg_payload(entry))
            add_delta(
                deltas,
                entry["store_id"],
                entry["account"],
                entry["currency"],
                entry["at"],
                entry["amount"],
            )
        db.insert_values(LedgerEntry, self.entries)
        self._move_totals(deltas)
        for posting in self.postings:  # inserted with the unit of work's other events
            _posted(posting, legs[posting.pk])
        self.postings, self.entries = [], []

    def hold_totals(self) -> None:
        """From now on, keep the running totals' moves in memory, added up, until a read of
        the database needs them (:func:`balance`, :func:`store_balances`, :meth:`load`, ...
        all go through :func:`_write_pending`) or :meth:`write_totals`; for an import, whose
        batches post all over a store's history: moving every later day's row batch after
        batch cost more the longer the history (a tenth of a 100,000-row import); once at the
        end, the same rows. The caller writes them before its unit of work ends."""
        if self.held is None:
            self.held = {}

    def write_totals(self) -> None:
        """Write the running totals' moves held so far (:meth:`hold_totals`)."""
        if self.held:
            held, self.held = self.held, {}
            apply_deltas(held)

    def _move_totals(self, deltas: Deltas) -> None:
        if self.held is None:
            apply_deltas(deltas)
            return
        for key, days in deltas.items():
            held = self.held.setdefault(key, {})
            for day, amount in days.items():
                held[day] = held.get(day, ZERO) + amount

    def forget_orders(self) -> None:
        """Flush, then drop what the batch knows of orders (their balances and references), so
        memory does not grow with the number of orders; a store's balances are kept."""
        self.flush()
        self.references.clear()
        self.covered.clear()
        self.refunds.clear()
        self.commission.clear()
        self.totals = {scope: t for scope, t in self.totals.items() if scope[0] == "store_id"}


class LedgerNow:
    """The ledger of the implicit unit of work (outside any batch): posts at once, knows no
    balance (every read queries)."""

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
        deltas: Deltas = {}
        for leg in legs:
            add_delta(deltas, leg.store_id, leg.account, leg.currency, at, leg.amount)
        apply_deltas(deltas)
        _posted(posting, [_leg_payload(vars_of(leg)) for leg in legs])
        return posting

    def balance(self, filters: dict[str, Any]) -> Decimal | None:
        return None

    def refunded(self, order_id: int) -> Decimal:
        amounts = Refund.objects.filter(order_id=order_id).values_list("amount", flat=True)
        return sum(amounts, ZERO)

    def find_refund(self, order_id: int, reference: str) -> Refund | None:
        return Refund.objects.filter(reference=reference).first()

    def add_refund(self, fields: dict[str, Any]) -> Refund:
        return Refund.objects.create(**fields)

    def charged(self, order_id: int) -> Decimal | None:
        return None

    def load(self, *, store_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> None:
        pass

    def flush(self) -> None:
        pass

    def write_totals(self) -> None:
        pass


LEDGER_NOW = LedgerNow()
unit_of_work.register("ledger", LedgerBatch, LEDGER_NOW)


def _part() -> LedgerBatch | LedgerNow:
    """The ledger's part of the running unit of work."""
    return unit_of_work.current().part("ledger")


def current() -> LedgerBatch | LedgerNow:
    """The ledger's part of the running unit of work, for the batch code that loads balances
    up front (:meth:`LedgerBatch.load`) and reports what a batch moved."""
    return _part()


def load(*, store_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> None:
    """Inside a batch: read these stores' and orders' balances (and the orders' refunds and
    references) once, so the services read them without a query each. Nothing outside one."""
    _part().load(store_ids=store_ids, order_ids=order_ids)


def refunded(order_id: int) -> Decimal:
    """What was refunded on an order so far."""
    return _part().refunded(order_id)


def find_refund(order_id: int, reference: str) -> Refund | None:
    """The refund with ``reference``, if one was made."""
    return _part().find_refund(order_id, reference)


def add_refund(**fields: Any) -> Refund:
    """Record a refund (its posting is the caller's)."""
    return _part().add_refund(fields)


def _write_pending() -> None:
    """Before reading entries or running totals from the database: insert the postings a batch
    has pending, and write the running totals it holds."""
    part = _part()
    part.flush()
    part.write_totals()
