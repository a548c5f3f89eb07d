"""How each kind of row lands: through the services the admin and GraphQL use, nothing else.

An applier takes one batch of parsed rows at a time (``RowResult``: a row, or the errors of its
cells) and brings each record to what its row says:

- orders: a new order is checked by ``order_build`` (the checks of ``order_create``) and walked
  from unpaid to the row's state with the ``apply_*`` transitions, at the row's times; a known
  order is walked from its state to the row's. The way is found in the state machine's own
  declarations (``backoffice.fsm.transition_paths``); where several lead there, the one whose
  moves the row shows (a payment time, a shipment, ...) is taken. No way there is a row error.
- disputes: ``dispute_open`` for a new dispute, then the dispute services to the row's status
  (a return status: a resolution with ``return_required``; "processing": where it is).
- promotion statements: the wallet services, with the statement's reference (idempotent).
- exchange rates: ``exchange_rate_set``.

Moves whose time the export does not give (a cancellation, an order going into dispute, a
confirmation without a Confirmed Time) happen at the latest time the row gives; a dispute's moves
at its Opened Time (an automatic resolution at its response deadline); a statement line at the
start of its day in the import's time zone.

The orders applier runs inside the batch machinery set up by ``runner`` (rows locked up front,
ledger and audit rows in bulk) and stops applying at the first row a service refuses (the rest
is only parsed, to report every error in a cell): the file is rejected anyway, and the rows
after it may depend on it. The other kinds are small files: each row runs in a savepoint and
every row is tried.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models, transaction

from accounts.models import SellerAccount
from accounts.services import seller_account_create
from backoffice import db
from backoffice.fsm import check_transition, transition_paths
from backoffice.models import ImportFile
from backoffice.money import Currency, Money, cny_to_usd
from disputes import services as disputes
from disputes.models import Dispute, Fault
from orders.models import Order, OrderLine
from orders.services import (
    Line,
    apply_cancel,
    apply_confirm,
    apply_details,
    apply_open_dispute,
    apply_pay,
    apply_ship,
    order_build,
    order_lines_build,
)
from payouts import ledger
from payouts import promotion as wallet
from payouts.models import ExchangeRate, PromotionMovement
from payouts.services import exchange_rate_set

from .choices import DisputeReason, DisputeState, EndReason, OrderState, PromotionType
from .errors import RowError
from .parse import RowResult
from .rows import DisputeRow, ExchangeRateRow, OrderRow, PromotionRow

REFUSED = (ValidationError, DjangoPermissionDenied)


class RowProblem(Exception):
    """A row that does not fit what is stored (another store's order, another amount)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Context:
    report: Any  # runner.ImportReport
    record: ImportFile
    actor: Any
    labels: Mapping[str, str]  # field -> the column's header as the file writes it
    tz: tzinfo  # the file's time zone
    rows: db.RowBatch  # the unit of work's rows, flushed after each batch of rows
    ledger: ledger.LedgerBatch
    store: str | None = None  # the store the import is for (platform id)
    store_name: str | None = None  # its name, to create it when it is new
    stopped_at: int | None = None  # the line whose refusal stopped the applying

    def error(self, line: int, field: str, message: str) -> None:
        self.report.add_error(RowError(line, self.labels.get(field, field), message))

    def refused(self, line: int, exc: Exception, fields: Mapping[str, str], default: str) -> None:
        """A service's refusal as a row error, at the column of the field it names."""
        field, message = explain(exc)
        column = fields.get(field or "") or (field if field in self.labels else default)
        self.error(line, column, message)

    def stop(self, line: int) -> None:
        self.stopped_at = line
        self.report.warnings.append(
            f"line {line} was refused, so nothing will be written: the rows after it were "
            "checked for errors in their cells only"
        )

    def mark(self, instance: models.Model, line: int) -> None:
        """Remember the file and line that created or moved ``instance`` (its next save, or
        the batch's flush, writes them)."""
        instance.source_file = self.record
        instance.source_line = line
        db.save(instance, ["source_file", "source_line"])

    def count(self, source: str | None, target: str | None = None, *, changed: bool) -> None:
        """One record done: new (``source == "new"``), moved (``source != target``) or otherwise
        ``changed``, or unchanged. Records without a state pass ``None`` for both."""
        report = self.report
        if source == "new":
            report.created += 1
        elif source != target or changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if source != target and target is not None:
            report.moves[(str(source), str(target))] += 1


def explain(exc: Exception) -> tuple[str | None, str]:
    """(field named, message) of a service's refusal or a :class:`RowProblem`."""
    if isinstance(exc, RowProblem):
        return exc.field, exc.message
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            return (None if field == NON_FIELD_ERRORS else field), " ".join(messages)
        return None, " ".join(exc.messages)
    return None, str(exc) or "Permission denied."


MONEY_FIELDS = ("amount", "product_total", "shipping_cost")


def _day(row: OrderRow, tz: tzinfo) -> date:
    """The day whose exchange rate converts an order: its order time's, as the file writes it."""
    return row.ordered_at.astimezone(tz).date()


def _to_usd(money: Money | None, rate: Decimal, field: str) -> Money | None:
    """CNY to USD at ``rate`` (CNY for one USD), to the cent by the conversions' rule (half
    up, :func:`backoffice.money.round_conversion`)."""
    if money is None:
        return None
    usd = Money(cny_to_usd(money.amount, rate), Currency.USD)
    if field == "amount" and usd.amount <= 0:
        raise RowProblem(field, f"{money}: less than a cent in USD at {rate}")
    return usd


KEPT = object()  # OrdersApplier.way(): the order stays where it is


def _same_amount(
    row: OrderRow, amount: Decimal, original_amount: Decimal | None, original_currency: str
) -> None:
    """A known order's row gives the amount it was recorded with, as the file writes it (a CNY
    order in CNY, whatever the day's rate became)."""
    recorded = (
        Money(original_amount, original_currency)
        if original_currency
        else Money(amount, Currency.USD)
    )
    if (row.original or row.amount) != recorded:
        raise RowProblem(
            "amount",
            f"order {row.order_number} was recorded with {recorded}: "
            "an order's amount does not change",
        )


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _usd(money: Money | None, field: str) -> Decimal | None:
    if money is None:
        return None
    if money.currency != Currency.USD:
        raise RowProblem(field, f"{money}: this amount is in USD")
    return money.amount


class Applier:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.actor = context.actor

    def parsed(self, results: Iterable[RowResult]) -> list[Any]:
        """The batch's rows that parsed; the errors of the others go to the report."""
        rows = []
        for result in results:
            if result.errors:
                for error in result.errors:
                    self.context.report.add_error(error)
            else:
                rows.append(result.row)
        return rows

    def apply(self, results: list[RowResult]) -> None:
        for row in self.parsed(results):
            try:
                with transaction.atomic():
                    self.apply_row(row)
            except (*REFUSED, RowProblem) as exc:
                self.context.refused(row.line, exc, self.SERVICE_FIELDS, self.DEFAULT_FIELD)

    def apply_row(self, row: Any) -> None:
        raise NotImplementedError

    def forget(self) -> None:
        """After the batch was written: drop what it held."""

    SERVICE_FIELDS: Mapping[str, str] = {}  # a service's field name -> the export's
    DEFAULT_FIELD = "status"


# --- orders -------------------------------------------------------------------------------------


def _latest(row: OrderRow) -> datetime:
    """The latest time the row gives: when a move whose time it does not give happened."""
    return max(t for t in (row.ordered_at, row.paid_at, row.shipped_at, row.confirmed_at) if t)


def _open_dispute(order: Order, row: OrderRow, actor: Any) -> None:
    # The order side only (the disputes export brings the dispute): check the actor here,
    # as the disputes service would.
    at = _latest(row)
    check_transition(order, "open_dispute", actor, at=at).raise_if_refused()
    apply_open_dispute(order, actor=actor, at=at, note="in dispute on the platform (import)")


def _cancel_reason(order: Order, row: OrderRow) -> str:
    """The row's end reason; without one (订单关闭), refunded if paid, else the buyer's cancel."""
    if row.end_reason:
        return row.end_reason
    return EndReason.REFUNDED if order.status == Order.Status.PAID else EndReason.BUYER_CANCEL


@dataclass(frozen=True)
class Step:
    shown: Callable[[OrderRow], bool]  # the row shows this move happened
    run: Callable[[Order, OrderRow, Any], None]


ORDER_STEPS: dict[str, Step] = {
    "pay": Step(
        lambda row: row.paid_at is not None,
        lambda order, row, actor: apply_pay(
            order,
            actor=actor,
            at=row.paid_at or _latest(row),
            payment_method=row.payment_method or "",
        ),
    ),
    "ship": Step(
        lambda row: row.shipped_at is not None and bool(row.parcels),
        lambda order, row, actor: apply_ship(
            order, actor=actor, at=row.shipped_at or _latest(row), parcels=row.parcels
        ),
    ),
    "confirm": Step(
        lambda row: row.confirmed_at is not None,
        lambda order, row, actor: apply_confirm(
            order, actor=actor, at=row.confirmed_at or _latest(row)
        ),
    ),
    "cancel": Step(
        lambda row: row.state in (OrderState.CANCELLED, OrderState.REFUNDED),
        lambda order, row, actor: apply_cancel(
            order,
            actor=actor,
            at=_latest(row),
            reason=_cancel_reason(order, row),
            note=f"platform end reason: {row.end_reason_code}" if row.end_reason_code else "",
        ),
    ),
    "open_dispute": Step(lambda row: row.state == OrderState.DISPUTED, _open_dispute),
}

Path = tuple[tuple[str, str], ...]


class OrdersApplier(Applier):
    SERVICE_FIELDS = {
        "storeId": "store_id",
        "name": "store_name",
        "orderNumber": "order_number",
        "amount": "amount",
        "productTotal": "product_total",
        "shippingCost": "shipping_cost",
        "paymentMethod": "payment_method",
        "carrier": "carrier_tracking",
        "trackingNumber": "carrier_tracking",
        "reason": "end_reason",
        "buyerName": "buyer_name",
        "buyerCountry": "buyer_country",
        "productInfo": "product_info",
        "lines": "product_code",
    }

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.stores: dict[str, SellerAccount] = {}  # platform id -> store, for the whole import
        self.orders: dict[str, Order] = {}  # order number -> order, for one batch
        self.new_ids: list[int] = []
        self.paths: dict[tuple[str, str, frozenset[str]], Path | None] = {}
        self.refused_column = "store_id"
        # platform id -> (name, settlement currency) of each store seen, new ones as they
        # will be created (the first row's name and currency)
        self.seen: dict[str, tuple[str | None, str]] = {}
        self.rates: dict[date, Decimal | None] = {}  # the day's USD rate (CNY for one USD)

    def apply(self, results: list[RowResult]) -> None:
        rows: list[OrderRow] = self.parsed(results)
        if not rows:
            return
        for row in rows:
            for warning in row.warnings:
                self.context.report.add_warning(warning)
        rows, refused_at = self.check(rows)
        if self.context.stopped_at is not None:
            return
        if refused_at is not None:
            rows = [row for row in rows if row.line < refused_at]
        if rows:
            self.hold(rows)
        for row in rows:
            try:
                self.apply_row(row)
            except (*REFUSED, RowProblem) as exc:
                self.context.refused(row.line, exc, self.SERVICE_FIELDS, self.refused_column)
                self.context.stop(row.line)
                return
        if refused_at is not None:
            self.context.stop(refused_at)

    def check(self, rows: list[OrderRow]) -> tuple[list[OrderRow], int | None]:
        """What every row must satisfy and no service can tell alone: its store's name and
        currency, and a USD amount for a CNY one (the day's rate). Reads, writes nothing, and
        reports every row (not only the first), even after the applying stopped. Returns the
        rows, CNY ones converted, and the first line refused."""
        self.see_stores({row.store_id for row in rows})
        self.see_rates({_day(row, self.context.tz) for row in rows if row.currency != "USD"})
        known = self.known({row.order_number for row in rows})
        checked, refused_at = [], None
        for row in rows:
            try:
                row = self.check_row(row)
                if row.order_number in known:
                    self.check_known_row(row, *known.pop(row.order_number))
                checked.append(row)
            except RowProblem as problem:
                self.context.error(row.line, problem.field, problem.message)
                refused_at = row.line if refused_at is None else refused_at
        return checked, refused_at

    @staticmethod
    def known(numbers: set[str]) -> dict[str, tuple[Any, ...]]:
        """What the early checks need of the known orders among ``numbers`` (not locked: the
        services check again, under the batch's locks)."""
        fields = ("status", "store__platform_store_id", "amount", "original_amount")
        rows = Order.objects.filter(order_number__in=numbers).values_list(
            "order_number", *fields, "original_currency"
        )
        return {number: rest for number, *rest in rows}

    def check_known_row(
        self, row: OrderRow, status: str, owner: str, amount: Decimal, *original: Any
    ) -> None:
        """A known order's row (its first in the file): same store and amount, and a way
        from its state to the row's."""
        if owner != row.store_id:
            raise RowProblem("store_id", f"order {row.order_number} is of store {owner}")
        _same_amount(row, amount, *original)
        self.way(status, row)

    def see_stores(self, platform_ids: set[str]) -> None:
        unseen = platform_ids - self.seen.keys()
        if unseen:
            known = SellerAccount.objects.filter(platform_store_id__in=unseen)
            for store_id, name, currency in known.values_list(
                "platform_store_id", "name", "settlement_currency"
            ):
                self.seen[store_id] = (name, currency)

    def see_rates(self, days: set[date]) -> None:
        unseen = days - self.rates.keys()
        if unseen:
            self.rates.update(dict.fromkeys(unseen))
            found = ExchangeRate.objects.filter(date__in=unseen, currency=Currency.USD)
            self.rates.update(found.values_list("date", "rate_to_cny"))

    def check_row(self, row: OrderRow) -> OrderRow:
        if row.store_id not in self.seen:  # new: created with this row's name and currency
            name = self.context.store_name if row.store_id == self.context.store else None
            self.seen[row.store_id] = (name or row.store_name, row.currency)
        name, currency = self.seen[row.store_id]
        if self.context.store and row.store_name and name and not _same_name(name, row.store_name):
            raise RowProblem(
                "store_name",
                f"store {row.store_name!r}: this file is imported for store "
                f"{self.context.store} ({name!r})",
            )
        if row.currency != currency:
            raise RowProblem(
                "amount", f"{row.amount}: store {row.store_id} is settled in {currency}"
            )
        if row.currency == Currency.USD:
            return row
        day = _day(row, self.context.tz)
        rate = self.rates.get(day)
        if rate is None:
            raise RowProblem(
                "amount",
                f"{row.amount}: no USD/CNY exchange rate for {day:%Y-%m-%d} (the order's day): "
                "import that day's rate first, the ledger keeps USD",
            )
        usd = {field: _to_usd(getattr(row, field), rate, field) for field in MONEY_FIELDS}
        return replace(row, **usd, original=row.amount, rate=rate)

    def hold(self, rows: list[OrderRow]) -> None:
        """Lock the batch's stores and known orders and read their balances: a few queries for
        the whole batch, after which the services need none of their own for them."""
        batch, money = self.context.rows, self.context.ledger
        unknown = {row.store_id for row in rows} - self.stores.keys()
        if unknown:
            stores = batch.lock(SellerAccount.objects.filter(platform_store_id__in=unknown))
            self.stores.update((store.platform_store_id, store) for store in stores)
            money.load(store_ids=[store.pk for store in stores])
        numbers = {row.order_number for row in rows}
        known = batch.lock(Order.objects.filter(order_number__in=numbers))
        self.orders = {order.order_number: order for order in known}
        money.load(order_ids=[order.pk for order in known])
        self.new_ids = db.reserve_ids(Order, len(numbers) - len(known))

    def forget(self) -> None:
        self.orders = {}
        self.context.rows.forget(Order)

    def apply_row(self, row: OrderRow) -> None:
        self.refused_column = "store_id"
        store = self.store(row)
        self.refused_column = "order_number"
        order = self.orders.get(row.order_number)
        changed = False
        if order is None:
            source = "new"
            order = self.build(row, store)
        else:
            source = order.status
            changed = self.check_known(row, order, store)
            if order.store_id == store.pk:  # what the pay guard reads: no query per order
                Order.store.field.set_cached_value(order, store)
        self.refused_column = "status"
        path = self.way(order.status, row)
        if path is KEPT:
            # 资金处理中 after 交易完成: the platform's word is only the nearest state here,
            # and the order has gone past it already
            message = f"kept as {order.status}: further on than the platform's word"
            self.context.report.add_warning(
                RowError(row.line, self.context.labels["status"], message)
            )
            path = ()
        for name, reached in path:
            ORDER_STEPS[name].run(order, row, self.actor)
            if order.status != reached:  # a state computed by the model went elsewhere
                raise RowProblem("status", f"cannot move from {source} to {row.state}")
        if source == "new" or path or changed:
            self.context.mark(order, row.line)
        self.context.count(source, order.status, changed=changed)

    def store(self, row: OrderRow) -> SellerAccount:
        store = self.stores.get(row.store_id)
        if store is None:  # unknown stores are created, active, with the export's name
            name, currency = self.seen[row.store_id]
            store = seller_account_create(
                actor=self.actor,
                platform_store_id=row.store_id,
                name=name or "",
                opened_at=row.ordered_at,
                settlement_currency=currency,
            )
            self.context.rows.hold(store)
            self.context.ledger.load_new(store_ids=[store.pk])
            self.stores[row.store_id] = store
            self.context.report.stores_created.append(row.store_id)
            self.context.report.store_names[row.store_id] = store.name
        return store

    def build(self, row: OrderRow, store: SellerAccount) -> Order:
        order = order_build(
            actor=self.actor,
            store=store,
            order_number=row.order_number,
            amount=_usd(row.amount, "amount"),
            buyer_name=row.buyer_name or "",
            buyer_country=row.buyer_country or "",
            placed_at=row.ordered_at,
            product_total=_usd(row.product_total, "product_total"),
            shipping_cost=_usd(row.shipping_cost, "shipping_cost"),
            protected=bool(row.protected),
            product_info=row.product_info or "",
            original=(row.original.amount, row.original.currency, row.rate)
            if row.original
            else None,
            check_unique=False,  # hold() looked the batch's numbers up
        )
        if not self.new_ids:  # more new orders than hold() counted: cannot happen, but cheap
            self.new_ids = db.reserve_ids(Order, 100)
        order.pk = self.new_ids.pop()
        self.context.rows.add(order)
        self.add_lines(order, row)
        self.context.ledger.load_new(order_ids=[order.pk])
        self.orders[row.order_number] = order
        return order

    def add_lines(self, order: Order, row: OrderRow) -> None:
        """The row's product codes as lines of one each, no price (the export gives none),
        inserted with the batch after the order."""
        counts = Counter(row.product_codes)
        lines = [Line(sku, quantity) for sku, quantity in counts.items()]
        for line in order_lines_build(order=order, lines=lines):
            line.order_id = order.pk
            line.pk = self.context.rows.new_id(OrderLine)
            self.context.rows.add(line)

    def check_known(self, row: OrderRow, order: Order, store: SellerAccount) -> bool:
        """A later export of a known order: same store and amount (as the file writes it: a
        CNY order is compared in CNY, whatever the day's rate became); other details may
        change. Returns whether any did."""
        if order.store_id != store.pk:
            owner = SellerAccount.objects.get(pk=order.store_id).platform_store_id
            raise RowProblem("store_id", f"order {order.order_number} is of store {owner}")
        _same_amount(row, order.amount, order.original_amount, order.original_currency)
        changed = apply_details(
            order,
            buyer_name=row.buyer_name,
            buyer_country=row.buyer_country,
            product_total=_usd(row.product_total, "product_total"),
            shipping_cost=_usd(row.shipping_cost, "shipping_cost"),
            product_info=row.product_info,
            protected=row.protected,
            parcels=row.parcels,
        )
        if changed:
            db.save(order, [*changed, "updated_at"])
        return bool(changed)

    def way(self, current: str, row: OrderRow) -> Path | object:
        """:meth:`path`, :data:`KEPT` for a known order further on than a word without a twin
        says, else a :class:`RowProblem`."""
        path = self.path(current, row)
        if path is not None:
            return path
        if row.nearest and transition_paths(Order, row.state, current, names=ORDER_STEPS):
            return KEPT
        hint = ": a dispute ends with its resolution" if current == "disputed" else ""
        raise RowProblem("status", f"cannot move from {current} to {row.state}{hint}")

    def path(self, current: str, row: OrderRow) -> Path | None:
        """The way from ``current`` to the row's state that shows the most of the moves the
        row shows (then the shortest); ``None`` when the state machine has none."""
        shown = frozenset(name for name, step in ORDER_STEPS.items() if step.shown(row))
        key = (current, row.state, shown)
        if key not in self.paths:
            paths = transition_paths(Order, current, row.state, names=ORDER_STEPS)
            self.paths[key] = max(
                paths, key=lambda path: (sum(n in shown for n, _ in path), -len(path)), default=None
            )
        return self.paths[key]


# --- disputes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeStep:
    # whether the row shows this move, given the dispute as it stands
    shown: Callable[[Dispute, DisputeRow], bool]
    run: Callable[[Dispute, DisputeRow, Any], Dispute]


# Not over yet on the platform: what "processing" may stand for.
IN_PROGRESS = frozenset(
    {
        DisputeState.OPEN,
        DisputeState.RESPONDED,
        DisputeState.ARBITRATION,
        DisputeState.AWAITING_RETURN,
    }
)


def _in_usd(row: DisputeRow, order: Order) -> DisputeRow:
    """A dispute on an order the platform priced in CNY gives its refunds in CNY: in USD at
    the order's own rate, as its amount was (a full refund is then exactly the order's)."""
    if row.requested_refund.currency == Currency.USD:
        return row
    if order.original_currency != row.requested_refund.currency:
        raise RowProblem(
            "requested_refund",
            f"{row.requested_refund}: order {order.order_number} was priced in USD",
        )
    final = row.final_refund
    if final is not None and final.currency != row.requested_refund.currency:
        raise RowProblem("final_refund", f"{final}: not in the requested refund's currency")
    rate = order.conversion_rate
    return replace(
        row,
        requested_refund=_to_usd(row.requested_refund, rate, "requested_refund"),
        final_refund=_to_usd(row.final_refund, rate, "final_refund"),
    )


def _final(row: DisputeRow) -> Decimal | None:
    return _usd(row.final_refund, "final_refund")


def _returned(row: DisputeRow) -> bool:
    """The row says the goods are on their way back: the resolution requires a return."""
    return row.state == DisputeState.AWAITING_RETURN


def _settled_by_people(row: DisputeRow) -> bool:
    """Resolved by the seller, the buyer or arbitration (not at the deadline), or settled with
    a return still to come: either way a resolution with the row's Final Refund."""
    return (row.state == DisputeState.RESOLVED and not row.resolved_automatically) or _returned(row)


def _proposal_of(dispute: Dispute, row: DisputeRow) -> Decimal | None:
    """What the seller proposed (or, for an open dispute settled below the requested refund,
    will propose: the final refund)."""
    if dispute.status == Dispute.Status.RESPONDED:
        return dispute.proposed_refund
    final = _final(row)
    return final if final is not None and final < dispute.requested_refund else None


def _respond(dispute: Dispute, row: DisputeRow, actor: Any) -> Dispute:
    proposal = _proposal_of(dispute, row) if _settled_by_people(row) else None
    return disputes.dispute_respond(
        dispute_id=dispute.pk,
        actor=actor,
        action="propose" if proposal else "reject",
        amount=proposal,
        at=row.opened_at,
    )


def _auto_resolve(dispute: Dispute, row: DisputeRow, actor: Any) -> Dispute:
    disputes.apply_auto_resolve(dispute, at=dispute.respond_by)  # the platform's own deadline
    return dispute


DISPUTE_STEPS: dict[str, DisputeStep] = {
    "respond": DisputeStep(
        lambda d, row: (
            row.state in (DisputeState.RESPONDED, DisputeState.ARBITRATION)
            or (_settled_by_people(row) and _proposal_of(d, row) is not None)
        ),
        _respond,
    ),
    "accept": DisputeStep(
        lambda d, row: _settled_by_people(row) and _final(row) == d.requested_refund,
        lambda d, row, actor: disputes.dispute_respond(
            dispute_id=d.pk,
            actor=actor,
            action="accept",
            return_required=_returned(row),
            # The export says a return is under way, not who asked for it: the platform's
            # return keeps the dispute within the protection.
            seller_return=False,
            at=row.opened_at,
        ),
    ),
    "accept_proposal": DisputeStep(
        lambda d, row: _settled_by_people(row) and _final(row) == _proposal_of(d, row),
        lambda d, row, actor: disputes.dispute_accept_proposal(
            dispute_id=d.pk, actor=actor, return_required=_returned(row), at=row.opened_at
        ),
    ),
    "escalate": DisputeStep(
        lambda d, row: (
            row.state == DisputeState.ARBITRATION
            or (_settled_by_people(row) and _final(row) != _proposal_of(d, row))
        ),
        lambda d, row, actor: disputes.dispute_escalate(
            dispute_id=d.pk, actor=actor, at=row.opened_at
        ),
    ),
    "decide": DisputeStep(
        lambda d, row: _settled_by_people(row),
        lambda d, row, actor: disputes.dispute_resolve(
            dispute_id=d.pk,
            actor=actor,
            amount=_final(row),
            fault=Fault.NONE,
            return_required=_returned(row),
            at=row.opened_at,
        ),
    ),
    "auto_resolve": DisputeStep(
        lambda d, row: row.state == DisputeState.RESOLVED and row.resolved_automatically,
        _auto_resolve,
    ),
    "withdraw": DisputeStep(
        lambda d, row: row.state == DisputeState.CANCELLED,
        lambda d, row, actor: disputes.dispute_withdraw(
            dispute_id=d.pk, actor=actor, at=row.opened_at
        ),
    ),
    "confirm_return": DisputeStep(
        lambda d, row: True,
        lambda d, row, actor: disputes.dispute_confirm_return(
            dispute_id=d.pk, actor=actor, at=row.opened_at
        ),
    ),
}


class DisputesApplier(Applier):
    SERVICE_FIELDS = {
        "reason": "reason",
        "requestedRefund": "requested_refund",
        "amount": "final_refund",
        "platformDisputeId": "dispute_id",
        "id": "status",
    }

    def apply_row(self, row: DisputeRow) -> None:
        order = Order.objects.filter(order_number=row.order_number).first()
        if order is None:
            raise RowProblem(
                "order_number",
                f"order {row.order_number} is not in the back-office: import its orders first",
            )
        row = _in_usd(row, order)
        requested, final = _usd(row.requested_refund, "requested_refund"), _final(row)
        if final is not None and final > requested:
            raise RowProblem("final_refund", f"more than the requested refund USD {requested}")
        dispute = (
            Dispute.objects.select_for_update().filter(platform_dispute_id=row.dispute_id).first()
        )
        if dispute is None:
            source = "new"
            dispute = disputes.dispute_open(
                order_id=order.pk,
                actor=self.actor,
                reason=row.reason,
                requested_refund=requested,
                description=row.reason_text if row.reason == DisputeReason.OTHER else "",
                platform_dispute_id=row.dispute_id,
                at=row.opened_at,
            )
        elif dispute.order_id != order.pk:
            raise RowProblem(
                "order_number", f"dispute {row.dispute_id} is on another order ({dispute.order})"
            )
        elif dispute.requested_refund != requested:
            raise RowProblem(
                "requested_refund",
                f"dispute {row.dispute_id} was opened for USD {dispute.requested_refund}: "
                "a dispute's requested refund does not change",
            )
        else:
            source = dispute.status
        row, warning = self.interpret(dispute, row, new=source == "new")
        if _returned(row) and final is None and dispute.status != DisputeState.AWAITING_RETURN:
            # the resolution fixes the refund the return will pay: the file must say which
            raise RowProblem(
                "final_refund",
                "dispute awaiting return without final refund: the refund agreed "
                "for the returned goods is needed to settle it",
            )
        dispute = self.walk(dispute, row)
        if final is not None and dispute.final_refund not in (None, final):
            # An automatic resolution refunds what was requested; a resolved dispute keeps its
            # refund: the file and the ledger must not tell two stories.
            done = "agreed" if dispute.status == DisputeState.AWAITING_RETURN else "resolved"
            raise RowProblem(
                "final_refund",
                f"dispute {row.dispute_id} was {done} with a refund of "
                f"USD {dispute.final_refund}, not USD {final}",
            )
        if warning:
            column = self.context.labels.get("status", "status")
            self.context.report.add_warning(
                RowError(row.line, column, f"{row.status_text}: {warning}")
            )
        if source == "new" or source != dispute.status:
            self.context.mark(dispute, row.line)
        self.context.count(source, dispute.status, changed=False)

    def interpret(
        self, dispute: Dispute, row: DisputeRow, *, new: bool
    ) -> tuple[DisputeRow, str | None]:
        """The row with the state it stands for here, and what the report should say where the
        platform's status does not name one of ours exactly."""
        if row.in_progress:
            if new:
                return row, "in progress on the platform, opened as open"
            if dispute.status in IN_PROGRESS:
                return replace(row, state=dispute.status), (
                    f"in progress on the platform, kept as {dispute.status}"
                )
            raise RowProblem(
                "status", f"cannot move from {dispute.status} to in progress ({row.status_text})"
            )
        if row.ended and row.state == DisputeState.CANCELLED:
            return row, "ended on the platform without a final refund, taken as withdrawn"
        return row, None

    def walk(self, dispute: Dispute, row: DisputeRow) -> Dispute:
        """Move the dispute to the row's status, one service at a time: a resolution may stop
        at awaiting_return (a return is due) on the way."""
        start = dispute.status
        # The state machine's graph asks the resolutions' target without their arguments, so
        # it shows them reaching resolved only; with return_required (``_returned``) the same
        # steps stop at awaiting_return: find the way to resolved, and stop there.
        goal = DisputeState.RESOLVED if _returned(row) else row.state
        for _ in range(len(DISPUTE_STEPS)):
            if dispute.status == row.state:
                return dispute
            paths = transition_paths(Dispute, dispute.status, goal, names=DISPUTE_STEPS)
            ways = [
                path
                for path in paths
                if all(DISPUTE_STEPS[name].shown(dispute, row) for name, _ in path)
            ]
            if not ways:
                break
            name, _ = min(ways, key=len)[0]
            dispute = DISPUTE_STEPS[name].run(dispute, row, self.actor)
        how = " automatically" if row.resolved_automatically else ""
        raise RowProblem("status", f"cannot move from {start} to {row.state}{how}")


# --- promotion statements -----------------------------------------------------------------------


class PromotionApplier(Applier):
    SERVICE_FIELDS = {"amount": "amount", "reference": "reference", "note": "reference"}
    DEFAULT_FIELD = "type"

    def apply_row(self, row: PromotionRow) -> None:
        store = SellerAccount.objects.filter(platform_store_id=row.store_id).first()
        if store is None:
            raise RowProblem("store_id", f"store {row.store_id} is not in the back-office")
        if row.amount.currency != Currency.CNY:
            raise RowProblem("amount", f"{row.amount}: the promotion wallet is in CNY")
        known = PromotionMovement.objects.filter(reference=row.reference).exists()
        at = datetime.combine(row.date, time(0), tzinfo=self.context.tz)
        common = {"store_id": store.pk, "actor": self.actor, "reference": row.reference, "at": at}
        amount = row.amount.amount
        if row.type == PromotionType.TOP_UP:
            method = PromotionMovement.Method.BANK_TRANSFER  # a statement does not say how
            movement = wallet.promotion_top_up(amount=amount, method=method, **common)
        elif row.type == PromotionType.CHARGE:
            movement = wallet.promotion_charge(amount=amount, **common)
        else:
            note = f"adjustment on the platform statement ({row.reference})"
            movement = wallet.promotion_adjust(amount=amount, note=note, **common)
        if not known:
            self.context.mark(movement, row.line)
        self.context.count(None if known else "new", changed=False)


# --- exchange rates ----------------------------------------------------------------------------


class ExchangeRatesApplier(Applier):
    SERVICE_FIELDS = {"rate": "rate", "currency": "currency"}
    DEFAULT_FIELD = "rate"

    def apply_row(self, row: ExchangeRateRow) -> None:
        known = ExchangeRate.objects.filter(date=row.date, currency=row.currency).first()
        if known is not None and known.rate_to_cny == row.rate:
            self.context.count(None, changed=False)
            return
        rate = exchange_rate_set(
            actor=self.actor, day=row.date, rate=row.rate, currency=row.currency
        )
        self.context.mark(rate, row.line)
        self.context.count("new" if known is None else None, changed=True)


APPLIERS: dict[str, type[Applier]] = {
    "orders": OrdersApplier,
    "disputes": DisputesApplier,
    "promotion": PromotionApplier,
    "exchange_rates": ExchangeRatesApplier,
}
