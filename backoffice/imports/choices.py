"""The platform's words for statuses and kinds, mapped to the back-office's values.

Each parser takes a cell and returns the back-office value, ``None`` for an empty cell, or
raises :class:`CellError`. Matching ignores case, spacing and full-width forms. The enums carry
the same values as the models' ``TextChoices`` (a test holds them together) without importing the
models: this layer reads files and nothing else.
"""

import unicodedata
from enum import StrEnum
from typing import Final, Literal, NamedTuple, TypeVar

from django.utils.translation import gettext

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
    RISK_REJECTED = "risk_rejected"
    STORE_CLOSED = "store_closed"  # ours: the platform's exports never say it


class PaymentMethod(StrEnum):  # orders.models.PaymentMethod
    CREDIT_CARD = "credit_card"
    DEBIT_CARD = "debit_card"
    TT = "tt"
    MONEYBOOKERS = "moneybookers"
    ALIPAY = "alipay"
    EBANX = "ebanx"
    OTHER = "other"


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
CLOSED: Final = "closed"
"""订单关闭 (and closing end reasons): cancelled if the order was never paid, else refunded."""
AS_SHOWN: Final = "as_shown"
"""A platform state the back-office has no twin for: unpaid, paid or shipped as the row's payment
time and parcels show, its money kept in escrow."""
Target = OrderState | Literal["finished", "closed", "as_shown"]


class StatusWord(NamedTuple):
    target: Target
    # "" when the mapping is exact; else the warning, ``{state}`` standing for the state taken
    inexact: str = ""


def key(text: str) -> str:
    """The form labels are compared in: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _table(entries: dict[T, tuple[str, ...]]) -> dict[str, T]:
    return {key(label): value for value, labels in entries.items() for label in labels}


_PARTLY_SHIPPED = StatusWord(
    OrderState.SHIPPED, "partly shipped on the platform: recorded as shipped with its parcels"
)
_FROZEN = StatusWord(AS_SHOWN, "frozen on the platform: recorded as {state}, money kept in escrow")
_FUND_PROCESSING = StatusWord(
    AS_SHOWN, "funds in processing on the platform: recorded as {state}, money kept in escrow"
)
_CANCEL_ASKED = StatusWord(
    AS_SHOWN, "the buyer asked to cancel: recorded as {state} until the platform closes the order"
)
_RISK_CONTROL = StatusWord(OrderState.PAID, "in risk control on the platform: recorded as paid")
_EXAMINE_MONEY = StatusWord(
    OrderState.UNPAID, "payment awaiting the seller's check on the platform: recorded as unpaid"
)
# English labels and codes of SPEC.md, the seller center's Chinese words (export and order list),
# and the Open Platform's order statuses.
_ORDER_STATUSES: dict[str, StatusWord] = _table(
    {
        StatusWord(OrderState.UNPAID): ("Awaiting payment", "等待买家付款", "PLACE_ORDER_SUCCESS"),
        StatusWord(OrderState.PAID): (
            "Awaiting shipment",
            "等待您发货",
            "等待发货",
            "等待卖家发货",
            "WAIT_SELLER_SEND_GOODS",
        ),
        _RISK_CONTROL: ("Risk control", "订单处于风控24小时中", "风控中", "RISK_CONTROL"),
        _EXAMINE_MONEY: ("WAIT_SELLER_EXAMINE_MONEY",),
        _PARTLY_SHIPPED: ("部分发货", "SELLER_PART_SEND_GOODS"),
        StatusWord(OrderState.SHIPPED): (
            "Awaiting delivery",
            "等待买家收货",
            "WAIT_BUYER_ACCEPT_GOODS",
        ),
        StatusWord(OrderState.COMPLETED): ("交易完成",),
        StatusWord(OrderState.DISPUTED): ("In dispute", "纠纷中", "含纠纷中的订单", "IN_ISSUE"),
        StatusWord(CLOSED): ("订单关闭",),
        StatusWord(FINISHED): ("Finished", "已结束", "订单结束", "FINISH"),
        _FROZEN: ("冻结中", "冻结中的订单", "IN_FROZEN"),
        _FUND_PROCESSING: ("资金处理中", "FUND_PROCESSING"),
        _CANCEL_ASKED: ("买家申请取消", "IN_CANCEL"),
    }
)


class Ending(NamedTuple):
    """What an end reason says: the state (or :data:`CLOSED`: by payment) and the reason kept."""

    target: OrderState | Literal["closed"]
    reason: EndReason


_END_REASONS: dict[str, Ending] = _table(
    {
        Ending(OrderState.COMPLETED, EndReason.BUYER_ACCEPT_GOODS): (
            "buyer_accept_goods",
            "buyer_accept_goods_timeout",
        ),
        Ending(OrderState.REFUNDED, EndReason.REFUNDED): (
            "refunded",
            "seller_send_goods_timeout",
            "seller_accept_issue_no_goods_return",
            "seller_response_issue_timeout",
        ),
        Ending(OrderState.CANCELLED, EndReason.BUYER_CANCEL): (
            "buyer_cancel",
            "buyer_cancel_notpay_order",
        ),
        Ending(OrderState.CANCELLED, EndReason.PAY_TIMEOUT): ("pay_timeout", "buyer_pay_timeout"),
        Ending(OrderState.CANCELLED, EndReason.OUT_OF_STOCK): ("out_of_stock",),
        Ending(CLOSED, EndReason.BUYER_CANCEL): (
            "cancel_order_close_trade",
            "buyer_cancel_order_in_risk",
        ),
        Ending(CLOSED, EndReason.RISK_REJECTED): ("risk_reject_closed", "risk_rejected"),
    }
)
_PAYMENT_METHODS = _table(
    {
        PaymentMethod.CREDIT_CARD: ("Credit Card", "credit_card", "信用卡", "migs", "MIXEDCARD"),
        PaymentMethod.DEBIT_CARD: ("Debit Card", "debit_card", "借记卡"),
        PaymentMethod.TT: ("T/T", "TT", "电汇", "tt101"),
        PaymentMethod.MONEYBOOKERS: ("Moneybookers", "mb"),
        PaymentMethod.ALIPAY: ("Alipay", "支付宝"),
        PaymentMethod.EBANX: ("EBANX", "ebanx101"),
        # Open Platform codes whose method the public material does not name
        PaymentMethod.OTHER: ("other", "pp101", "wp101"),
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
    """``table``'s value for the cell; an unknown one is ``error`` with the value repeated."""
    text = cell_text(value)
    if text is None:
        return None
    try:
        return table[key(text)]
    except KeyError:
        raise CellError(f"{error}: {_shown(text)}") from None


def _shown(text: str) -> str:
    """The value as the report repeats it: quoted, cut to 60 characters."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def parse_order_status(value: Cell) -> StatusWord | None:
    """English label, Chinese word or platform code -> what the row's state is to be."""
    return _lookup(value, _ORDER_STATUSES, "unknown status")


def parse_end_reason(value: Cell) -> Ending | None:
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
        raise CellError(gettext("unknown status %(text)r") % {"text": text}) from None


def parse_dispute_reason(value: Cell) -> tuple[DisputeReason, str] | None:
    """(reason, the text as written). Reason is free text on the platform: the known ones map,
    anything else is ``other`` and the text is kept so nothing the buyer said is lost."""
    text = cell_text(value)
    if text is None:
        return None
    return _DISPUTE_REASONS.get(key(text).rstrip("."), DisputeReason.OTHER), text


def parse_promotion_type(value: Cell) -> PromotionType | None:
    return _lookup(value, _PROMOTION_TYPES, "unknown type (charge, top-up or adjustment)")
