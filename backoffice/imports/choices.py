"""The platform's words for statuses and kinds, mapped to the back-office's values.

Each parser takes a cell and returns the back-office value, ``None`` for an empty cell, or
raises :class:`CellError`. Matching ignores case, spacing and full-width forms. The enums carry
the same values as the models' ``TextChoices`` (a test holds them together) without importing the
models: this layer reads files and nothing else.
"""

import unicodedata
from enum import StrEnum
from typing import Final, Literal, NamedTuple, TypeVar

from .errors import CellError
from .reading import Cell
from .values import cell_text


class OrderState(StrEnum):  # orders.models.Order.Status
    UNPAID = "unpaid"
    PAID = "paid"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class EndReason(StrEnum):  # orders.models.EndReason
    BUYER_ACCEPT_GOODS = "buyer_accept_goods"
    REFUNDED = "refunded"
    BUYER_CANCEL = "buyer_cancel"
    PAY_TIMEOUT = "pay_timeout"
    OUT_OF_STOCK = "out_of_stock"


class PaymentMethod(StrEnum):  # orders.models.PaymentMethod
    CREDIT_CARD = "credit_card"
    DEBIT_CARD = "debit_card"
    TT = "tt"
    MONEYBOOKERS = "moneybookers"
    ALIPAY = "alipay"


class DisputeState(StrEnum):  # disputes.models.Dispute.Status
    OPEN = "open"
    RESPONDED = "responded"
    ARBITRATION = "arbitration"
    AWAITING_RETURN = "awaiting_return"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class DisputeReason(StrEnum):  # disputes.models.Reason
    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    OTHER = "other"


class PromotionType(StrEnum):
    CHARGE = "charge"
    TOP_UP = "top_up"
    ADJUSTMENT = "adjustment"


T = TypeVar("T")

FINISHED: Final = "finished"
"""The platform's "Finished": completed, refunded or cancelled, as the End Reason says."""


def key(text: str) -> str:
    """The form labels are compared in: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _table(entries: dict[T, tuple[str, ...]]) -> dict[str, T]:
    return {key(label): value for value, labels in entries.items() for label in labels}


_ORDER_STATUSES: dict[str, OrderState | Literal["finished"]] = _table(
    {
        OrderState.UNPAID: ("Awaiting payment", "等待买家付款", "PLACE_ORDER_SUCCESS"),
        OrderState.PAID: (
            "Awaiting shipment",
            "等待您发货",
            "WAIT_SELLER_SEND_GOODS",
            "Risk control",
            "订单处于风控24小时中",
            "RISK_CONTROL",
        ),
        OrderState.SHIPPED: ("Awaiting delivery", "等待买家收货", "WAIT_BUYER_ACCEPT_GOODS"),
        OrderState.DISPUTED: ("In dispute", "纠纷中", "IN_ISSUE"),
        FINISHED: ("Finished", "已结束", "FINISH"),
    }
)
FINISHED_STATES: dict[EndReason, OrderState] = {
    EndReason.BUYER_ACCEPT_GOODS: OrderState.COMPLETED,
    EndReason.REFUNDED: OrderState.REFUNDED,
    EndReason.BUYER_CANCEL: OrderState.CANCELLED,
    EndReason.PAY_TIMEOUT: OrderState.CANCELLED,
    EndReason.OUT_OF_STOCK: OrderState.CANCELLED,
}
_END_REASONS = _table({reason: (reason.value,) for reason in EndReason})
_PAYMENT_METHODS = _table(
    {
        PaymentMethod.CREDIT_CARD: ("Credit Card", "credit_card", "信用卡"),
        PaymentMethod.DEBIT_CARD: ("Debit Card", "debit_card", "借记卡"),
        PaymentMethod.TT: ("T/T", "TT", "电汇"),
        PaymentMethod.MONEYBOOKERS: ("Moneybookers",),
        PaymentMethod.ALIPAY: ("Alipay", "支付宝"),
    }
)
_BOOLEANS = _table({True: ("Y", "Yes", "是", "TRUE", "1"), False: ("N", "No", "否", "FALSE", "0")})


class DisputeStatus(NamedTuple):
    state: DisputeState
    automatic: bool = False  # resolved because the seller did not respond in time
    # "processing" (the newer API): somewhere between open and resolved. A new dispute is
    # opened; a known one that is not over stays where it is.
    in_progress: bool = False
    # 已结束 ("ended"): resolved when the row gives a Final Refund, else withdrawn (cancelled)
    ended: bool = False


# SPEC.md's codes; the real platform's return and arbitration codes; the newer API's lower-case
# ones (matching ignores case, so "finish" and "canceled_issue" are SPEC's); Chinese labels as
# the platform's open API describes its codes (IssueAPIIssueDTO.issueStatus), and those seen in
# its Chinese exports.
_DISPUTE_STATUSES: dict[str, DisputeStatus] = _table(
    {
        DisputeStatus(DisputeState.OPEN): ("WAIT_SELLER_CONFIRM_REFUND", "买家提起纠纷"),
        DisputeStatus(DisputeState.RESPONDED): ("SELLER_REFUSE_REFUND", "卖家拒绝纠纷"),
        DisputeStatus(DisputeState.ARBITRATION): ("ARBITRATING", "仲裁中", "平台介入处理中"),
        DisputeStatus(DisputeState.AWAITING_RETURN): (
            "WAIT_BUYER_SEND_GOODS",
            "WAIT_SELLER_RECEIVE_GOODS",
            "等待买家发货",
            "等待买家退货",
            "买家发货,等待卖家收货",
        ),
        DisputeStatus(DisputeState.RESOLVED): ("ACCEPTISSUE", "卖家接受纠纷", "FINISH"),
        DisputeStatus(DisputeState.RESOLVED, automatic=True): (
            "SELLER_RESPONSE_ISSUE_TIMEOUT",
            "卖家响应纠纷超时",
        ),
        DisputeStatus(DisputeState.CANCELLED): ("CANCELED_ISSUE",),
        DisputeStatus(DisputeState.OPEN, in_progress=True): ("processing",),
        DisputeStatus(DisputeState.RESOLVED, ended=True): ("已结束",),
    }
)
_DISPUTE_REASONS = _table(
    {
        DisputeReason.NOT_RECEIVED: (
            "not_received",
            "Not received",
            "Item not received",
            "Package not received",
            "未收到货",
            "未收到货物",
        ),
        DisputeReason.NOT_AS_DESCRIBED: (
            "not_as_described",
            "Not as described",
            "Item not as described",
            "货不对版",
            "与描述不符",
        ),
        DisputeReason.DAMAGED: ("damaged", "Item damaged", "破损", "货物破损", "商品破损"),
        DisputeReason.WRONG_ITEM: ("wrong_item", "Wrong item", "Wrong item sent", "发错货"),
        DisputeReason.OTHER: ("other", "其他"),
    }
)
_PROMOTION_TYPES = _table(
    {
        PromotionType.CHARGE: ("charge", "扣费"),
        PromotionType.TOP_UP: ("top-up", "top up", "topup", "top_up", "充值"),
        PromotionType.ADJUSTMENT: ("adjustment", "调整"),
    }
)


def _lookup(value: Cell, table: dict[str, T], error: str) -> T | None:
    text = cell_text(value)
    if text is None:
        return None
    try:
        return table[key(text)]
    except KeyError:
        raise CellError(error) from None


def parse_order_status(value: Cell) -> OrderState | Literal["finished"] | None:
    """English label, Chinese label or platform code -> state, or :data:`FINISHED`."""
    return _lookup(value, _ORDER_STATUSES, "unknown status")


def parse_end_reason(value: Cell) -> EndReason | None:
    return _lookup(value, _END_REASONS, "unknown end reason")


def parse_payment_method(value: Cell) -> PaymentMethod | None:
    return _lookup(value, _PAYMENT_METHODS, "unknown payment method")


def parse_bool(value: Cell) -> bool | None:
    """Y/N, Yes/No, 是/否 (and Excel's TRUE/FALSE)."""
    if isinstance(value, bool):
        return value
    return _lookup(value, _BOOLEANS, "expected Y or N")


def parse_dispute_status(value: Cell) -> DisputeStatus | None:
    """A status code or label -> :class:`DisputeStatus`; an unknown one is an error that
    repeats it (``unknown status 'FOO'``)."""
    text = cell_text(value)
    if text is None:
        return None
    try:
        return _DISPUTE_STATUSES[key(text)]
    except KeyError:
        raise CellError(f"unknown status {text!r}") from None


def parse_dispute_reason(value: Cell) -> tuple[DisputeReason, str] | None:
    """(reason, the text as written). Reason is free text on the platform: the known ones map,
    anything else is ``other`` and the text is kept so nothing the buyer said is lost."""
    text = cell_text(value)
    if text is None:
        return None
    return _DISPUTE_REASONS.get(key(text).rstrip("."), DisputeReason.OTHER), text


def parse_promotion_type(value: Cell) -> PromotionType | None:
    return _lookup(value, _PROMOTION_TYPES, "unknown type (charge, top-up or adjustment)")
