"""The platform's real seller-center order exports: one store per file without a store column,
Chinese headers only, the platform's own status words, CN￥/US $ amounts, month-first Pacific
times, several parcels in one cell; older layouts with 店铺, 商品信息, a header with a line
break, 满立减; the oldest as .xls. Fictional people throughout."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import xlwt

from accounts.models import SellerAccount
from backoffice.composition.imports.runner import import_export
from backoffice.imports.errors import FileError
from orders.models import Order
from payouts.ledger import store_balances
from payouts.services import exchange_rate_set
from tests import factories as f

from .helpers import write_csv
from .test_import_samples import assert_ledger_balanced, counts

LA = ZoneInfo("America/Los_Angeles")
STORE = "2612001"

# The current layout: 23 columns, Chinese only, no store, no shipping time, no end reason.
CURRENT = [
    "订单号",
    "订单状态",
    "负责人\uff08业务员\uff09",
    "买家名称",
    "下单时间",
    "付款时间",
    "订单金额",
    "商品编码",
    "完整收货地址",
    "收件人名称",
    "联系电话",
    "手机",
    "联系邮件",
    "详细地址",
    "邮编",
    "扩展城市\uff08德/意/波/墨为真实的城市\uff09",
    "城市",
    "州/省",
    "收货国家",
    "买家选择物流",
    "实际发货单号",
    "确认收货时间",
    "售后单",
]
# An older layout: the store's name, product info (one header with a line break), a discount,
# and the tracking column under its older name.
OLDER = [
    "订单号",
    "店铺",
    "订单状态",
    "买家名称",
    "下单时间",
    "付款时间",
    "订单金额",
    "满立减",
    "商品信息",
    "产品\n信息",
    "收货国家",
    "实际发货物流:运单号",
    "确认收货时间",
]
PERSON = {
    "负责人\uff08业务员\uff09": "Lin Wei",
    "完整收货地址": "12 Harbour Lane, Portsmouth, PO1 2AB, United Kingdom",
    "收件人名称": "Amelia Hart",
    "联系电话": "+44 23 9200 0000",
    "手机": "+44 7700 900000",
    "联系邮件": "amelia.hart@example.com",
    "详细地址": "12 Harbour Lane",
    "邮编": "PO1 2AB",
    "城市": "Portsmouth",
    "州/省": "Hampshire",
    "收货国家": "United Kingdom",
    "买家选择物流": "AliExpress Standard Shipping",
}


def current_row(number: str, status: str, amount: str, **cells: str) -> dict[str, str]:
    return {
        **PERSON,
        "订单号": number,
        "订单状态": status,
        "买家名称": "Amelia Hart",
        "下单时间": "01/16/2026 15:57",
        "订单金额": amount,
        "商品编码": "SKU-PHONE-CASE-01",
        **cells,
    }


def write(tmp_path, headers: list[str], rows: list[dict[str, str]], name: str = "orders.csv"):
    """A CSV as the seller center writes it: every cell quoted, a newline inside some."""

    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    lines = [",".join(quoted(h) for h in headers)]
    lines += [",".join(quoted(row.get(h, "")) for h in headers) for row in rows]
    return write_csv(tmp_path, lines, name=name, newline="\r\n")


PAID = {"付款时间": "01/16/2026 16:05"}
SHIPPED = {**PAID, "实际发货单号": "美国邮政:9400111899223197428490\n"}
CONFIRMED = {**SHIPPED, "确认收货时间": "02/02/2026 09:30"}

USD_ROWS = [
    current_row("8100000000000001", "等待买家付款", "US $12.00"),
    current_row("8100000000000002", "等待发货", "US $20.00", **PAID),
    current_row("8100000000000003", "等待买家收货", "US $30.00", **SHIPPED),
    current_row(
        "8100000000000004",
        "等待买家收货",
        "US $40.00",
        **{**PAID, "实际发货单号": "美国邮政:9400111899223197428491\n4PX:LP00123456789CN"},
    ),
    current_row(
        "8100000000000005",
        "交易完成",
        "US $1,170.54",
        **{**CONFIRMED, "实际发货单号": "Seller Shipping US\n:9400111899223197428492"},
    ),
    current_row("8100000000000006", "订单关闭", "US $60.00"),  # never paid: cancelled
    current_row("8100000000000007", "订单关闭", "US $70.00", **PAID),  # paid: refunded
    current_row("8100000000000008", "纠纷中", "US $80.00", **SHIPPED),
]
USD_STATES = {
    "8100000000000001": "unpaid",
    "8100000000000002": "paid",
    "8100000000000003": "shipped",
    "8100000000000004": "shipped",
    "8100000000000005": "completed",
    "8100000000000006": "cancelled",
    "8100000000000007": "refunded",
    "8100000000000008": "disputed",
}


def records() -> dict[str, int]:
    """How many of each record there are, but the record of each import itself."""
    return {name: n for name, n in counts().items() if name != "ImportFile"}


def states() -> dict[str, str]:
    return dict(Order.objects.values_list("order_number", "status"))


def landed(path, **options):
    report = import_export(path, **options)
    assert report.error_lines() == []
    assert report.landed
    return report


def test_the_current_layout_lands_for_a_new_store_with_states_money_and_parcels(tmp_path):
    path = write(tmp_path, CURRENT, USD_ROWS)
    report = landed(path, store=STORE, store_name="Harbour Phone Cases")

    store = SellerAccount.objects.get(platform_store_id=STORE)
    assert (store.name, store.settlement_currency) == ("Harbour Phone Cases", "USD")
    assert report.stores_created == [STORE]
    assert states() == USD_STATES
    balances = store_balances(store.pk)
    # paid, shipped (two), disputed still in escrow; completed released; refunded returned
    assert balances["escrow"] == Decimal("20.00") + 30 + 40 + 80
    assert balances["available"] == Decimal("1170.54")
    assert_ledger_balanced()

    two = Order.objects.get(order_number="8100000000000004")
    assert two.parcels == [
        {"carrier": "美国邮政", "tracking_number": "9400111899223197428491"},
        {"carrier": "4PX", "tracking_number": "LP00123456789CN"},
    ]
    assert (two.carrier, two.tracking_number) == ("美国邮政", "9400111899223197428491")
    completed = Order.objects.get(order_number="8100000000000005")
    assert completed.parcels == [
        {"carrier": "Seller Shipping US", "tracking_number": "9400111899223197428492"}
    ]
    # no shipping time in the layout: shipped at the payment time, said once for the file
    assert completed.shipped_at == datetime(2026, 1, 16, 16, 5, tzinfo=LA)
    assert any("no Shipping Time" in warning for warning in report.warnings)
    # personal data is read and not kept
    assert not any("unknown column" in warning for warning in report.warnings)
    assert any(w.startswith("columns read but not kept") for w in report.warnings)
    assert completed.product_info == "SKU-PHONE-CASE-01"
    assert Order.objects.get(order_number="8100000000000007").end_reason == "refunded"
    assert Order.objects.get(order_number="8100000000000006").end_reason == "buyer_cancel"


def test_importing_the_same_export_again_changes_nothing(tmp_path):
    path = write(tmp_path, CURRENT, USD_ROWS)
    landed(path, store=STORE, store_name="Harbour Phone Cases")
    before = records()
    again = landed(path, store=STORE)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(USD_ROWS))
    assert records() == before


def test_a_later_export_moves_orders_on_and_adds_a_parcel(tmp_path):
    landed(write(tmp_path, CURRENT, USD_ROWS[:3]), store=STORE, store_name="Harbour")
    later = [
        current_row("8100000000000002", "等待买家收货", "US $20.00", **SHIPPED),
        current_row(
            "8100000000000003",
            "交易完成",
            "US $30.00",
            **{
                **CONFIRMED,
                "实际发货单号": "美国邮政:9400111899223197428490\nYANWEN:UG000000001YP",
            },
        ),
    ]
    report = landed(write(tmp_path, CURRENT, later, name="later.csv"), store=STORE)
    assert report.moves == {("paid", "shipped"): 1, ("shipped", "completed"): 1}
    assert len(Order.objects.get(order_number="8100000000000003").parcels) == 2


def test_a_store_not_in_the_back_office_needs_a_name(tmp_path):
    with pytest.raises(FileError, match=f"store {STORE} is not in the back-office: give its name"):
        import_export(write(tmp_path, CURRENT, USD_ROWS), store=STORE)
    assert Order.objects.count() == 0


def test_without_a_store_column_the_store_must_be_named(tmp_path):
    with pytest.raises(FileError, match="missing required columns for orders: Store ID"):
        import_export(write(tmp_path, CURRENT, USD_ROWS))


@pytest.mark.parametrize(
    ("word", "cells", "state", "warning"),
    [
        ("部分发货", SHIPPED, "shipped", "partly shipped on the platform: recorded as shipped"),
        ("冻结中", SHIPPED, "shipped", "frozen on the platform: recorded as shipped"),
        ("冻结中的订单", PAID, "paid", "frozen on the platform: recorded as paid"),
        ("资金处理中", CONFIRMED, "shipped", "funds in processing on the platform"),
        ("买家申请取消", PAID, "paid", "the buyer asked to cancel: recorded as paid"),
        ("风控中", PAID, "paid", "in risk control on the platform: recorded as paid"),
    ],
)
def test_words_without_a_twin_take_the_nearest_state_that_keeps_the_money_in_escrow(
    tmp_path, word, cells, state, warning
):
    row = current_row("8100000000000009", word, "US $99.00", **cells)
    report = landed(write(tmp_path, CURRENT, [row]), store=STORE, store_name="Harbour")
    assert states() == {"8100000000000009": state}
    store = SellerAccount.objects.get(platform_store_id=STORE)
    assert store_balances(store.pk)["escrow"] == Decimal("99.00")
    assert store_balances(store.pk)["available"] == 0
    assert any(w.startswith(f"line 2: 订单状态: {word}: {warning}") for w in report.warnings)


def test_a_known_order_further_on_is_kept_where_it_is_by_a_word_without_a_twin(tmp_path):
    done = current_row("8100000000000010", "交易完成", "US $9.00", **CONFIRMED)
    landed(write(tmp_path, CURRENT, [done]), store=STORE, store_name="Harbour")
    before = records()
    row = current_row("8100000000000010", "资金处理中", "US $9.00", **CONFIRMED)
    report = landed(write(tmp_path, CURRENT, [row], name="b.csv"), store=STORE)
    assert report.unchanged == 1 and states() == {"8100000000000010": "completed"}
    assert (
        "line 2: 订单状态: kept as completed: further on than the platform's word"
        in report.warnings
    )
    assert records() == before


# --- CNY stores ---------------------------------------------------------------------------------


def cny_rows() -> list[dict[str, str]]:
    return [
        current_row("8200000000000001", "等待发货", "CN￥ 1,234.56", **PAID),
        current_row("8200000000000002", "交易完成", "CN￥ 718.00", **CONFIRMED),
    ]


def test_a_cny_store_keeps_the_yuan_and_posts_usd_at_the_days_rate(tmp_path):
    f.store(platform_store_id=STORE, name="Harbour", settlement_currency="CNY")
    exchange_rate_set(actor=None, day=date(2026, 1, 16), rate=Decimal("7.180000"))
    landed(write(tmp_path, CURRENT, cny_rows()), store=STORE)

    paid = Order.objects.get(order_number="8200000000000001")
    assert (paid.original_amount, paid.original_currency) == (Decimal("1234.56"), "CNY")
    assert paid.conversion_rate == Decimal("7.180000")
    assert paid.amount == Decimal("171.94")  # 1,234.56 / 7.18 = 171.9442...
    completed = Order.objects.get(order_number="8200000000000002")
    assert completed.amount == Decimal("100.00")
    balances = store_balances(paid.store_id)
    assert (balances["escrow"], balances["available"]) == (Decimal("171.94"), Decimal("100.00"))

    # a later change of the day's rate does not make the same file a different order
    exchange_rate_set(actor=None, day=date(2026, 1, 16), rate=Decimal("7.200000"))
    again = landed(write(tmp_path, CURRENT, cny_rows(), name="again.csv"), store=STORE)
    assert again.unchanged == 2


def test_a_cny_amount_at_a_tie_rounds_half_up_like_every_conversion(tmp_path):
    f.store(platform_store_id=STORE, name="Harbour", settlement_currency="CNY")
    exchange_rate_set(actor=None, day=date(2026, 1, 16), rate=Decimal("8.000000"))
    row = current_row("8200000000000003", "等待发货", "CN￥ 100.04", **PAID)
    landed(write(tmp_path, CURRENT, [row]), store=STORE)

    order = Order.objects.get(order_number="8200000000000003")
    assert order.amount == Decimal("12.51")  # 100.04 / 8 = 12.505: half up (half even: 12.50)
    assert store_balances(order.store_id)["escrow"] == Decimal("12.51")


def test_cny_rows_without_the_days_rate_are_each_refused_naming_the_day(tmp_path):
    f.store(platform_store_id=STORE, name="Harbour", settlement_currency="CNY")
    before = counts()
    report = import_export(write(tmp_path, CURRENT, cny_rows()), store=STORE)
    assert report.error_lines() == [
        "line 2: 订单金额: CNY 1,234.56: no USD/CNY exchange rate for 2026-01-16 (the order's "
        "day): import that day's rate first, the ledger keeps USD",
        "line 3: 订单金额: CNY 718.00: no USD/CNY exchange rate for 2026-01-16 (the order's "
        "day): import that day's rate first, the ledger keeps USD",
    ]
    assert counts() == before


def test_amounts_in_another_currency_than_the_stores_are_refused_on_every_row(tmp_path):
    f.store(platform_store_id=STORE, name="Harbour", settlement_currency="CNY")
    report = import_export(write(tmp_path, CURRENT, USD_ROWS[:3]), store=STORE)
    assert report.error_lines() == [
        f"line {line}: 订单金额: USD {amount}: store {STORE} is settled in CNY"
        for line, amount in ((2, "12.00"), (3, "20.00"), (4, "30.00"))
    ]
    assert Order.objects.count() == 0


def test_a_new_store_from_a_cny_file_is_settled_in_cny(tmp_path):
    exchange_rate_set(actor=None, day=date(2026, 1, 16), rate=Decimal("7.180000"))
    landed(write(tmp_path, CURRENT, cny_rows()), store=STORE, store_name="Harbour")
    assert SellerAccount.objects.get(platform_store_id=STORE).settlement_currency == "CNY"


# --- older layouts ------------------------------------------------------------------------------


def older_row(number: str, status: str, amount: str, **cells: str) -> dict[str, str]:
    return {
        "订单号": number,
        "店铺": "Harbour Phone Cases",
        "订单状态": status,
        "买家名称": "Jonas Berg",
        "下单时间": "03/09/2026 14:05",
        "订单金额": amount,
        "满立减": "US $2.00",
        "商品信息": "Phone case, blue x1",
        "收货国家": "Norway",
        **cells,
    }


def test_an_older_layout_lands_and_its_store_column_must_name_the_chosen_store(tmp_path):
    rows = [
        older_row("8300000000000001", "等待买家付款", "US $15.00"),
        older_row(
            "8300000000000002",
            "等待买家收货",
            "US $25.00",
            付款时间="03/09/2026 15:00",
            **{"实际发货物流:运单号": "Cainiao:LP00123456780CN"},
        ),
    ]
    report = landed(write(tmp_path, OLDER, rows), store=STORE)  # its name from 店铺
    assert SellerAccount.objects.get(platform_store_id=STORE).name == "Harbour Phone Cases"
    assert states() == {"8300000000000001": "unpaid", "8300000000000002": "shipped"}
    assert Order.objects.get(order_number="8300000000000001").product_info == "Phone case, blue x1"
    assert not any("unknown column" in warning for warning in report.warnings)

    others = [older_row(f"830000000000001{i}", "等待买家付款", "US $5.00") for i in range(3)]
    others = [{**row, "店铺": "Fjord Outdoor"} for row in others]
    refused = import_export(write(tmp_path, OLDER, others, name="other.csv"), store=STORE)
    assert [str(error) for error in refused.errors] == [
        f"line {line}: 店铺: store 'Fjord Outdoor': this file is imported for store {STORE} "
        "('Harbour Phone Cases')"
        for line in (2, 3, 4)
    ]


def test_a_store_id_column_naming_another_store_is_refused_on_its_rows(tmp_path):
    lines = [
        "订单号,店铺ID,订单状态,下单时间,订单金额",
        f"8400000000000001,{STORE},等待买家付款,03/09/2026 14:05,US $5.00",
        "8400000000000002,2999999,等待买家付款,03/09/2026 14:05,US $5.00",
    ]
    report = import_export(write_csv(tmp_path, lines), store=STORE, store_name="Harbour")
    assert report.error_lines() == [
        f"line 3: 店铺ID: store 2999999: this file is imported for store {STORE}"
    ]


def test_the_oldest_layout_as_xls_lands(tmp_path):
    book = xlwt.Workbook()
    sheet = book.add_sheet("订单")
    rows = [
        OLDER,
        list(older_row("8500000000000001", "交易完成", "US $33.00").values()),
    ]
    row = older_row(
        "8500000000000001",
        "交易完成",
        "US $33.00",
        付款时间="03/09/2026 15:00",
        确认收货时间="03/20/2026 10:00",
        **{"实际发货物流:运单号": "Cainiao:LP00123456781CN"},
    )
    rows = [OLDER, [row.get(header, "") for header in OLDER]]
    for y, values in enumerate(rows):
        for x, value in enumerate(values):
            sheet.write(y, x, value)
    path = tmp_path / "orders.xls"
    book.save(str(path))
    landed(path, store=STORE)
    assert states() == {"8500000000000001": "completed"}


def test_a_dispute_on_a_cny_order_refunds_in_usd_at_the_orders_rate(tmp_path):
    f.store(platform_store_id=STORE, name="Harbour", settlement_currency="CNY")
    exchange_rate_set(actor=None, day=date(2026, 1, 16), rate=Decimal("7.180000"))
    row = current_row("8200000000000003", "纠纷中", "CN￥ 1,234.56", **SHIPPED)
    landed(write(tmp_path, CURRENT, [row]), store=STORE)
    lines = [
        "Dispute ID,Order No.,Dispute Status,Reason,Opened Time,Requested Refund,Final Refund",
        "D-9001,8200000000000003,FINISH,Item not received,2026-01-25 10:00:00,"
        "CN￥ 1234.56,CN￥ 1234.56",
        "D-9002,8100000000000001,WAIT_SELLER_CONFIRM_REFUND,Item not received,"
        "2026-01-25 10:00:00,CN￥ 10.00,",
    ]
    refused = import_export(write_csv(tmp_path, lines, name="disputes.csv"), kind="disputes")
    assert refused.error_lines() == [
        "line 3: Order No.: order 8100000000000001 is not in the back-office: import its "
        "orders first"
    ]
    landed(write_csv(tmp_path, lines[:2], name="disputes.csv"), kind="disputes")
    order = Order.objects.get(order_number="8200000000000003")
    assert order.status == "refunded"
    assert order.disputes.get().final_refund == order.amount == Decimal("171.94")
    assert store_balances(order.store_id)["escrow"] == 0
    assert_ledger_balanced()


def test_every_known_order_that_cannot_take_its_row_is_reported_not_only_the_first(tmp_path):
    landed(write(tmp_path, CURRENT, USD_ROWS), store=STORE, store_name="Harbour")
    before = records()
    later = [
        current_row("8100000000000005", "等待买家付款", "US $1,170.54"),  # completed -> unpaid
        current_row("8100000000000002", "等待发货", "US $21.00", **PAID),  # another amount
        current_row("8100000000000006", "等待发货", "US $60.00", **PAID),  # cancelled -> paid
    ]
    report = import_export(write(tmp_path, CURRENT, later, name="later.csv"), store=STORE)
    assert report.error_lines() == [
        "line 2: 订单状态: cannot move from completed to unpaid",
        "line 3: 订单金额: order 8100000000000002 was recorded with USD 20.00: an order's "
        "amount does not change",
        "line 4: 订单状态: cannot move from cancelled to paid",
    ]
    assert records() == before


def test_a_promotion_statement_of_one_store_without_a_store_column(tmp_path):
    store = f.store(platform_store_id=STORE, name="Harbour", settlement_currency="CNY")
    lines = [
        "日期,类型,金额,流水号",
        "2026-01-16,充值,CN￥ 500.00,ZTC-1",
        "2026-01-17,扣费,88.00,ZTC-2",
    ]
    path = write_csv(tmp_path, lines)
    report = landed(path, kind="promotion", store=STORE)
    assert report.created == 2
    assert store_balances(store.pk)["promotion"] == Decimal("412.00")
    with pytest.raises(FileError, match="exchange_rates files are not imported for one store"):
        import_export(path, kind="exchange_rates", store=STORE)
