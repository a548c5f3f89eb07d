"""One row of an export -> a typed row, or that row's errors.

Each ``parse_<kind>_row`` takes the row's cells by field (``HeaderMap.cells``), parses every
cell, then applies the cross-field rules of SPEC.md. It returns ``(row, [])`` or
``(None, errors)``: every error of the row, not just the first, each at the column as the file
names it (``labels``; SPEC's English header when the file lacks the column).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from backoffice.money import Currency, Money

from .choices import (
    FINISHED,
    FINISHED_STATES,
    DisputeReason,
    DisputeState,
    EndReason,
    OrderState,
    PaymentMethod,
    PromotionType,
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
    parse_carrier_tracking,
    parse_currency,
    parse_date,
    parse_free_text,
    parse_money,
    parse_order_number,
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
    state: OrderState  # Finished already resolved by End Reason
    ordered_at: datetime
    amount: Money
    buyer_name: str | None
    buyer_country: str | None  # as given: ISO code or English name
    paid_at: datetime | None
    payment_method: PaymentMethod | None
    product_total: Money | None
    shipping_cost: Money | None
    product_info: str | None
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    confirmed_at: datetime | None
    protected: bool | None
    end_reason: EndReason | None


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
) -> tuple[OrderRow | None, list[RowError]]:
    r = _RowReader(Kind.ORDERS, cells, line, labels)
    order_number = r.get("order_number", parse_order_number, required=True)
    store_id = r.get("store_id", parse_platform_id, required=True, what="store id")
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
    product_info = r.get("product_info", parse_free_text)
    shipment = r.get("carrier_tracking", parse_carrier_tracking)
    shipped_at = r.get("shipped_at", parse_timestamp, tz=tz)
    confirmed_at = r.get("confirmed_at", parse_timestamp, tz=tz)
    protected = r.get("protected", parse_bool)
    end_reason = r.get("end_reason", parse_end_reason)

    state: OrderState | None = None
    if status == FINISHED:
        if end_reason is not None:
            state = FINISHED_STATES[end_reason]
        elif r.absent("end_reason"):
            r.error("end_reason", "finished order without end reason")
    elif status is not None:
        state = status
    if state is not None:
        _require_for_state(r, state)

    if r.errors:
        return None, r.errors
    carrier, tracking_number = shipment or (None, None)
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
        product_info=product_info,
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=shipped_at,
        confirmed_at=confirmed_at,
        protected=protected,
        end_reason=end_reason,
    ), []


def _require_for_state(r: _RowReader, state: OrderState) -> None:
    """One error for everything the state needs and the row lacks, at the first such column:
    ``shipped order without payment/shipping time and tracking``."""
    needed = (["paid_at"] if state in NEEDS_PAYMENT else []) + (
        ["shipped_at", "carrier_tracking"] if state in NEEDS_SHIPMENT else []
    )
    missing = [field for field in needed if r.absent(field)]
    if not missing:
        return
    words = {"paid_at": "payment", "shipped_at": "shipping"}
    times = [words[field] for field in missing if field in words]
    parts = ([f"{'/'.join(times)} time"] if times else []) + (
        ["tracking"] if "carrier_tracking" in missing else []
    )
    r.error(missing[0], f"{state} order without {' and '.join(parts)}")


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
        r.error("final_refund", "resolved dispute without final refund")

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
) -> tuple[PromotionRow | None, list[RowError]]:
    del tz  # statement lines carry dates, not moments
    r = _RowReader(Kind.PROMOTION, cells, line, labels)
    store_id = r.get("store_id", parse_platform_id, required=True, what="store id")
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
        r.error("currency", "only USD rates: the rate is CNY for one unit of the currency")
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
