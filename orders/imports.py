"""The orders export's applier (``backoffice.imports.appliers``): how an order row lands.

A new order is checked by ``order_build`` (the checks of ``order_create``) and walked from
unpaid to the row's state with the ``apply_*`` transitions, at the row's times; a known order is
walked from its state to the row's. The way is found in the state machine's own declarations
(``backoffice.fsm.transition_paths``); where several lead there, the one whose moves the row
shows (a payment time, a shipment, ...) is taken. No way there is a row error. Moves whose time
the export does not give (a cancellation, an order going into dispute, a confirmation without a
Confirmed Time) happen at the latest time the row gives. An unknown store is created through
``seller_account_create``.

The applier runs inside the batch machinery set up by the runner (rows locked up front, ledger
and audit rows in bulk) and stops applying at the first row a service refuses (the rest is only
parsed, to report every error in a cell): the file is rejected anyway, and the rows after it may
depend on it.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from accounts.models import SellerAccount
from accounts.services import seller_account_create
from backoffice import db
from backoffice.fsm import check_transition, transition_paths
from backoffice.imports.appliers import (
    REFUSED,
    Applier,
    Context,
    RowProblem,
    register,
    to_usd,
    usd,
)
from backoffice.imports.choices import EndReason, OrderState
from backoffice.imports.errors import RowError
from backoffice.imports.headers import Kind
from backoffice.imports.parse import RowResult
from backoffice.imports.rows import OrderRow
from backoffice.money import Currency, Money
from payouts.models import ExchangeRate

from .models import Order, OrderLine
from .services import (
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

MONEY_FIELDS = ("amount", "product_total", "shipping_cost")


def _day(row: OrderRow, tz: tzinfo) -> date:
    """The day whose exchange rate converts an order: its order time's, as the file writes it."""
    return row.ordered_at.astimezone(tz).date()


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


@register(Kind.ORDERS)
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
        usd = {field: to_usd(getattr(row, field), rate, field) for field in MONEY_FIELDS}
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
            amount=usd(row.amount, "amount"),
            buyer_name=row.buyer_name or "",
            buyer_country=row.buyer_country or "",
            placed_at=row.ordered_at,
            product_total=usd(row.product_total, "product_total"),
            shipping_cost=usd(row.shipping_cost, "shipping_cost"),
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
        if not row.product_codes:
            return
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
            product_total=usd(row.product_total, "product_total"),
            shipping_cost=usd(row.shipping_cost, "shipping_cost"),
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
