"""Header names of each export kind, in English and Chinese, mapped to canonical field names.

Matching ignores case, a BOM, surrounding and repeated spaces, full-width forms (NFKC) and a
trailing colon (ASCII or full-width). Unknown columns are warnings, reported once per file;
missing required columns and a column given twice are a :class:`FileError`.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from .errors import FileError
from .reading import Cell


class Kind(StrEnum):
    ORDERS = "orders"
    DISPUTES = "disputes"
    PROMOTION = "promotion"
    EXCHANGE_RATES = "exchange_rates"


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    english: str
    chinese: str
    required: bool = False
    aliases: tuple[str, ...] = ()  # other names the platform's layouts use

    @property
    def names(self) -> tuple[str, ...]:
        return (self.english, self.chinese, *self.aliases)

    @property
    def both_names(self) -> str:
        return f"{self.english} ({self.chinese})"


COLUMNS: dict[Kind, tuple[Column, ...]] = {
    Kind.ORDERS: (
        Column("order_number", "Order No.", "订单号", required=True),
        Column("store_id", "Store ID", "店铺ID", required=True),
        Column("store_name", "Store Name", "店铺名称", aliases=("店铺",)),
        Column("status", "Order Status", "订单状态", required=True),
        Column("buyer_name", "Buyer Name", "买家名称"),
        Column("buyer_country", "Buyer Country", "收货国家"),
        Column("ordered_at", "Order Time", "下单时间", required=True),
        Column("paid_at", "Payment Time", "付款时间"),
        Column("payment_method", "Payment Method", "支付方式"),
        Column("product_total", "Product Total", "产品总金额"),
        Column("shipping_cost", "Shipping Cost", "物流费用"),
        Column("amount", "Order Amount", "订单金额", required=True),
        Column("product_info", "Product Info", "产品信息"),
        # older layouts have both: 商品信息 (the listing) beside 产品信息 (the product)
        Column("goods_info", "Goods Info", "商品信息"),
        Column("product_code", "Product Code", "商品编码"),
        Column(
            "carrier_tracking",
            "Carrier:Tracking No.",
            "实际发货物流:运单号",
            aliases=("实际发货单号",),
        ),
        Column("shipped_at", "Shipping Time", "发货时间"),
        Column("confirmed_at", "Confirmed Time", "确认收货时间"),
        Column("protected", "After-sales Protection", "售后宝"),
        Column("end_reason", "End Reason", "结束原因"),
    ),
    Kind.DISPUTES: (
        Column("dispute_id", "Dispute ID", "纠纷ID", required=True),
        Column("order_number", "Order No.", "订单号", required=True),
        Column("status", "Dispute Status", "纠纷状态", required=True),
        Column("reason", "Reason", "纠纷原因", required=True),
        Column("opened_at", "Opened Time", "纠纷开始时间", required=True),
        Column("requested_refund", "Requested Refund", "买家要求退款金额", required=True),
        Column("final_refund", "Final Refund", "最终退款金额"),
    ),
    Kind.PROMOTION: (
        Column("store_id", "Store ID", "店铺ID", required=True),
        Column("date", "Date", "日期", required=True),
        Column("type", "Type", "类型", required=True),
        Column("amount", "Amount", "金额", required=True),
        Column("reference", "Reference", "流水号", required=True),
    ),
    Kind.EXCHANGE_RATES: (
        Column("date", "Date", "日期", required=True),
        Column("currency", "Currency", "币种", required=True),
        Column("rate", "Rate to CNY", "汇率", required=True),
    ),
}


# Columns of the seller center's order export that the back-office reads and does not keep:
# the buyer's address and contacts (personal data it has no use for), the salesperson, the
# buyer's chosen shipping service, the after-sales ticket and the discount. One warning names them.
NOT_KEPT: dict[Kind, tuple[str, ...]] = {
    Kind.ORDERS: (
        # the export writes full-width brackets: headers match in NFKC
        "负责人(业务员)",
        "完整收货地址",
        "收件人名称",
        "联系电话",
        "手机",
        "联系邮件",
        "详细地址",
        "邮编",
        "扩展城市(德/意/波/墨为真实的城市)",
        "城市",
        "州/省",
        "买家选择物流",
        "售后单",
        "满立减",
    ),
}
# A file of one store may leave the store out: the import names it (--store).
STORE_FIELD = "store_id"


def normalize_header(text: str) -> str:
    """The form headers are compared in: NFKC, no BOM, case-folded, single spaces, no spaces
    around a colon or beside a Chinese character (``产品\n信息`` is 产品信息), no trailing
    colon."""
    text = unicodedata.normalize("NFKC", text.replace("\ufeff", "")).casefold()
    text = " ".join(text.split()).replace(" :", ":").replace(": ", ":")
    return _SPACE_BY_WIDE.sub("", text).rstrip(":").strip()


_SPACE_BY_WIDE = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")


_LOOKUP: dict[Kind, dict[str, Column]] = {
    kind: {normalize_header(name): column for column in columns for name in column.names}
    for kind, columns in COLUMNS.items()
}


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """Where each known field is in the file's rows, and how the file names it."""

    kind: Kind
    positions: Mapping[str, int]
    labels: Mapping[str, str]
    warnings: tuple[str, ...]

    def cells(self, values: Sequence[Cell]) -> dict[str, Cell]:
        """The row's cells by field; a field the file lacks, or a short row, gives ``None``."""
        cells: dict[str, Cell] = dict.fromkeys(self.labels)
        for field, index in self.positions.items():
            if index < len(values):
                cells[field] = values[index]
        return cells


def map_headers(
    kind: Kind | str, headers: Sequence[str], *, store_given: bool = False
) -> HeaderMap:
    """Where each field is. ``store_given``: the import names the file's store, so a file of
    one store may leave its store column out."""
    kind = Kind(kind)
    lookup = _LOOKUP[kind]
    not_kept = _NOT_KEPT[kind]
    positions: dict[str, int] = {}
    labels = {column.field: column.english for column in COLUMNS[kind]}
    unknown: dict[str, None] = {}  # ordered, and a linear time check of repeats
    unused: dict[str, None] = {}
    for index, header in enumerate(headers):
        shown = header.replace("\ufeff", "").strip()
        name = normalize_header(header)
        column = lookup.get(name)
        if column is None:
            if name in not_kept:
                unused[shown] = None
            elif shown:
                unknown[f"unknown column {shown!r} ignored"] = None
            continue
        if column.field in positions:
            raise FileError(
                _("columns %(value)r and %(shown)r are both %(both_names)s")
                % {"value": labels[column.field], "shown": shown, "both_names": column.both_names}
            )
        positions[column.field] = index
        labels[column.field] = shown
    missing = [
        c
        for c in COLUMNS[kind]
        if c.required and c.field not in positions and not (store_given and c.field == STORE_FIELD)
    ]
    if missing:
        hint = (
            ": a file of one store without a store column is imported with its store named "
            "(--store, or the import page's Store)"
            if any(c.field == STORE_FIELD for c in missing)
            else ""
        )
        names = ", ".join(c.both_names for c in missing)
        raise FileError(
            _("missing required columns for %(kind)s: %(names)s%(hint)s")
            % {"kind": kind, "names": names, "hint": hint}
        )
    warnings = list(unknown)
    if unused:
        warnings.append(f"columns read but not kept (not needed here): {', '.join(unused)}")
    return HeaderMap(kind, positions, labels, tuple(warnings))


_NOT_KEPT: dict[Kind, frozenset[str]] = {
    kind: frozenset(normalize_header(name) for name in NOT_KEPT.get(kind, ())) for kind in Kind
}


def guess_kind(headers: Sequence[str]) -> Kind:
    """The one kind whose required columns are all in ``headers``; else a :class:`FileError`."""
    names = {normalize_header(header) for header in headers}
    fitting = [
        kind
        for kind, columns in COLUMNS.items()
        if all(
            {normalize_header(name) for name in c.names} & names
            for c in columns
            if c.required and c.field != STORE_FIELD  # a file of one store may leave it out
        )
    ]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        raise FileError(
            _("the headers fit several kinds of export (%(value)s): name one with --kind")
            % {"value": ", ".join(fitting)}
        )
    raise FileError(
        _(
            "the headers fit no kind of export (orders, disputes, promotion, exchange_rates): "
            "name one with --kind to see which columns are missing"
        )
    )
