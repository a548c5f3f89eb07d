from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backoffice.imports.choices import (
    AS_SHOWN,
    CLOSED,
    FINISHED,
    DisputeReason,
    DisputeState,
    DisputeStatus,
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
from backoffice.imports.errors import CellError
from backoffice.imports.values import (
    cell_text,
    parse_amount,
    parse_currency,
    parse_date,
    parse_free_text,
    parse_money,
    parse_order_number,
    parse_parcels,
    parse_platform_id,
    parse_rate,
    parse_reference,
    parse_timestamp,
    timezone_named,
)
from backoffice.money import Money
from disputes.models import Dispute, Reason
from orders.models import EndReason as ModelEndReason
from orders.models import Order
from orders.models import PaymentMethod as ModelPaymentMethod

SHANGHAI = ZoneInfo("Asia/Shanghai")


def fails(parse, value, message, **options):
    with pytest.raises(CellError) as error:
        parse(value, **options)
    assert error.value.message == message


EMPTY = [None, "", "   ", "\t"]


@pytest.mark.parametrize(
    "parse",
    [
        parse_order_number,
        parse_platform_id,
        parse_reference,
        parse_amount,
        parse_rate,
        parse_currency,
        parse_timestamp,
        parse_date,
        parse_parcels,
        parse_order_status,
        parse_end_reason,
        parse_payment_method,
        parse_bool,
        parse_dispute_status,
        parse_dispute_reason,
        parse_promotion_type,
        parse_free_text,
    ],
)
@pytest.mark.parametrize("value", EMPTY)
def test_an_empty_cell_is_not_given_never_zero(parse, value):
    assert parse(value) is None


# Order numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("8756160904301048", "8756160904301048"),
        (" 8756160904301048 ", "8756160904301048"),
        ("12345678901234567890", "12345678901234567890"),
        ('="8756160904301048"', "8756160904301048"),
        ("'8756160904301048", "8756160904301048"),
        (8756160904301048, "8756160904301048"),  # XLSX integer cell
        (123456789012345.0, "123456789012345"),  # a whole float Excel still shows in full
    ],
)
def test_order_numbers_are_digits(value, number):
    assert parse_order_number(value) == number


@pytest.mark.parametrize(
    "value",
    ["8.1234567890123E+15", "8.12346e15", "8,1234567890123E+15", "1E+15", 8.1234567890123e15],
)
def test_scientific_notation_lost_the_digits_and_is_never_guessed(value):
    fails(parse_order_number, value, "scientific notation: digits lost")


@pytest.mark.parametrize("value", ["ABC123", "8756-1609", "8756160904301048.0", "-5", 12.5, True])
def test_junk_is_not_an_order_number(value):
    fails(parse_order_number, value, "not an order number")


def test_more_than_20_digits_is_not_an_order_number():
    fails(parse_order_number, "1" * 21, "not an order number: more than 20 digits")


def test_platform_ids_and_references():
    assert parse_platform_id(2339563) == "2339563"
    assert parse_reference("P2339563-0000") == "P2339563-0000"
    fails(parse_platform_id, "23 39", "not a store id", what="store id")
    fails(parse_reference, "P1 2", "not a reference")
    fails(parse_reference, 1.5e15, "scientific notation: digits lost")


# Amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "amount", "currency"),
    [
        ("US $1,234.56", "1234.56", "USD"),
        ("US$5", "5.00", "USD"),
        ("$12.34", "12.34", "USD"),
        ("USD 12.34", "12.34", "USD"),
        ("12.34 USD", "12.34", "USD"),
        ("12.34", "12.34", None),
        ("1,234,567.8", "1234567.80", None),
        ("CN¥88.00", "88.00", "CNY"),
        ("￥88.00", "88.00", "CNY"),
        ("¥88.00", "88.00", "CNY"),
        ("CNY 88.00", "88.00", "CNY"),
        ("RMB 88", "88.00", "CNY"),
        ("88元", "88.00", "CNY"),
        ("$0.00", "0.00", "USD"),
        ("12.340", "12.34", None),  # the value has cents only
        (12, "12.00", None),  # XLSX numbers
        (12.5, "12.50", None),
        (Decimal("7.1"), "7.10", None),
    ],
)
def test_every_amount_format(value, amount, currency):
    assert parse_amount(value) == (Decimal(amount), currency)


@pytest.mark.parametrize(
    "value", ["-5.00", "US $-5.00", "-US $5.00", "$-0.01", "(5.00)", "\u22125.00", -5, -0.5]
)
def test_a_minus_anywhere_is_a_negative_amount(value):
    fails(parse_amount, value, "negative amount")


def test_negatives_pass_where_the_caller_allows_them():
    assert parse_amount("US $-5.00", allow_negative=True) == (Decimal("-5.00"), "USD")
    assert parse_amount("(1,234.50)", allow_negative=True) == (Decimal("-1234.50"), None)
    assert parse_amount("-0.00") == (Decimal("0.00"), None)  # no negative zero


@pytest.mark.parametrize("value", ["12.345", "US $0.001", 12.345])
def test_more_than_2_decimals(value):
    fails(parse_amount, value, "more than 2 decimals")


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "$",
        "12,34",
        "1.2E+3",
        "US $1 2",
        "$12.34 USD",
        "--5",
        "(5",
        "(-5)",
        True,
        date.today(),
    ],
)
def test_junk_is_not_an_amount(value):
    fails(parse_amount, value, "not an amount")


def test_the_cell_currency_wins_over_the_file_default():
    assert parse_money("88.00", default_currency="USD") == Money(Decimal("88.00"), "USD")
    assert parse_money("CN¥88.00", default_currency="USD") == Money(Decimal("88.00"), "CNY")
    assert parse_money("US $1.00", default_currency="CNY") == Money(Decimal("1.00"), "USD")
    assert parse_money("", default_currency="USD") is None


def test_amounts_are_never_floats():
    amount, _ = parse_amount(0.1)
    assert type(amount) is Decimal and amount == Decimal("0.10")


def test_currencies():
    assert [parse_currency(v) for v in ["USD", "usd", "美元", "CNY", "RMB", "人民币"]] == [
        "USD",
        "USD",
        "USD",
        "CNY",
        "CNY",
        "CNY",
    ]
    fails(parse_currency, "EUR", "unknown currency: 'EUR'")


@pytest.mark.parametrize(
    ("value", "rate"), [("7.1800", "7.18"), ("7.123456", "7.123456"), (7.1234, "7.1234"), (7, "7")]
)
def test_rates_have_up_to_6_decimals(value, rate):
    assert parse_rate(value) == Decimal(rate)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7.1234567", "more than 6 decimals"),
        ("0", "rate must be more than zero"),
        ("-7.1", "rate must be more than zero"),
        ("7,18", "not a rate"),
        ("CNY 7.18", "not a rate"),
    ],
)
def test_bad_rates(value, message):
    fails(parse_rate, value, message)


# Time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-09 14:05:33",
        "2026/03/09 14:05:33",
        "03/09/2026 14:05:33",  # month first
        "3/9/2026 2:05:33 PM",
        "2026-03-09T14:05:33",
        "2026-03-09T21:05:33Z",
        "2026-03-10T05:05:33+08:00",
        "2026-03-09T14:05:33-07:00",
        datetime(2026, 3, 9, 14, 5, 33),  # XLSX datetime: naive, so Los Angeles time
    ],
)
def test_every_timestamp_format_to_utc(value):
    assert parse_timestamp(value) == datetime(2026, 3, 9, 21, 5, 33, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-03-09 14:05", "2026/03/09 14:05", "03/09/2026 14:05"])
def test_timestamps_without_seconds(value):
    assert parse_timestamp(value) == datetime(2026, 3, 9, 21, 5, tzinfo=UTC)


def test_naive_times_are_in_the_file_time_zone_offsets_are_not():
    assert parse_timestamp("2026-03-09 14:05", tz=SHANGHAI) == datetime(
        2026, 3, 9, 6, 5, tzinfo=UTC
    )
    assert parse_timestamp("2026-03-09T14:05:00Z", tz=SHANGHAI) == datetime(
        2026, 3, 9, 14, 5, tzinfo=UTC
    )
    # winter in Los Angeles is UTC-8, summer UTC-7
    assert parse_timestamp("2026-01-15 12:00") == datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
    assert parse_timestamp("2026-07-15 12:00") == datetime(2026, 7, 15, 19, 0, tzinfo=UTC)


def test_month_first_is_not_day_first():
    assert parse_timestamp("04/07/2026 17:03").date() == date(2026, 4, 8)  # April 7th, 17:03 PDT
    fails(parse_timestamp, "13/09/2026 14:05", "not a date and time (e.g. 2026-03-09 14:05:33)")


def test_a_wall_time_the_clocks_skipped_is_an_error():
    fails(
        parse_timestamp,
        "2026-03-08 02:30",
        "2026-03-08 02:30 does not exist in America/Los_Angeles (clocks went forward)",
    )


@pytest.mark.parametrize(
    "value", ["2026-03-09", "yesterday", "03/09/26 14:05", "2026-02-30 10:00", 46090.5, time(14, 5)]
)
def test_not_a_timestamp(value):
    fails(parse_timestamp, value, "not a date and time (e.g. 2026-03-09 14:05:33)")


@pytest.mark.parametrize(
    "value", ["2026-03-09", "2026/03/09", "03/09/2026", date(2026, 3, 9), datetime(2026, 3, 9)]
)
def test_dates(value):
    assert parse_date(value) == date(2026, 3, 9)


def test_not_a_date():
    fails(parse_date, "09.03.2026", "not a date (e.g. 2026-03-09)")
    fails(
        parse_date, datetime(2026, 3, 9, 10), "not a date (e.g. 2026-03-09): it has a time of day"
    )


def test_timezone_named():
    assert timezone_named("Asia/Shanghai") == SHANGHAI
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        timezone_named("Mars/Base")


# Shipping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "carrier", "tracking"),
    [
        ("Cainiao:LP00123456789CN", "Cainiao", "LP00123456789CN"),
        (
            "AliExpress Standard Shipping:LP705979998169CN",
            "AliExpress Standard Shipping",
            "LP705979998169CN",
        ),
        ("China Post : LP1 ", "China Post", "LP1"),
        ("菜鸟\uff1aLP00123456789CN", "菜鸟", "LP00123456789CN"),  # full-width colon
        ("DHL: Express:123", "DHL: Express", "123"),  # split on the last colon
    ],
)
def test_carrier_and_tracking(value, carrier, tracking):
    assert parse_parcels(value) == ((carrier, tracking),)


@pytest.mark.parametrize(
    ("value", "parcels"),
    [
        ("美国邮政:9400111899223197428490\n", (("美国邮政", "9400111899223197428490"),)),
        ("Seller Shipping US\n:9400111899223", (("Seller Shipping US", "9400111899223"),)),
        (
            "美国邮政:9400111899223197428490\r\n4PX\uff1aLP00123456789CN\n",
            (("美国邮政", "9400111899223197428490"), ("4PX", "LP00123456789CN")),
        ),
    ],
)
def test_the_seller_centers_tracking_cells_are_parcels(value, parcels):
    assert parse_parcels(value) == parcels


@pytest.mark.parametrize("value", ["LP00123456789CN", "Cainiao:", ":LP1"])
def test_carrier_and_tracking_need_both(value):
    fails(
        parse_parcels,
        value,
        "expected carrier:tracking number (e.g. Cainiao:LP00123456789CN), one parcel a line: "
        + repr(value),
    )


def test_at_most_twenty_parcels():
    fails(parse_parcels, "\n".join(f"4PX:LP{i}" for i in range(21)), "more than 20 parcels")


# Words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("Awaiting payment", OrderState.UNPAID),
        ("等待买家付款", OrderState.UNPAID),
        ("PLACE_ORDER_SUCCESS", OrderState.UNPAID),
        ("Awaiting shipment", OrderState.PAID),
        ("等待您发货", OrderState.PAID),
        ("WAIT_SELLER_SEND_GOODS", OrderState.PAID),
        ("Risk control", OrderState.PAID),
        ("订单处于风控24小时中", OrderState.PAID),
        ("RISK_CONTROL", OrderState.PAID),
        ("Awaiting delivery", OrderState.SHIPPED),
        ("等待买家收货", OrderState.SHIPPED),
        ("WAIT_BUYER_ACCEPT_GOODS", OrderState.SHIPPED),
        ("In dispute", OrderState.DISPUTED),
        ("纠纷中", OrderState.DISPUTED),
        ("IN_ISSUE", OrderState.DISPUTED),
        ("Finished", FINISHED),
        ("已结束", FINISHED),
        ("FINISH", FINISHED),
        (" awaiting   PAYMENT ", OrderState.UNPAID),
    ],
)
def test_order_statuses(value, state):
    assert parse_order_status(value).target == state
    assert parse_order_status(value).inexact == INEXACT.get(value, "")


INEXACT = {
    "Risk control": "in risk control on the platform: recorded as paid",
    "订单处于风控24小时中": "in risk control on the platform: recorded as paid",
    "RISK_CONTROL": "in risk control on the platform: recorded as paid",
}


@pytest.mark.parametrize(
    ("value", "target", "exact"),
    [
        ("等待发货", OrderState.PAID, True),
        ("部分发货", OrderState.SHIPPED, False),
        ("SELLER_PART_SEND_GOODS", OrderState.SHIPPED, False),
        ("交易完成", OrderState.COMPLETED, True),
        ("订单关闭", CLOSED, True),
        ("订单结束", FINISHED, True),
        ("含纠纷中的订单", OrderState.DISPUTED, True),
        ("冻结中", AS_SHOWN, False),
        ("冻结中的订单", AS_SHOWN, False),
        ("IN_FROZEN", AS_SHOWN, False),
        ("资金处理中", AS_SHOWN, False),
        ("FUND_PROCESSING", AS_SHOWN, False),
        ("买家申请取消", AS_SHOWN, False),
        ("IN_CANCEL", AS_SHOWN, False),
        ("风控中", OrderState.PAID, False),
        ("WAIT_SELLER_EXAMINE_MONEY", OrderState.UNPAID, False),
    ],
)
def test_the_seller_centers_and_open_platforms_words(value, target, exact):
    word = parse_order_status(value)
    assert word.target == target
    assert (word.inexact == "") is exact


def test_unknown_status_repeats_the_value():
    fails(parse_order_status, "Teleported", "unknown status: 'Teleported'")
    fails(parse_order_status, "paid", "unknown status: 'paid'")  # platform words only
    fails(parse_order_status, "x" * 100, f"unknown status: {'x' * 57 + '...'!r}")


@pytest.mark.parametrize(
    ("code", "target", "reason"),
    [
        ("Buyer_Accept_Goods", OrderState.COMPLETED, EndReason.BUYER_ACCEPT_GOODS),
        ("buyer_accept_goods_timeout", OrderState.COMPLETED, EndReason.BUYER_ACCEPT_GOODS),
        ("buyer_pay_timeout", OrderState.CANCELLED, EndReason.PAY_TIMEOUT),
        ("buyer_cancel_notpay_order", OrderState.CANCELLED, EndReason.BUYER_CANCEL),
        ("cancel_order_close_trade", CLOSED, EndReason.BUYER_CANCEL),
        ("seller_send_goods_timeout", OrderState.REFUNDED, EndReason.REFUNDED),
        ("buyer_cancel_order_in_risk", CLOSED, EndReason.BUYER_CANCEL),
        ("risk_reject_closed", CLOSED, EndReason.RISK_REJECTED),
        ("seller_accept_issue_no_goods_return", OrderState.REFUNDED, EndReason.REFUNDED),
        ("seller_response_issue_timeout", OrderState.REFUNDED, EndReason.REFUNDED),
    ],
)
def test_end_reasons(code, target, reason):
    assert parse_end_reason(code) == (target, reason)


def test_end_reasons_and_payment_methods():
    fails(parse_end_reason, "lost", "unknown end reason: 'lost'")
    methods = ["Credit Card", "信用卡", "Debit Card", "借记卡", "T/T", "电汇", "Alipay", "支付宝"]
    assert [parse_payment_method(m) for m in [*methods, "Moneybookers"]] == [
        PaymentMethod.CREDIT_CARD,
        PaymentMethod.CREDIT_CARD,
        PaymentMethod.DEBIT_CARD,
        PaymentMethod.DEBIT_CARD,
        PaymentMethod.TT,
        PaymentMethod.TT,
        PaymentMethod.ALIPAY,
        PaymentMethod.ALIPAY,
        PaymentMethod.MONEYBOOKERS,
    ]
    codes = ["migs", "MIXEDCARD", "mb", "tt101", "ebanx101", "pp101", "wp101"]
    assert [parse_payment_method(code) for code in codes] == [
        PaymentMethod.CREDIT_CARD,
        PaymentMethod.CREDIT_CARD,
        PaymentMethod.MONEYBOOKERS,
        PaymentMethod.TT,
        PaymentMethod.EBANX,
        PaymentMethod.OTHER,
        PaymentMethod.OTHER,
    ]
    fails(parse_payment_method, "Cash", "unknown payment method: 'Cash'")


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        ("Y", True),
        ("yes", True),
        ("是", True),
        (True, True),
        ("N", False),
        ("No", False),
        ("否", False),
    ],
)
def test_booleans(value, flag):
    assert parse_bool(value) is flag


def test_not_a_boolean():
    fails(parse_bool, "maybe", "expected Y or N: 'maybe'")


@pytest.mark.parametrize(
    ("value", "state", "automatic"),
    [
        ("WAIT_SELLER_CONFIRM_REFUND", DisputeState.OPEN, False),
        ("买家提起纠纷", DisputeState.OPEN, False),
        ("SELLER_REFUSE_REFUND", DisputeState.RESPONDED, False),
        ("ARBITRATING", DisputeState.ARBITRATION, False),
        ("平台介入处理中", DisputeState.ARBITRATION, False),
        ("WAIT_BUYER_SEND_GOODS", DisputeState.AWAITING_RETURN, False),
        ("WAIT_SELLER_RECEIVE_GOODS", DisputeState.AWAITING_RETURN, False),
        ("等待买家退货", DisputeState.AWAITING_RETURN, False),
        ("买家发货\uff0c等待卖家收货", DisputeState.AWAITING_RETURN, False),  # full-width comma
        ("ACCEPTISSUE", DisputeState.RESOLVED, False),
        ("FINISH", DisputeState.RESOLVED, False),
        ("finish", DisputeState.RESOLVED, False),
        ("SELLER_RESPONSE_ISSUE_TIMEOUT", DisputeState.RESOLVED, True),
        ("CANCELED_ISSUE", DisputeState.CANCELLED, False),
        ("canceled_issue", DisputeState.CANCELLED, False),
    ],
)
def test_dispute_statuses(value, state, automatic):
    assert parse_dispute_status(value) == DisputeStatus(state, automatic)


def test_dispute_statuses_whose_meaning_depends_on_the_row_or_the_dispute():
    assert parse_dispute_status("processing") == DisputeStatus(DisputeState.OPEN, in_progress=True)
    assert parse_dispute_status("已结束") == DisputeStatus(DisputeState.RESOLVED, ended=True)


def test_an_unknown_dispute_status_repeats_the_value():
    fails(parse_dispute_status, "FOO", "unknown status 'FOO'")
    fails(parse_dispute_status, " 已取消 ", "unknown status '已取消'")


def test_dispute_reasons_map_the_known_ones_and_keep_the_text():
    assert parse_dispute_reason("Not received") == (DisputeReason.NOT_RECEIVED, "Not received")
    assert parse_dispute_reason("not as described.")[0] == DisputeReason.NOT_AS_DESCRIBED
    assert parse_dispute_reason("货不对版")[0] == DisputeReason.NOT_AS_DESCRIBED
    assert parse_dispute_reason("Damaged")[0] == DisputeReason.DAMAGED
    assert parse_dispute_reason("Wrong item")[0] == DisputeReason.WRONG_ITEM
    assert parse_dispute_reason("Buyer changed mind") == (
        DisputeReason.OTHER,
        "Buyer changed mind",
    )


def test_promotion_types():
    assert [parse_promotion_type(v) for v in ["charge", "扣费", "Top-up", "充值", "调整"]] == [
        PromotionType.CHARGE,
        PromotionType.CHARGE,
        PromotionType.TOP_UP,
        PromotionType.TOP_UP,
        PromotionType.ADJUSTMENT,
    ]
    fails(parse_promotion_type, "refund", "unknown type (charge, top-up or adjustment): 'refund'")


def test_the_words_map_to_the_models_choices():
    assert {s.value for s in OrderState} == set(Order.Status.values)
    assert {r.value for r in EndReason} == set(ModelEndReason.values)
    assert {m.value for m in PaymentMethod} == set(ModelPaymentMethod.values)
    assert {s.value for s in DisputeState} == set(Dispute.Status.values)
    assert {r.value for r in DisputeReason} == set(Reason.values)


def test_text_as_excel_shows_it():
    assert cell_text("  José Muñoz ") == "José Muñoz"
    assert cell_text(2339563) == "2339563"
    assert cell_text(8.1234567890123e15) == "8.1234567890123E+15"
    assert cell_text(datetime(2026, 3, 9, 14, 5)) == "2026-03-09 14:05:00"
    assert parse_free_text("  Bike light x1; Bell x1 ") == "  Bike light x1; Bell x1 "
