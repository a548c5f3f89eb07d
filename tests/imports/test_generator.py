"""The benchmark's file generator writes exports the parsing layer reads without a single error,
with timelines and references that hold together."""

import re
from collections import Counter

import pytest

from backoffice.imports.choices import OrderState
from backoffice.imports.headers import Kind
from backoffice.imports.parse import open_export
from benchmarks.generate import generate

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
