from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backoffice.imports.choices import (
    DisputeReason,
    DisputeState,
    OrderState,
    PromotionType,
)
from backoffice.imports.errors import FileError, RowError
from backoffice.imports.headers import Kind
from backoffice.imports.parse import open_export
from backoffice.imports.rows import (
    ExchangeRateRow,
    OrderRow,
    parse_disputes_row,
    parse_exchange_rates_row,
    parse_orders_row,
    parse_promotion_row,
)
from backoffice.money import Money

from .helpers import SAMPLES, StoredNumber, expected, write_csv, write_xlsx

FULL_WIDTH_COLON = "\uff1a"


def parse_sample(name: str, **options) -> list:
    with open_export(SAMPLES / name, **options) as export:
        assert export.warnings == ()
        return list(export.results())


# The samples ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("orders-en.csv", 20),
        ("orders-zh.csv", 20),
        ("orders-en.xlsx", 8),
        ("disputes-en.csv", 3),
        ("promotion-zh.csv", 52),
        ("exchange-rates.csv", 60),
    ],
)
def test_every_good_sample_parses_without_errors(name, count):
    results = parse_sample(name)
    assert [error for result in results for error in result.errors] == []
    assert len(results) == count and all(result.row for result in results)


def test_the_bad_sample_has_exactly_the_five_listed_errors():
    results = parse_sample("orders-bad.csv")
    errors = [error for result in results for error in result.errors]
    # An unknown word is repeated in the message (samples/README.md predates that).
    repeated = {"unknown status": "unknown status: 'Teleported'"}
    assert errors == [
        RowError(e["line"], e["column"], repeated.get(e["why"], e["why"]))
        for e in expected()["orders_bad_errors"]
    ]
    assert str(errors[0]) == ("line 3: Order No.: scientific notation: digits lost")


def test_order_statuses_of_both_csv_samples_match_expected():
    rows = [r.row for name in ("orders-en.csv", "orders-zh.csv") for r in parse_sample(name)]
    assert {row.order_number: row.state for row in rows} == expected()["orders"]


def test_order_statuses_of_the_xlsx_sample_match_expected():
    rows = [result.row for result in parse_sample("orders-en.xlsx")]
    assert {row.order_number: row.state for row in rows} == expected()["orders_xlsx"]


def test_dispute_statuses_match_expected():
    rows = [result.row for result in parse_sample("disputes-en.csv")]
    assert {row.dispute_id: row.state for row in rows} == expected()["disputes"]
    assert rows[0].reason == DisputeReason.NOT_RECEIVED
    assert rows[0].requested_refund == Money(Decimal("39.74"), "USD")
    assert rows[0].final_refund is None


def test_a_chinese_order_row_in_full():
    row = parse_sample("orders-zh.csv")[0].row
    assert row == OrderRow(
        line=2,
        order_number="8275541113343634",
        store_id="2993908",
        store_name="Yiwu Home Goods",
        state=OrderState.COMPLETED,
        ordered_at=datetime(2026, 3, 29, 11, 0, tzinfo=UTC),
        amount=Money(Decimal("200.25"), "USD"),
        buyer_name="José Muñoz",
        buyer_country="Chile",
        paid_at=datetime(2026, 3, 31, 12, 36, tzinfo=UTC),
        payment_method="debit_card",
        product_total=Money(Decimal("196.75"), "USD"),
        shipping_cost=Money(Decimal("3.50"), "USD"),
        product_info="Phone case x1",
        parcels=(("Cainiao", "LP922600401913CN"),),
        shipped_at=datetime(2026, 4, 4, 1, 36, tzinfo=UTC),
        confirmed_at=datetime(2026, 4, 13, 1, 36, tzinfo=UTC),
        protected=True,
        end_reason="buyer_accept_goods",
        end_reason_code="buyer_accept_goods",
    )


def test_promotion_lines_are_cny_unless_the_cell_says_otherwise():
    rows = [result.row for result in parse_sample("promotion-zh.csv")]
    assert rows[0].type == PromotionType.CHARGE and rows[1].type == PromotionType.TOP_UP
    assert rows[0].amount == Money(Decimal("600.38"), "CNY")
    assert rows[1].amount == Money(Decimal("1000.00"), "CNY")
    assert (rows[0].store_id, rows[0].date, rows[0].reference) == (
        "2339563",
        date(2026, 3, 1),
        "P2339563-0000",
    )


def test_exchange_rates_sample():
    rows = [result.row for result in parse_sample("exchange-rates.csv")]
    assert rows[0] == ExchangeRateRow(
        line=2, date=date(2026, 3, 1), currency="USD", rate=Decimal("7.1800")
    )


def test_the_file_time_zone_is_the_import_option():
    la = parse_sample("orders-en.csv")[5].row
    shanghai = parse_sample("orders-en.csv", tz=ZoneInfo("Asia/Shanghai"))[5].row
    assert la.ordered_at == datetime(2026, 3, 6, 16, 57, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert shanghai.ordered_at == datetime(2026, 3, 6, 8, 57, tzinfo=UTC)


def test_the_kind_can_be_named_and_a_wrong_one_is_a_file_error():
    assert len(parse_sample("orders-en.csv", kind="orders")) == 20
    with pytest.raises(FileError, match="missing required columns for disputes"):
        parse_sample("orders-en.csv", kind=Kind.DISPUTES)


# Orders: cross-field rules --------------------------------------------------------------------

ORDER = {
    "order_number": "8756160904301048",
    "store_id": "2339563",
    "status": "Awaiting shipment",
    "ordered_at": "2026-03-06 16:57:00",
    "paid_at": "2026-03-08 14:35:00",
    "amount": "US $172.75",
}
SHIPPED = {
    **ORDER,
    "status": "Awaiting delivery",
    "carrier_tracking": "China Post:LP970044521458CN",
    "shipped_at": "2026-03-09 01:35:00",
}


def order_errors(cells, **options) -> list[tuple[str, str]]:
    row, errors = parse_orders_row(cells, line=7, **options)
    assert (row is None) == bool(errors)
    assert all(error.line == 7 for error in errors)
    return [(error.column, error.message) for error in errors]


def test_a_row_with_only_the_required_cells_parses():
    row, errors = parse_orders_row({**ORDER, "status": "Awaiting payment", "paid_at": None}, line=2)
    assert errors == []
    assert row.state == OrderState.UNPAID and row.paid_at is None and row.protected is None
    assert row.parcels == () and row.product_total is None


@pytest.mark.parametrize(
    ("cells", "errors"),
    [
        (ORDER, []),
        ({**ORDER, "paid_at": ""}, [("Payment Time", "paid order without payment time")]),
        (SHIPPED, []),
        (
            {**SHIPPED, "paid_at": None, "shipped_at": None, "carrier_tracking": None},
            [("Payment Time", "shipped order without payment/shipping time and tracking")],
        ),
        (
            {**SHIPPED, "carrier_tracking": None},
            [("Carrier:Tracking No.", "shipped order without tracking")],
        ),
        (
            {**SHIPPED, "shipped_at": None, "carrier_tracking": " "},
            [("Shipping Time", "shipped order without shipping time and tracking")],
        ),
        ({**SHIPPED, "status": "Finished", "end_reason": "buyer_accept_goods"}, []),
        (
            {**ORDER, "status": "Finished", "end_reason": "buyer_accept_goods"},
            [("Shipping Time", "completed order without shipping time and tracking")],
        ),
        ({**ORDER, "status": "FINISH", "end_reason": "refunded"}, []),
        (
            {**ORDER, "status": "FINISH", "end_reason": "refunded", "paid_at": None},
            [("Payment Time", "refunded order without payment time")],
        ),
        ({**ORDER, "status": "已结束", "end_reason": "pay_timeout", "paid_at": None}, []),
        ({**ORDER, "status": "IN_ISSUE"}, []),  # a dispute may open before shipping
        (
            {**ORDER, "status": "IN_ISSUE", "paid_at": None},
            [("Payment Time", "disputed order without payment time")],
        ),
        (
            {**ORDER, "status": "Finished", "confirmed_at": None},
            [("End Reason", "finished order without end reason")],
        ),
        (
            {**ORDER, "status": "Finished", "end_reason": "lost"},
            [("End Reason", "unknown end reason: 'lost'")],
        ),
        (
            {**ORDER, "status": "Teleported", "paid_at": None},
            [("Order Status", "unknown status: 'Teleported'")],
        ),
        (
            {**SHIPPED, "paid_at": "soon", "carrier_tracking": None},
            [
                ("Payment Time", "not a date and time (e.g. 2026-03-09 14:05:33)"),
                ("Carrier:Tracking No.", "shipped order without tracking"),
            ],
        ),
    ],
)
def test_what_each_state_needs(cells, errors):
    assert order_errors(cells) == errors


def test_every_error_of_a_row_is_reported_at_the_columns_the_file_names():
    labels = {"order_number": "订单号", "amount": "订单金额", "store_id": "店铺ID"}
    cells = {**ORDER, "order_number": "8.1E+15", "amount": "-1", "store_id": "", "protected": "?"}
    assert order_errors(cells, labels=labels) == [
        ("订单号", "scientific notation: digits lost"),
        ("店铺ID", "required"),
        ("订单金额", "negative amount"),
        ("After-sales Protection", "expected Y or N: '?'"),
    ]


def test_a_missing_required_cell_is_required():
    assert order_errors({**ORDER, "ordered_at": None, "amount": " "}) == [
        ("Order Time", "required"),
        ("Order Amount", "required"),
    ]


def test_order_amounts_take_the_cell_currency_else_the_file_default():
    cells = {**ORDER, "amount": "CN¥88.00", "shipping_cost": "4.99", "product_total": "¥83.01"}
    row, _ = parse_orders_row(cells, line=2, currency="CNY")
    assert row.amount == Money(Decimal("88.00"), "CNY")
    assert row.shipping_cost == Money(Decimal("4.99"), "CNY")
    cells = {**ORDER, "amount": "88.00", "shipping_cost": "4.99", "product_total": "83.01"}
    row, _ = parse_orders_row(cells, line=2)
    assert row.amount == Money(Decimal("88.00"), "USD")


def test_a_rows_amounts_in_two_currencies_are_an_error_at_each_other_one():
    cells = {**ORDER, "amount": "CN¥88.00", "shipping_cost": "4.99", "product_total": "$83.01"}
    assert order_errors(cells) == [
        ("Product Total", "USD 83.01: not in the order amount's currency (CNY)"),
        ("Shipping Cost", "USD 4.99: not in the order amount's currency (CNY)"),
    ]


def test_xlsx_typed_cells_through_the_whole_file(tmp_path):
    path = write_xlsx(
        tmp_path,
        [
            ["Order No.", "Store ID", "Order Status", "Order Time", "Order Amount", "Coupon"],
            [8756160904301048, 2339563, "Awaiting payment", datetime(2026, 3, 6, 16, 57), 172.75],
            [StoredNumber("8.1234567890123E+15"), 1, "Awaiting payment", "2026-03-06", 12.345],
        ],
    )
    with open_export(path) as export:
        assert export.kind == Kind.ORDERS
        assert export.warnings == ("unknown column 'Coupon' ignored",)
        first, second = export.results()
    assert first.errors == []
    assert first.row.order_number == "8756160904301048" and first.row.store_id == "2339563"
    assert first.row.ordered_at == datetime(2026, 3, 7, 0, 57, tzinfo=UTC)
    assert first.row.amount == Money(Decimal("172.75"), "USD")
    assert [(e.line, e.column, e.message) for e in second.errors] == [
        (3, "Order No.", "scientific notation: digits lost"),
        (3, "Order Time", "not a date and time (e.g. 2026-03-09 14:05:33)"),
        (3, "Order Amount", "more than 2 decimals"),
    ]


def test_a_csv_with_every_quirk_at_once(tmp_path):
    path = write_csv(
        tmp_path,
        [
            f"订单号{FULL_WIDTH_COLON}\t 店铺id \t订单状态\t下单时间\t订单金额\t备注",
            "8756160904301048\t2339563\t等待买家付款\t03/09/2026 14:05\t￥88.00\tx",
            "\t\t\t\t\t",
            "8756160904301049\t2339563\t等待买家付款\t2026/03/09 14:05\t88\t",
        ],
        encoding="gb18030",
        newline="\r\n",
    )
    with open_export(path) as export:
        assert export.warnings == ("unknown column '备注' ignored",)
        results = list(export.results())
    assert [(r.line, r.errors) for r in results] == [(2, []), (4, [])]
    assert results[0].row.amount == Money(Decimal("88.00"), "CNY")
    assert results[1].row.amount == Money(Decimal("88.00"), "USD")
    assert results[0].row.ordered_at == datetime(2026, 3, 9, 21, 5, tzinfo=UTC)


# Disputes, promotion, exchange rates ----------------------------------------------------------

DISPUTE = {
    "dispute_id": "5698053531907",
    "order_number": "8977137727071372",
    "status": "WAIT_SELLER_CONFIRM_REFUND",
    "reason": "Not received",
    "opened_at": "2026-03-28 10:50:00",
    "requested_refund": "US $39.74",
}


def test_a_resolved_dispute_needs_its_final_refund():
    row, errors = parse_disputes_row({**DISPUTE, "status": "FINISH"}, line=4)
    assert row is None
    assert errors == [RowError(4, "Final Refund", "resolved dispute without final refund")]
    row, errors = parse_disputes_row(
        {**DISPUTE, "status": "SELLER_RESPONSE_ISSUE_TIMEOUT", "final_refund": "US $39.74"}, line=4
    )
    assert errors == []
    assert (row.state, row.resolved_automatically) == (DisputeState.RESOLVED, True)
    assert row.final_refund == Money(Decimal("39.74"), "USD")


def test_an_ended_dispute_is_resolved_with_a_final_refund_and_cancelled_without():
    row, errors = parse_disputes_row({**DISPUTE, "status": "已结束", "final_refund": "$10"}, line=2)
    assert errors == []
    assert (row.state, row.ended, row.status_text) == (DisputeState.RESOLVED, True, "已结束")
    row, errors = parse_disputes_row({**DISPUTE, "status": "已结束"}, line=3)
    assert errors == []
    assert (row.state, row.final_refund) == (DisputeState.CANCELLED, None)


def test_an_unknown_dispute_status_is_named_in_its_error():
    row, errors = parse_disputes_row({**DISPUTE, "status": "WAIT_BUYER_ACCEPT"}, line=5)
    assert row is None
    assert errors == [RowError(5, "Dispute Status", "unknown status 'WAIT_BUYER_ACCEPT'")]


def test_an_unknown_dispute_reason_is_other_with_its_text_kept():
    row, _ = parse_disputes_row({**DISPUTE, "reason": "Buyer changed mind"}, line=2)
    assert (row.reason, row.reason_text) == (DisputeReason.OTHER, "Buyer changed mind")


def test_dispute_required_cells_and_negative_refunds():
    _, errors = parse_disputes_row({**DISPUTE, "reason": "", "requested_refund": "-1"}, line=2)
    assert [(e.column, e.message) for e in errors] == [
        ("Reason", "required"),
        ("Requested Refund", "negative amount"),
    ]


PROMOTION = {
    "store_id": "2339563",
    "date": "2026-03-01",
    "type": "调整",
    "amount": "-12.50",
    "reference": "A2339563-0001",
}


def test_only_a_promotion_adjustment_may_be_negative():
    row, errors = parse_promotion_row(PROMOTION, line=2)
    assert errors == [] and row.amount == Money(Decimal("-12.50"), "CNY")
    _, errors = parse_promotion_row({**PROMOTION, "type": "扣费"}, line=2)
    assert errors == [RowError(2, "Amount", "negative amount")]
    _, errors = parse_promotion_row({**PROMOTION, "type": "gift"}, line=2)
    assert errors == [RowError(2, "Type", "unknown type (charge, top-up or adjustment): 'gift'")]


def test_a_promotion_line_needs_its_reference():
    _, errors = parse_promotion_row({**PROMOTION, "reference": None}, line=9)
    assert errors == [RowError(9, "Reference", "required")]


@pytest.mark.parametrize(
    ("cells", "errors"),
    [
        ({"date": "2026-03-01", "currency": "USD", "rate": "7.123456"}, []),
        (
            {"date": "2026-03-01", "currency": "USD", "rate": "7.1234567"},
            [("Rate to CNY", "more than 6 decimals")],
        ),
        (
            {"date": "2026-03-01", "currency": "USD", "rate": "0"},
            [("Rate to CNY", "rate must be more than zero")],
        ),
        (
            {"date": "03/01/2026 10:00", "currency": "CNY", "rate": "7"},
            [
                ("Date", "not a date (e.g. 2026-03-09)"),
                ("Currency", "only USD rates: the rate is CNY for one unit of the currency"),
            ],
        ),
    ],
)
def test_exchange_rate_rows(cells, errors):
    row, found = parse_exchange_rates_row(cells, line=2)
    assert [(e.column, e.message) for e in found] == errors
    assert (row is None) == bool(errors)
