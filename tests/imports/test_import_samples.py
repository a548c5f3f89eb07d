"""The sample exports of shared/platform-exports through the importer: they land, reach the
states expected.json names, are rejected whole when bad, and change nothing the second time."""

import hashlib
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.models import AccountTransition, SellerAccount
from backoffice.composition.imports.runner import import_export
from backoffice.models import ImportFile
from disputes.models import Dispute, DisputeTransition
from orders.models import Order, OrderTransition
from payouts.models import ExchangeRate, LedgerEntry, Posting, PromotionMovement, Refund

from .helpers import SAMPLES, expected

ORDER_FILES = ["orders-en.csv", "orders-zh.csv", "orders-en.xlsx"]
ALL_FILES = [*ORDER_FILES, "disputes-en.csv", "promotion-zh.csv", "exchange-rates.csv"]
COUNTED = (
    SellerAccount,
    Order,
    Dispute,
    Posting,
    LedgerEntry,
    Refund,
    PromotionMovement,
    ExchangeRate,
    OrderTransition,
    DisputeTransition,
    AccountTransition,
    ImportFile,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def import_sample(name: str, **options):
    report = import_export(SAMPLES / name, **options)
    assert report.errors == [], report.error_lines()
    return report


def import_all() -> None:
    for name in ALL_FILES:
        import_sample(name)


def states() -> dict[str, str]:
    return dict(Order.objects.values_list("order_number", "status"))


def assert_ledger_balanced() -> None:
    for currency, total in LedgerEntry.objects.values_list("currency").annotate(Sum("amount")):
        assert Decimal(str(total)).quantize(Decimal("0.01")) == 0, currency
    for posting in Posting.objects.prefetch_related("entries"):
        by_currency: dict[str, Decimal] = {}
        for entry in posting.entries.all():
            by_currency[entry.currency] = by_currency.get(entry.currency, 0) + entry.amount
        assert set(by_currency.values()) <= {0}, posting.reference


def test_every_sample_lands_and_orders_reach_the_expected_states():
    # given the samples, in order (orders before the disputes that refer to them)
    reports = [import_sample(name) for name in ALL_FILES]

    # then every file landed, with the kind guessed from its headers
    assert [r.kind for r in reports] == [
        "orders",
        "orders",
        "orders",
        "disputes",
        "promotion",
        "exchange_rates",
    ]
    assert all(r.landed for r in reports)
    assert [r.created for r in reports] == [20, 20, 8, 3, 52, 60]
    want = expected()
    got = states()
    assert {n: got[n] for n in want["orders"]} == want["orders"]
    assert {n: got[n] for n in want["orders_xlsx"]} == want["orders_xlsx"]
    assert dict(Dispute.objects.values_list("platform_dispute_id", "status")) == want["disputes"]
    assert_ledger_balanced()


def test_unknown_stores_are_created_active_with_the_exports_name():
    report = import_sample("orders-en.csv")

    store = SellerAccount.objects.get(platform_store_id="2339563")
    assert store.name == "Shenzhen Gadget Co."
    assert store.status == "active"
    assert sorted(report.stores_created) == sorted(
        SellerAccount.objects.values_list("platform_store_id", flat=True)
    )


def test_orders_walk_through_the_transitions_with_the_rows_times():
    import_sample("orders-en.csv")

    completed = Order.objects.get(order_number="8659207294738381")
    history = list(completed.history.order_by("at").values_list("transition", "source", "target"))
    assert history == [
        ("pay", "unpaid", "paid"),
        ("ship", "paid", "shipped"),
        ("confirm", "shipped", "completed"),
    ]
    # 2026-03-17 13:56 platform time (Los Angeles, PDT) is 20:56 UTC
    assert completed.paid_at.isoformat() == "2026-03-17T20:56:00+00:00"
    assert (completed.carrier, completed.tracking_number) == ("Cainiao", "LP903419457547CN")
    assert completed.protected is True
    kinds = set(completed.postings.values_list("kind", flat=True))
    assert kinds == {"payment", "release"}
    assert completed.entries.filter(account="escrow").aggregate(s=Sum("amount"))["s"] == 0


def test_a_refunded_order_is_paid_then_refunded_from_escrow():
    import_sample("orders-zh.csv")

    order = Order.objects.get(order_number="9064029496525793")
    assert (order.status, order.end_reason) == ("refunded", "refunded")
    refund = order.refunds.get()
    assert refund.amount == order.amount == refund.from_escrow


def test_disputed_orders_wait_for_their_dispute_record():
    for name in ORDER_FILES:
        import_sample(name)
    disputed = Order.objects.get(order_number="8977137727071372")
    assert (disputed.status, disputed.disputed_from) == ("disputed", "shipped")
    assert not disputed.disputes.exists()

    import_sample("disputes-en.csv")

    dispute = Dispute.objects.get(platform_dispute_id="5698053531907")
    assert dispute.order == disputed
    assert (dispute.status, dispute.reason, dispute.requested_refund) == (
        "open",
        "not_received",
        Decimal("39.74"),
    )
    disputed.refresh_from_db()
    assert disputed.status == "disputed"  # the dispute joined the order's, no second move


def test_bad_file_is_rejected_whole_with_every_error_and_nothing_written():
    before = counts()

    report = import_export(SAMPLES / "orders-bad.csv")

    want = expected()["orders_bad_errors"]
    assert [(e.line, e.column) for e in report.errors] == [(w["line"], w["column"]) for w in want]
    for error, w in zip(report.errors, want, strict=True):
        assert w["why"].split(":")[0] in error.message
    assert report.summary() == "created 0, updated 0, unchanged 0, errors 5"
    assert not report.landed and report.import_file is None
    assert counts() == before


@pytest.mark.parametrize("name", ALL_FILES)
def test_importing_a_file_again_changes_nothing(name):
    import_all()
    before = counts()

    report = import_sample(name)

    assert (report.created, report.updated) == (0, 0)
    assert (
        report.unchanged
        == {
            "orders-en.csv": 20,
            "orders-zh.csv": 20,
            "orders-en.xlsx": 8,
            "disputes-en.csv": 3,
            "promotion-zh.csv": 52,
            "exchange-rates.csv": 60,
        }[name]
    )
    assert report.moves == {} and report.money == {}
    # nothing new but the record of the import itself
    assert counts() == {**before, "ImportFile": before["ImportFile"] + 1}


def test_each_record_remembers_its_file_and_line():
    import_all()

    order = Order.objects.get(order_number="8756160904301048")  # orders-en.csv, line 2
    source = order.source_file
    assert (source.file_name, order.source_line, source.kind) == ("orders-en.csv", 2, "orders")
    assert source.sha256 == hashlib.sha256((SAMPLES / "orders-en.csv").read_bytes()).hexdigest()
    assert (source.rows, source.created, source.finished_at is not None) == (20, 20, True)
    xlsx = Order.objects.get(order_number="8550084159525624")
    assert (xlsx.source_file.file_name, xlsx.source_line) == ("orders-en.xlsx", 9)
    dispute = Dispute.objects.get(platform_dispute_id="5326719673647")
    assert (dispute.source_file.file_name, dispute.source_line) == ("disputes-en.csv", 3)
    movement = PromotionMovement.objects.get(reference="P2339563-0000")
    assert (movement.source_file.kind, movement.source_line) == ("promotion", 2)
    rate = ExchangeRate.objects.order_by("date").first()
    assert (rate.source_file.file_name, rate.source_line) == ("exchange-rates.csv", 2)


def test_promotion_statement_moves_the_wallets_in_cny():
    import_sample("orders-en.csv")

    report = import_sample("promotion-zh.csv")

    charge = PromotionMovement.objects.get(reference="P2339563-0000")
    assert (charge.kind, charge.amount) == ("charge", Decimal("-600.38"))
    top_up = PromotionMovement.objects.get(reference="T2339563-0000")
    assert (top_up.kind, top_up.amount) == ("top_up", Decimal("1000.00"))
    assert top_up.method == "bank_transfer"  # a statement does not say how
    wallet = LedgerEntry.objects.filter(
        store__platform_store_id="2339563", account="promotion"
    ).aggregate(s=Sum("amount"))["s"]
    assert report.money["2339563"]["promotion"] == Decimal(str(wallet)).quantize(Decimal("0.01"))
    assert_ledger_balanced()


def test_exchange_rates_land_and_a_changed_rate_updates(tmp_path):
    import_sample("exchange-rates.csv")
    assert ExchangeRate.objects.get(date="2026-03-01").rate_to_cny == Decimal("7.18")

    changed = tmp_path / "rates.csv"
    changed.write_text("Date,Currency,Rate to CNY\n2026-03-01,USD,7.2001\n2026-03-02,USD,7.1811\n")
    report = import_export(changed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    rate = ExchangeRate.objects.get(date="2026-03-01")
    assert (rate.rate_to_cny, rate.source_file.file_name, rate.source_line) == (
        Decimal("7.2001"),
        "rates.csv",
        2,
    )
