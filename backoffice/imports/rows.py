"""One row of an export -> a typed row, or that row's errors.

Each ``parse_<kind>_row`` takes the row's cells by field (``HeaderMap.cells``), parses every
cell, then applies the cross-field rules of SPEC.md. It returns ``(row, [])`` or
``(None, errors)``: every error of the row, not just the first, each at the column as the file
names it (``labels``; SPEC's English header when the file lacks the column).
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from backoffice.money import Currency, Money

from .choices import (
    AS_SHOWN,
    CLOSED,
    FINISHED,
    DisputeReason,
    DisputeState,
    EndReason,
    OrderState,
    PaymentMethod,
    PromotionType,
    StatusWord,
    parse_bool,
    parse_dispute_reason,
    parse_dispute_status,
    parse_end_reason,
    parse_order_status,
    parse_payment_method,
    parse_promotion_type,
)
from .errors import CellError, RowError
from .headers import COLUMNS, Kind
from .reading import Cell
from .values import (
    PLATFORM_TZ,
    cell_text,
    parse_currency,
    parse_date,
    parse_free_text,
    parse_money,
    parse_order_number,
    parse_parcels,
    parse_platform_id,
    parse_rate,
    parse_reference,
    parse_text,
    parse_timestamp,
)

T = TypeVar("T")

# SPEC.md: Payment Time is required for these states, Carrier:Tracking and Shipping Time for
# shipped and later. Disputed is not "later" here: a dispute may open on a paid order that never
# shipped (Order.open_dispute accepts paid), and a refund may close one (paid -> refunded).
NEEDS_PAYMENT = frozenset(
    {OrderState.PAID, OrderState.SHIPPED, OrderState.DISPUTED, OrderState.COMPLETED}
    | {OrderState.REFUNDED}
)
NEEDS_SHIPMENT = frozenset({OrderState.SHIPPED, OrderState.COMPLETED})


@dataclass(frozen=True, slots=True)
class OrderRow:
    line: int
    order_number: str
    store_id: str
    store_name: str | None
    state: OrderState  # the platform's word resolved (End Reason, payment, parcels)
    ordered_at: datetime
    amount: Money  # USD once the applier converted a CNY row (``original`` keeps the CNY)
    buyer_name: str | None
    buyer_country: str | None  # as given: ISO code or English name
    paid_at: datetime | None
    payment_method: PaymentMethod | None
    product_total: Money | None
    shipping_cost: Money | None
    product_info: str | None
    parcels: tuple[tuple[str, str], ...]  # (carrier, tracking number) each
    shipped_at: datetime | None
    confirmed_at: datetime | None
    protected: bool | None
    end_reason: EndReason | None
    end_reason_code: str | None = None  # the platform's end reason as written
    warnings: tuple[RowError, ...] = ()  # a state taken as the nearest, a time taken for another
    nearest: bool = False  # the platform's word has no twin here: ``state`` is the nearest
    original: Money | None = None  # the amount as the file gives it, when converted to USD
    rate: Decimal | None = None  # CNY for one USD, when converted
    product_codes: tuple[str, ...] = ()  # 商品编码: one order line each (a repeat: one more)

    @property
    def currency(self) -> str:
        return self.amount.currency


@dataclass(frozen=True, slots=True)
class DisputeRow:
    line: int
    dispute_id: str
    order_number: str
    state: DisputeState  # a new dispute's, for "processing" (see ``in_progress``)
    resolved_automatically: bool  # SELLER_RESPONSE_ISSUE_TIMEOUT
    reason: DisputeReason
    reason_text: str  # the Reason cell as written (the only record of an "other" reason)
    opened_at: datetime
    requested_refund: Money
    final_refund: Money | None
    status_text: str = ""  # the Dispute Status cell as written, for the report's warnings
    in_progress: bool = False  # "processing": a known dispute that is not over stays put
    ended: bool = False  # 已结束: resolved with its Final Refund, else cancelled (withdrawn)


@dataclass(frozen=True, slots=True)
class PromotionRow:
    line: int
    store_id: str
    date: date
    type: PromotionType
    amount: Money  # as written: charges and top-ups >= 0, an adjustment may be negative
    reference: str


@dataclass(frozen=True, slots=True)
class ExchangeRateRow:
    line: int
    date: date
    currency: str
    rate: Decimal  # CNY for one unit of ``currency``


ParsedRow = OrderRow | DisputeRow | PromotionRow | ExchangeRateRow


class _RowReader:
    """Parses the cells of one row, turning each :class:`CellError` into a :class:`RowError`."""

    def __init__(
        self, kind: Kind, cells: Mapping[str, Cell], line: int, labels: Mapping[str, str] | None
    ) -> None:
        self.kind = kind
        self.cells = cells
        self.line = line
        self.given_labels = labels
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.failed: set[str] = set()
        self.values: dict[str, object] = {}

    def get(
        self,
        field: str,
        parse: Callable[..., T | None],
        *,
        required: bool = False,
        **options: Any,
    ) -> T | None:
        try:
            value = parse(self.cells.get(field), **options)
        except CellError as error:
            self.error(field, error.message)
            return None
        if value is None and required:
            self.error(field, "required")
        self.values[field] = value
        return value

    @property
    def labels(self) -> dict[str, str]:
        """Each field's column as the file names it (SPEC's English header when it lacks it);
        only needed for an error, so not built for every row."""
        return {c.field: c.english for c in COLUMNS[self.kind]} | dict(self.given_labels or {})

    def error(self, field: str, message: str) -> None:
        self.errors.append(RowError(self.line, self.labels.get(field, field), message))
        self.failed.add(field)

    def warn(self, field: str, message: str) -> None:
        self.warnings.append(RowError(self.line, self.labels.get(field, field), message))

    def absent(self, field: str) -> bool:
        """Empty (not given), as opposed to given but wrong (already an error)."""
        return field not in self.failed and self.values.get(field) is None


def parse_orders_row(
    cells: Mapping[str, Cell],
    *,
    line: int,
    tz: tzinfo = PLATFORM_TZ,
    labels: Mapping[str, str] | None = None,
    currency: str = Currency.USD,
    store: str | None = None,
    columns: frozenset[str] | None = None,
) -> tuple[OrderRow | None, list[RowError]]:
    """``currency``: of amounts that name none. ``store``: the store the import is for (a row
    naming another is an error; a file without a store column is all of it). ``columns``: the
    fields the file has (``None``: all)."""
    r = _RowReader(Kind.ORDERS, cells, line, labels)
    order_number = r.get("order_number", parse_order_number, required=True)
    store_id = _store_of(r, store)
    store_name = r.get("store_name", parse_text)
    status = r.get("status", parse_order_status, required=True)
    buyer_name = r.get("buyer_name", parse_text)
    buyer_country = r.get("buyer_country", parse_text)
    ordered_at = r.get("ordered_at", parse_timestamp, required=True, tz=tz)
    paid_at = r.get("paid_at", parse_timestamp, tz=tz)
    payment_method = r.get("payment_method", parse_payment_method)
    product_total = r.get("product_total", parse_money, default_currency=currency)
    shipping_cost = r.get("shipping_cost", parse_money, default_currency=currency)
    amount = r.get("amount", parse_money, required=True, default_currency=currency)
    product_info = _joined(
        r.get("goods_info", parse_free_text), r.get("product_info", parse_free_text)
    )
    product_code = r.get("product_code", parse_free_text)
    parcels = r.get("carrier_tracking", parse_parcels) or ()
    shipped_at = r.get("shipped_at", parse_timestamp, tz=tz)
    confirmed_at = r.get("confirmed_at", parse_timestamp, tz=tz)
    protected = r.get("protected", parse_bool)
    ending = r.get("end_reason", parse_end_reason)
    _one_currency(r, amount, product_total=product_total, shipping_cost=shipping_cost)
    _adds_up(r, amount, product_total, shipping_cost)

    state = _state(r, status) if status is not None else None
    if state is not None:
        _require_for_state(r, state)
        if shipped_at is None and parcels and not r.failed & {"shipped_at", "carrier_tracking"}:
            shipped_at = _shipped_when(r, paid_at, confirmed_at, columns)

    if r.errors:
        return None, r.errors
    return OrderRow(
        line=line,
        order_number=order_number,
        store_id=store_id,
        store_name=store_name,
        state=state,
        ordered_at=ordered_at,
        amount=amount,
        buyer_name=buyer_name,
        buyer_country=buyer_country,
        paid_at=paid_at,
        payment_method=payment_method,
        product_total=product_total,
        shipping_cost=shipping_cost,
        # the current layout names only the code(s): kept as the product info too
        product_info=product_info or (product_code and product_code.strip()),
        product_codes=product_codes(product_code),
        parcels=parcels,
        shipped_at=shipped_at,
        confirmed_at=confirmed_at,
        protected=protected,
        end_reason=ending.reason if ending else None,
        end_reason_code=cell_text(cells.get("end_reason")) if ending else None,
        warnings=tuple(r.warnings),
        nearest=bool(status.inexact),
    ), []


# What separates the codes of a cell that names several products.
CODE_SEPARATORS = re.compile(r"[\n\r,;\uff0c\uff1b\u3001]+")


def product_codes(cell: str | None) -> tuple[str, ...]:
    """The product codes of a 商品编码 cell: one a line, or separated by commas or semicolons
    (ASCII or full-width, or 、); blanks dropped."""
    if not cell:
        return ()
    return tuple(code.strip() for code in CODE_SEPARATORS.split(cell) if code.strip())


def _joined(*texts: str | None) -> str | None:
    return "\n".join(text for text in texts if text) or None


def _store_of(r: _RowReader, store: str | None) -> str | None:
    """The row's store: its Store ID cell, or the store the import is for."""
    if store is None:
        return r.get("store_id", parse_platform_id, required=True, what="store id")
    given = r.get("store_id", parse_platform_id, what="store id")
    if given is not None and given != store:
        r.error(
            "store_id",
            _("store %(given)s: this file is imported for store %(store)s")
            % {"given": given, "store": store},
        )
    return store


def _one_currency(r: _RowReader, amount: Money | None, **others: Money | None) -> None:
    """A row's amounts are all in one currency (the platform writes them in the store's)."""
    if amount is None:
        return
    for field, money in others.items():
        if money is not None and money.currency != amount.currency:
            r.error(
                field,
                _("%(money)s: not in the order amount's currency (%(currency)s)")
                % {"money": money, "currency": amount.currency},
            )


def _adds_up(
    r: _RowReader, amount: Money | None, product_total: Money | None, shipping_cost: Money | None
) -> None:
    """The amount is the product total plus shipping when the row gives both, compared as the
    file writes them (before a CNY row is converted, which would round each part apart)."""
    if amount is None or product_total is None or shipping_cost is None:
        return
    if len({amount.currency, product_total.currency, shipping_cost.currency}) > 1:
        return  # _one_currency said so
    parts = product_total.amount + shipping_cost.amount
    if parts != amount.amount:
        r.error(
            "amount",
            _("%(amount)s is not the product total plus shipping (%(parts)s)")
            % {"amount": amount, "parts": Money(parts, amount.currency)},
        )


def _state(r: _RowReader, status: StatusWord) -> OrderState | None:
    """The back-office state of the platform's word: Finished by its End Reason (or, without
    one, by a confirmation or the lack of a payment), Closed by whether it was paid, a state
    without a twin as the row's payment and parcels show (said in a warning)."""
    ending = r.values.get("end_reason")
    paid = r.values.get("paid_at") is not None
    target = status.target
    if target == FINISHED:
        if ending is not None:
            target = ending.target
        elif r.values.get("confirmed_at") is not None:
            target = OrderState.COMPLETED
        elif r.absent("paid_at"):
            target = OrderState.CANCELLED
        else:  # paid, never confirmed: refunded or confirmed by timeout, the money differs
            if r.absent("end_reason"):
                r.error("end_reason", _("finished order without end reason"))
            return None
    elif target == CLOSED and ending is not None:
        if ending.target not in (CLOSED, OrderState.CANCELLED, OrderState.REFUNDED):
            r.error(
                "end_reason",
                _("a closed order cannot end with %(reason)s") % {"reason": ending.reason},
            )
            return None
        target = ending.target
    if target == CLOSED:
        target = OrderState.REFUNDED if paid else OrderState.CANCELLED
    elif target == AS_SHOWN:
        shipped = bool(r.values.get("carrier_tracking"))
        target = OrderState.PAID if paid else OrderState.UNPAID
        if paid and shipped:
            target = OrderState.SHIPPED
    if status.inexact:
        word = cell_text(r.cells.get("status"))
        r.warn("status", f"{word}: " + status.inexact.format(state=target))
    return OrderState(target)


def _shipped_when(
    r: _RowReader,
    paid_at: datetime | None,
    confirmed_at: datetime | None,
    columns: frozenset[str] | None,
) -> datetime | None:
    """A shipment without its time (the seller center's export has no shipping-time column):
    the payment time, the earliest it can have left, else the confirmation time. Said per row
    when the file has the column; once per file (``parse.Export``) when it has not."""
    when, what = (paid_at, "payment") if paid_at else (confirmed_at, "confirmation")
    if when is not None and (columns is None or "shipped_at" in columns):
        r.warn("shipped_at", _("no shipping time: shipped at the %(what)s time") % {"what": what})
    return when


def _require_for_state(r: _RowReader, state: OrderState) -> None:
    """One error for everything the state needs and the row lacks, at the first such column:
    ``shipped order without payment/shipping time and tracking``. A shipping time alone may be
    missing (:func:`_shipped_when` takes another)."""
    needed = (["paid_at"] if state in NEEDS_PAYMENT else []) + (
        ["shipped_at", "carrier_tracking"] if state in NEEDS_SHIPMENT else []
    )
    missing = [field for field in needed if r.absent(field)]
    if not missing or missing == ["shipped_at"]:
        return
    words = {"paid_at": "payment", "shipped_at": "shipping"}
    times = [words[field] for field in missing if field in words]
    parts = ([f"{'/'.join(times)} time"] if times else []) + (
        ["tracking"] if "carrier_tracking" in missing else []
    )
    r.error(
        missing[0],
        _("%(state)s order without %(value)s") % {"state": state, "value": " and ".join(parts)},
    )


def parse_disputes_row(
    cells: Mapping[str, Cell],
    *,
    line: int,
    tz: tzinfo = PLATFORM_TZ,
    labels: Mapping[str, str] | None = None,
    currency: str = Currency.USD,
) -> tuple[DisputeRow | None, list[RowError]]:
    r = _RowReader(Kind.DISPUTES, cells, line, labels)
    dispute_id = r.get("dispute_id", parse_platform_id, required=True, what="dispute id")
    order_number = r.get("order_number", parse_order_number, required=True)
    status = r.get("status", parse_dispute_status, required=True)
    reason = r.get("reason", parse_dispute_reason, required=True)
    opened_at = r.get("opened_at", parse_timestamp, required=True, tz=tz)
    requested_refund = r.get(
        "requested_refund", parse_money, required=True, default_currency=currency
    )
    final_refund = r.get("final_refund", parse_money, default_currency=currency)
    state = status.state if status else None
    if status and status.ended and r.absent("final_refund"):
        state = DisputeState.CANCELLED  # ended without a refund: the buyer withdrew
    elif state == DisputeState.RESOLVED and r.absent("final_refund"):
        r.error("final_refund", _("resolved dispute without final refund"))

    if r.errors:
        return None, r.errors
    return DisputeRow(
        line=line,
        dispute_id=dispute_id,
        order_number=order_number,
        state=state,
        resolved_automatically=status.automatic,
        reason=reason[0],
        reason_text=reason[1],
        opened_at=opened_at,
        requested_refund=requested_refund,
        final_refund=final_refund,
        status_text=parse_text(cells.get("status")) or "",
        in_progress=status.in_progress,
        ended=status.ended,
    ), []


def parse_promotion_row(
    cells: Mapping[str, Cell],
    *,
    line: int,
    tz: tzinfo = PLATFORM_TZ,
    labels: Mapping[str, str] | None = None,
    currency: str = Currency.CNY,
    store: str | None = None,
) -> tuple[PromotionRow | None, list[RowError]]:
    del tz  # statement lines carry dates, not moments
    r = _RowReader(Kind.PROMOTION, cells, line, labels)
    store_id = _store_of(r, store)
    day = r.get("date", parse_date, required=True)
    kind = r.get("type", parse_promotion_type, required=True)
    amount = r.get(
        "amount",
        parse_money,
        required=True,
        default_currency=currency,
        # only an adjustment may take money back; with an unknown type, say only that
        allow_negative=kind in (PromotionType.ADJUSTMENT, None),
    )
    reference = r.get("reference", parse_reference, required=True)

    if r.errors:
        return None, r.errors
    return PromotionRow(
        line=line, store_id=store_id, date=day, type=kind, amount=amount, reference=reference
    ), []


def parse_exchange_rates_row(
    cells: Mapping[str, Cell],
    *,
    line: int,
    tz: tzinfo = PLATFORM_TZ,
    labels: Mapping[str, str] | None = None,
) -> tuple[ExchangeRateRow | None, list[RowError]]:
    del tz  # rates are per calendar day
    r = _RowReader(Kind.EXCHANGE_RATES, cells, line, labels)
    day = r.get("date", parse_date, required=True)
    currency = r.get("currency", parse_currency, required=True)
    if currency is not None and currency != Currency.USD:
        r.error("currency", _("only USD rates: the rate is CNY for one unit of the currency"))
    rate = r.get("rate", parse_rate, required=True)

    if r.errors:
        return None, r.errors
    return ExchangeRateRow(line=line, date=day, currency=currency, rate=rate), []


ROW_PARSERS: dict[Kind, Callable[..., tuple[ParsedRow | None, list[RowError]]]] = {
    Kind.ORDERS: parse_orders_row,
    Kind.DISPUTES: parse_disputes_row,
    Kind.PROMOTION: parse_promotion_row,
    Kind.EXCHANGE_RATES: parse_exchange_rates_row,
}
