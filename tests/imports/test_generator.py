"""The benchmark's file generator writes exports the parsing layer reads without a single error,
with timelines and references that hold together."""

import csv
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import SellerAccount
from backoffice.composition.imports.runner import import_export
from backoffice.imports.choices import OrderState
from backoffice.imports.headers import Kind
from backoffice.imports.parse import open_export
from benchmarks.generate import (
    SELLER_CENTER_HEADERS,
    SELLER_CENTER_STORE,
    generate,
    seller_center_days,
)
from orders.models import Order
from payouts.services import exchange_rate_set

ROWS = 500


def parse(path, kind):
    with open_export(path) as export:
        assert export.kind == kind
        assert export.warnings == ()
        results = list(export.results())
    assert [error for result in results for error in result.errors] == []
    return [result.row for result in results]


@pytest.fixture
def orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    assert generate("orders", path, rows=ROWS, seed=3, stores=20) == ROWS
    return path


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"encoding": "gb18030", "chinese": True},
        {"encoding": "utf-8-sig", "delimiter": "\t"},
        {"fmt": "xlsx"},
        {"fmt": "xlsx", "chinese": True},
    ],
    ids=["csv", "gb18030-chinese", "bom-tab", "xlsx", "xlsx-chinese"],
)
def test_orders_parse_without_errors_in_every_format(tmp_path, options):
    path = tmp_path / f"orders.{options.get('fmt', 'csv')}"
    generate("orders", path, rows=ROWS, seed=3, stores=20, **options)

    rows = parse(path, Kind.ORDERS)

    assert len(rows) == ROWS
    assert len({row.order_number for row in rows}) == ROWS
    assert all(len(row.order_number) == 16 for row in rows)
    assert len({row.store_id for row in rows}) <= 20


def test_orders_mix_every_state_with_consistent_timelines(orders_csv):
    rows = parse(orders_csv, Kind.ORDERS)

    states = Counter(row.state for row in rows)
    assert set(states) == set(OrderState)
    assert 0.30 < states[OrderState.COMPLETED] / ROWS < 0.50
    for row in rows:
        moments = [row.ordered_at, row.paid_at, row.shipped_at, row.confirmed_at]
        given = [moment for moment in moments if moment is not None]
        assert given == sorted(given) and len(set(given)) == len(given), row
        assert (not row.parcels) == (row.shipped_at is None)
        if row.product_total is not None:
            assert row.product_total.amount + row.shipping_cost.amount == row.amount.amount


def test_orders_use_every_amount_and_time_style(orders_csv):
    text = orders_csv.read_text()

    for amount in ("US $", ",$", "USD "):
        assert amount in text
    for stamp in (
        r"2026-\d\d-\d\d \d\d:\d\d:\d\d,",  # seconds
        r"2026/\d\d/\d\d \d\d:\d\d,",
        r"\d\d/\d\d/2026 \d\d:\d\d,",  # month first
        r"2026-\d\d-\d\dT\d\d:\d\d:\d\d-0[78]:00,",  # ISO 8601, platform offset
        r"T\d\d:\d\d:\d\d\+08:00,",  # ISO 8601, Beijing time
    ):
        assert re.search(stamp, text), stamp


def test_the_same_seed_gives_the_same_file(tmp_path, orders_csv):
    again = tmp_path / "again.csv"
    other = tmp_path / "other.csv"
    generate("orders", again, rows=ROWS, seed=3, stores=20)
    generate("orders", other, rows=ROWS, seed=4, stores=20)

    assert again.read_bytes() == orders_csv.read_bytes()
    assert other.read_bytes() != orders_csv.read_bytes()


def test_disputes_are_opened_on_the_disputed_orders_after_shipping(tmp_path, orders_csv):
    orders = {row.order_number: row for row in parse(orders_csv, Kind.ORDERS)}
    disputed = [row for row in orders.values() if row.state == OrderState.DISPUTED]
    path = tmp_path / "disputes.csv"

    generate("disputes", path, rows=ROWS, seed=3, orders=orders_csv)
    disputes = parse(path, Kind.DISPUTES)

    assert len(disputes) == len(disputed) > 0  # every disputed order of the file, at most ROWS
    assert len({dispute.dispute_id for dispute in disputes}) == len(disputes)
    for dispute in disputes:
        order = orders[dispute.order_number]
        assert order.state == OrderState.DISPUTED
        assert dispute.opened_at > order.shipped_at
        assert 0 < dispute.requested_refund.amount <= order.amount.amount


def test_disputes_need_an_orders_file(tmp_path):
    with pytest.raises(SystemExit, match="--orders"):
        generate("disputes", tmp_path / "disputes.csv", rows=ROWS)


@pytest.mark.parametrize("chinese", [False, True])
def test_promotion_statements_parse_without_errors(tmp_path, orders_csv, chinese):
    path = tmp_path / "promotion.csv"

    generate(
        "promotion",
        path,
        rows=ROWS,
        seed=3,
        orders=orders_csv,
        chinese=chinese,
        encoding="gb18030" if chinese else "utf-8",
        delimiter="\t" if chinese else ",",
    )
    lines = parse(path, Kind.PROMOTION)

    stores = {row.store_id for row in parse(orders_csv, Kind.ORDERS)}
    assert len(lines) == ROWS
    assert len({line.reference for line in lines}) == ROWS
    assert {line.store_id for line in lines} <= stores
    assert {line.amount.currency for line in lines} == {"CNY"}


def test_exchange_rates_parse_without_errors(tmp_path):
    path = tmp_path / "rates.csv"

    generate("exchange_rates", path, rows=ROWS, seed=3, encoding="utf-8-sig")
    rates = parse(path, Kind.EXCHANGE_RATES)

    assert len(rates) == ROWS
    assert len({rate.date for rate in rates}) == ROWS


# --- the seller center's own export (one store, Chinese columns, no end reason) ---------------

SELLER_CENTER_ROWS = 300
STORE = SELLER_CENTER_STORE.platform_id


def _generated_states(path):
    """What each generated row is to import as, read from the file itself: 订单关闭 refunded
    when paid, else cancelled; 风控中 paid (with a warning)."""
    words = {
        "等待买家付款": "unpaid",
        "等待发货": "paid",
        "风控中": "paid",
        "等待买家收货": "shipped",
        "纠纷中": "disputed",
        "交易完成": "completed",
    }
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    states = Counter(
        words.get(row["订单状态"]) or ("refunded" if row["付款时间"] else "cancelled")
        for row in rows
    )
    return rows, states


@pytest.fixture(params=["USD", "CNY"])
def seller_center_csv(request, tmp_path):
    path = tmp_path / f"seller-center-{request.param}.csv"
    written = generate(
        "orders",
        path,
        rows=SELLER_CENTER_ROWS,
        seed=3,
        layout="seller-center",
        currency=request.param,
    )
    assert written == SELLER_CENTER_ROWS
    return path, request.param


def _record_rates(rate="7.18"):
    first, last = seller_center_days()
    for k in range((last - first).days + 1):
        exchange_rate_set(actor=None, day=first + timedelta(days=k), rate=Decimal(rate))


def test_seller_center_file_has_the_real_layout(seller_center_csv):
    path, currency = seller_center_csv
    rows, states = _generated_states(path)

    assert list(rows[0]) == list(SELLER_CENTER_HEADERS) and len(SELLER_CENTER_HEADERS) == 23
    assert set(states) == {"unpaid", "paid", "shipped", "disputed", "completed"} | {
        "refunded",
        "cancelled",
    }
    assert 0.30 < states["completed"] / SELLER_CENTER_ROWS < 0.50
    amount = r"US \$[\d,]+\.\d\d" if currency == "USD" else r"CN￥ [\d,]+\.\d\d"
    assert all(re.fullmatch(amount, row["订单金额"]) for row in rows)
    assert all(re.fullmatch(r"\d\d/\d\d/2026 \d\d:\d\d", row["下单时间"]) for row in rows)
    tracking = [row["实际发货单号"] for row in rows if row["实际发货单号"]]
    assert any(cell.endswith("\n") for cell in tracking)
    assert any(len(cell.split()) == 2 for cell in tracking)  # two parcels on two lines
    assert all(row["确认收货时间"] for row in rows if row["订单状态"] == "交易完成")


def test_seller_center_file_parses_without_errors(seller_center_csv):
    path, currency = seller_center_csv

    with open_export(path, store=STORE) as export:
        assert export.kind == Kind.ORDERS
        warnings = export.warnings
        results = list(export.results())

    assert [error for result in results for error in result.errors] == []
    # the personal-data columns read and not kept; no shipping-time column
    assert any(warning.startswith("columns read but not kept") for warning in warnings)
    assert "shipped at its payment time" in warnings[-1]
    parsed = [result.row for result in results]
    assert {row.store_id for row in parsed} == {STORE}
    assert {row.amount.currency for row in parsed} == {currency}
    assert any(len(row.parcels) == 2 for row in parsed)
    for row in parsed:
        moments = [row.ordered_at, row.paid_at, row.confirmed_at]
        given = [moment for moment in moments if moment is not None]
        assert given == sorted(given) and len(set(given)) == len(given), row
        if row.parcels:
            assert row.shipped_at == row.paid_at


def test_seller_center_columns_are_all_known(tmp_path):
    path = tmp_path / "seller-center.csv"
    generate("orders", path, rows=5, seed=3, layout="seller-center")

    with open_export(path, store=STORE) as export:
        warnings = export.warnings

    assert [warning for warning in warnings if warning.startswith("unknown column")] == []
    assert len(warnings) == 2


def test_seller_center_file_lands_and_lands_again_unchanged(seller_center_csv):
    path, currency = seller_center_csv
    if currency == "CNY":
        _record_rates()
    _, states = _generated_states(path)
    options = {"store": STORE, "store_name": SELLER_CENTER_STORE.name}

    report = import_export(path, **options)

    assert report.error_count == 0, report.error_lines()[:3]
    assert report.landed
    assert report.created == SELLER_CENTER_ROWS
    assert report.stores_created == [STORE]
    orders = Order.objects.filter(store__platform_store_id=STORE)
    assert Counter(orders.values_list("status", flat=True)) == states
    assert Counter(target for (_, target), count in report.moves.items() for _ in range(count)) == (
        states
    )
    store = SellerAccount.objects.get(platform_store_id=STORE)
    assert store.settlement_currency == currency
    if currency == "CNY":
        assert set(orders.values_list("original_currency", flat=True)) == {"CNY"}

    again = import_export(path, **options)

    assert again.error_count == 0 and again.landed
    assert (again.created, again.updated, again.unchanged) == (0, 0, SELLER_CENTER_ROWS)
    assert again.stores_created == []
    assert Counter(orders.values_list("status", flat=True)) == states


def test_seller_center_cny_file_without_rates_is_refused(tmp_path):
    path = tmp_path / "seller-center-cny.csv"
    generate("orders", path, rows=20, seed=3, layout="seller-center", currency="CNY")

    report = import_export(path, store=STORE, store_name=SELLER_CENTER_STORE.name)

    assert report.error_count == 20 and not report.landed
    assert "no USD/CNY exchange rate" in str(report.errors[0])


def test_seller_center_layout_is_for_orders_only(tmp_path):
    with pytest.raises(SystemExit, match="orders"):
        generate("promotion", tmp_path / "p.csv", rows=5, layout="seller-center")
    with pytest.raises(SystemExit, match="seller-center"):
        generate("orders", tmp_path / "o.csv", rows=5, currency="CNY")
