import re

import pytest

from backoffice.imports.errors import FileError
from backoffice.imports.headers import (
    COLUMNS,
    Kind,
    guess_kind,
    map_headers,
    normalize_header,
)
from backoffice.imports.reading import open_table

from .helpers import SAMPLES

FULL_WIDTH_COLON = "\uff1a"
ORDER_HEADERS = ["Order No.", "Store ID", "Order Status", "Order Time", "Order Amount"]


@pytest.mark.parametrize(
    "header",
    [
        "Order No.",
        " ORDER NO. ",
        "order   no.",
        f"Order No.{FULL_WIDTH_COLON}",
        "Order No.:",
        "\ufeffOrder No.",
        "订单号",
        f"订单号{FULL_WIDTH_COLON}",
        " 订单号 : ",
        "\uff2f\uff52\uff44\uff45\uff52 \uff2e\uff4f\uff0e",  # full-width, as an IME types it
    ],
)
def test_header_matching_ignores_case_spaces_bom_and_a_trailing_colon(header):
    headers = map_headers(Kind.ORDERS, [header, *ORDER_HEADERS[1:]])
    assert headers.positions["order_number"] == 0


def test_the_carrier_tracking_header_keeps_its_inner_colon():
    assert normalize_header(" Carrier : Tracking No. ") == normalize_header("Carrier:Tracking No.")
    assert normalize_header(
        f"实际发货物流{FULL_WIDTH_COLON}运单号{FULL_WIDTH_COLON}"
    ) == normalize_header("实际发货物流:运单号")


def test_labels_are_the_file_headers_as_written_or_spec_english_when_absent():
    headers = map_headers(Kind.ORDERS, [" ORDER NO. ", "店铺ID", *ORDER_HEADERS[2:]])
    assert headers.labels["order_number"] == "ORDER NO."
    assert headers.labels["store_id"] == "店铺ID"
    assert headers.labels["paid_at"] == "Payment Time"


def test_unknown_columns_are_one_warning_each_for_the_whole_file():
    headers = map_headers(Kind.ORDERS, [*ORDER_HEADERS, "Coupon", "Coupon", "", "Notes"])
    assert headers.warnings == ("unknown column 'Coupon' ignored", "unknown column 'Notes' ignored")


def test_missing_required_columns_are_named_in_english_and_chinese():
    with pytest.raises(FileError) as error:
        map_headers(Kind.ORDERS, ["Order No.", "Store ID", "Order Status"])
    assert str(error.value) == (
        "missing required columns for orders: Order Time (下单时间), Order Amount (订单金额)"
    )


def test_a_column_given_twice_is_refused():
    with pytest.raises(FileError, match=re.escape("'Order No.' and '订单号' are both Order No.")):
        map_headers(Kind.ORDERS, [*ORDER_HEADERS, "订单号"])


def test_cells_are_keyed_by_field_with_none_for_absent_columns_and_short_rows():
    headers = map_headers(Kind.ORDERS, ["Order Amount", *ORDER_HEADERS[:4]])
    cells = headers.cells(["US $1.00", "8756160904301048", "2339563"])
    assert cells["amount"] == "US $1.00"
    assert cells["order_number"] == "8756160904301048"
    assert cells["status"] is None  # short row
    assert cells["paid_at"] is None  # no such column
    assert set(cells) == {column.field for column in COLUMNS[Kind.ORDERS]}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("orders-en.csv", Kind.ORDERS),
        ("orders-zh.csv", Kind.ORDERS),
        ("orders-en.xlsx", Kind.ORDERS),
        ("orders-bad.csv", Kind.ORDERS),
        ("disputes-en.csv", Kind.DISPUTES),
        ("promotion-zh.csv", Kind.PROMOTION),
        ("exchange-rates.csv", Kind.EXCHANGE_RATES),
    ],
)
def test_the_kind_is_guessed_from_every_sample_and_its_headers_map(name, kind):
    with open_table(SAMPLES / name) as table:
        assert guess_kind(table.headers) == kind
        assert map_headers(kind, table.headers).warnings == ()


def test_headers_that_fit_two_kinds_are_ambiguous():
    both = ["Date", "Currency", "Rate to CNY", "Store ID", "Type", "Amount", "Reference"]
    with pytest.raises(FileError, match=r"several kinds .*promotion, exchange_rates"):
        guess_kind(both)


def test_headers_that_fit_no_kind_ask_for_one():
    with pytest.raises(FileError, match="fit no kind of export"):
        guess_kind(["Order No.", "Buyer Name"])
