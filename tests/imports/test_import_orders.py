"""Orders exports through the importer: the same rules, postings and audit rows as the services,
all or nothing, dry runs, time zones, batches."""

import gc
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.services import seller_account_close
from backoffice.composition.imports import runner
from backoffice.composition.imports.runner import import_export
from orders.models import Order
from orders.services import order_confirm_receipt, order_create, order_mark_paid, order_ship
from payouts.ledger import store_balances
from payouts.models import LedgerEntry
from tests import factories as f

from .helpers import order_row, write_orders
from .test_import_samples import assert_ledger_balanced, counts

LA = ZoneInfo("America/Los_Angeles")
N1, N2, N3, N4 = "8000000000000001", "8000000000000002", "8000000000000003", "8000000000000004"


def la(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LA)


def landed(path, **options):
    report = import_export(path, **options)
    assert report.errors == [], report.error_lines()
    return report


def trail(order: Order) -> dict:
    """What the services wrote for an order: its audit rows and ledger legs."""
    return {
        "history": list(
            order.history.order_by("at", "id").values_list(
                "transition", "source", "target", "at", "note"
            )
        ),
        "legs": sorted(
            order.entries.values_list("posting__kind", "account", "currency", "amount", "at")
        ),
    }


def service_twin(order: Order, *, until: str) -> Order:
    """The same order made by the services (checkout, then each transition) in a twin store."""
    twin_store = f.store()
    twin = order_create(
        actor=None,
        store_id=twin_store.pk,
        order_number=str(int(order.order_number) + 10**18),
        amount=order.amount,
        placed_at=order.placed_at,
    )
    steps = [
        lambda: order_mark_paid(
            order_id=twin.pk, actor=None, payment_method="credit_card", at=la("2026-03-02 10:00")
        ),
        lambda: order_ship(
            order_id=twin.pk,
            actor=None,
            carrier="Cainiao",
            tracking_number="LP00123456789CN",
            at=la("2026-03-04 10:00"),
        ),
        lambda: order_confirm_receipt(order_id=twin.pk, actor=None, at=la("2026-03-20 10:00")),
    ]
    for step in steps[: ["paid", "shipped", "completed"].index(until) + 1]:
        step()
    twin.refresh_from_db()
    return twin


@pytest.mark.parametrize(("before", "after"), [("paid", "shipped"), ("shipped", "completed")])
def test_a_later_export_moves_a_known_order_as_the_services_would(tmp_path, before, after):
    # given an order imported as `before`
    landed(write_orders(tmp_path, [order_row(N1, before)], name="monday.csv"))
    # when a later export shows it `after`
    report = landed(write_orders(tmp_path, [order_row(N1, after)], name="friday.csv"))

    # then it moved through the same transition, with the same audit rows and postings as the
    # services make for an order they walk there
    order = Order.objects.get(order_number=N1)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert report.moves == {(before, after): 1}
    assert order.status == after
    mine, theirs = trail(order), trail(service_twin(order, until=after))
    assert mine == theirs
    assert (order.source_file.file_name, order.source_line) == ("friday.csv", 2)
    assert_ledger_balanced()


def test_moving_money_is_reported_per_store(tmp_path):
    landed(write_orders(tmp_path, [order_row(N1, "shipped"), order_row(N2, "paid")]))

    report = landed(write_orders(tmp_path, [order_row(N1, "completed"), order_row(N2, "paid")]))

    assert report.money == {
        "7000001": {"escrow": Decimal("-100.00"), "available": Decimal("100.00")}
    }
    assert (report.updated, report.unchanged) == (1, 1)


def test_a_move_the_state_machine_forbids_is_a_row_error_and_nothing_lands(tmp_path):
    landed(write_orders(tmp_path, [order_row(N1, "completed")]))
    before = counts()

    report = import_export(write_orders(tmp_path, [order_row(N2, "paid"), order_row(N1, "unpaid")]))

    assert report.error_lines() == ["line 3: Order Status: cannot move from completed to unpaid"]
    assert report.summary() == "created 0, updated 0, unchanged 0, errors 1"
    assert counts() == before
    assert Order.objects.get(order_number=N1).status == "completed"


def test_a_known_orders_amount_and_store_do_not_change(tmp_path):
    landed(write_orders(tmp_path, [order_row(N1, "paid")]))

    report = import_export(
        write_orders(
            tmp_path,
            [
                order_row(N1, "paid", Order_Amount="US $120.00"),
            ],
        )
    )
    other_store = import_export(write_orders(tmp_path, [order_row(N1, "paid", Store_ID="7000002")]))

    assert report.error_lines() == [
        "line 2: Order Amount: order 8000000000000001 was recorded with USD 100.00: "
        "an order's amount does not change"
    ]
    assert other_store.error_lines() == [
        "line 2: Store ID: order 8000000000000001 is of store 7000001"
    ]


def test_a_later_export_may_correct_an_orders_details(tmp_path):
    landed(write_orders(tmp_path, [order_row(N1, "paid"), order_row(N2, "paid")]))

    report = landed(
        write_orders(
            tmp_path, [order_row(N1, "paid", Buyer_Name="Ana Souza Lima"), order_row(N2, "paid")]
        )
    )

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert report.moves == {}
    order = Order.objects.get(order_number=N1)
    assert (order.buyer_name, order.source_line) == ("Ana Souza Lima", 2)


def test_the_same_order_twice_in_a_file_moves_on_from_its_first_row(tmp_path):
    rows = [order_row(N1, "unpaid"), order_row(N2, "paid"), order_row(N1, "shipped")]

    report = landed(write_orders(tmp_path, rows), batch_size=2)  # its rows in two batches

    assert (report.created, report.updated) == (2, 1)
    assert report.moves == {("new", "unpaid"): 1, ("new", "paid"): 1, ("unpaid", "shipped"): 1}
    order = Order.objects.get(order_number=N1)
    assert (order.status, order.source_line) == ("shipped", 4)
    assert list(order.history.values_list("transition", flat=True)) == ["pay", "ship"]


def test_batches_change_nothing_but_the_speed(tmp_path):
    rows = [
        order_row(str(8_000_000_000_000_100 + i), stage, Store_ID=str(7_000_001 + i % 3))
        for i, stage in enumerate(
            ["unpaid", "paid", "shipped", "completed", "refunded", "cancelled", "disputed"] * 3
        )
    ]
    path = write_orders(tmp_path, rows)

    in_one = landed(path, dry_run=True)
    in_many = landed(path, batch_size=4)

    assert (in_many.created, in_many.moves, in_many.money) == (21, in_one.moves, in_one.money)
    assert set(Order.objects.values_list("status", flat=True)) == {
        "unpaid",
        "paid",
        "shipped",
        "completed",
        "refunded",
        "cancelled",
        "disputed",
    }
    assert_ledger_balanced()
    for store_id, accounts in in_many.money.items():
        balances = store_balances(f.SellerAccount.objects.get(platform_store_id=store_id).pk)
        assert {a: balances[a] for a in accounts} == accounts


@pytest.mark.parametrize("amount", ["12.00", "12.001"], ids=["landed", "rejected"])
def test_collections_are_fewer_while_an_import_runs_and_as_before_after(tmp_path, amount):
    before = gc.get_threshold()
    during = []
    path = write_orders(tmp_path, [order_row(N1, "paid", Order_Amount=amount)])

    def progress(done: int) -> None:
        during.append((gc.get_threshold(), gc.get_freeze_count() > 0))

    report = import_export(path, progress=progress)

    assert report.landed == (amount == "12.00")
    assert during == [(runner.IMPORT_GC_THRESHOLDS, True)]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_dry_run_reports_what_would_happen_and_writes_nothing(tmp_path):
    landed(write_orders(tmp_path, [order_row(N1, "paid"), order_row(N2, "unpaid")]))
    before = counts()
    rows = [
        order_row(N1, "shipped"),
        order_row(N2, "unpaid"),
        order_row(N3, "completed", Store_ID="7000002", Store_Name="New Store"),
        order_row(N4, "refunded"),
    ]

    report = import_export(write_orders(tmp_path, rows), dry_run=True)

    assert report.summary() == "created 2, updated 1, unchanged 1, errors 0"
    assert report.moves == {
        ("paid", "shipped"): 1,
        ("new", "completed"): 1,
        ("new", "refunded"): 1,
    }
    assert report.money == {
        "7000002": {"available": Decimal("100.00")},
        # N4's payment went into escrow and back out to the buyer
    }
    assert report.stores_created == ["7000002"]
    assert not report.landed and report.import_file is None
    assert counts() == before
    assert report.move_lines()[0] == "new -> completed: 1"
    assert report.money_lines() == ["store 7000002: available USD +100.00"]


def test_timestamps_without_offset_are_in_the_named_time_zone(tmp_path):
    path = write_orders(tmp_path, [order_row(N1, "paid")])

    landed(path, tz="Asia/Shanghai")

    order = Order.objects.get(order_number=N1)
    assert order.placed_at.isoformat() == "2026-03-01T02:00:00+00:00"  # 10:00 in Beijing
    assert order.paid_at.isoformat() == "2026-03-02T02:00:00+00:00"
    with pytest.raises(ValueError, match="unknown time zone"):
        import_export(path, tz="Mars/Olympus")


def test_a_closed_store_takes_no_new_orders(tmp_path):
    store = f.store(platform_store_id="7000001")
    seller_account_close(account_id=store.pk, actor=None, reason="risk")

    report = import_export(write_orders(tmp_path, [order_row(N1, "paid")]))

    assert report.error_lines() == ["line 2: Store ID: A closed store takes no new orders."]


def test_an_actor_without_permission_imports_nothing(tmp_path):
    clerk = f.staff()  # staff without a role
    path = write_orders(tmp_path, [order_row(N1, "paid")])

    report = import_export(path, actor=clerk)
    finance = import_export(path, actor=f.staff("finance"), dry_run=True)

    assert report.error_lines() == [
        "line 2: Store ID: You need the permission 'accounts.add_selleraccount' to do this."
    ]
    assert finance.errors  # finance may not create stores or move orders either
    assert not Order.objects.exists()


def test_an_admin_imports_and_is_recorded_as_the_actor(tmp_path):
    admin = f.superuser()

    report = landed(write_orders(tmp_path, [order_row(N1, "shipped")]), actor=admin)

    assert report.import_file.actor == admin
    order = Order.objects.get(order_number=N1)
    assert set(order.history.values_list("actor", flat=True)) == {admin.pk}
    assert set(LedgerEntry.objects.values_list("posting__actor", flat=True)) == {admin.pk}


def test_cell_errors_and_rule_errors_are_all_reported(tmp_path):
    landed(write_orders(tmp_path, [order_row(N1, "completed")]))
    rows = [
        order_row(N1, "unpaid"),  # line 2: the rules refuse it
        order_row(N2, "paid"),
        order_row(N3, "paid", Order_Amount="US $1.234"),  # line 4: a cell error
    ]

    report = import_export(write_orders(tmp_path, rows))

    assert report.error_lines() == [
        "line 2: Order Status: cannot move from completed to unpaid",
        "line 4: Order Amount: more than 2 decimals",
    ]
    assert any("line 2 was refused" in warning for warning in report.warnings)


def test_errors_beyond_the_cap_are_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "MAX_ERRORS", 2)
    rows = [order_row(str(8_000_000_000_000_010 + i), Order_Amount="-1") for i in range(5)]

    report = import_export(write_orders(tmp_path, rows))

    assert report.summary() == "created 0, updated 0, unchanged 0, errors 5"
    assert len(report.errors) == 2
    assert report.error_lines()[-1] == "... and 3 more errors"


def test_an_unknown_column_is_a_warning_once(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order No.,Store ID,Store Name,Order Status,Order Time,Order Amount,Remark,Remark\n"
        f"{N1},7000001,Test Store,Awaiting payment,2026-03-01 10:00,$10.00,a,b\n"
        f"{N2},7000001,Test Store,Awaiting payment,2026-03-01 10:00,$10.00,c,d\n"
    )

    report = landed(path)

    assert report.warnings == ["unknown column 'Remark' ignored"]
    assert report.created == 2
    assert report.import_file.warnings == ["unknown column 'Remark' ignored"]


def test_the_kind_is_guessed_from_the_headers_or_named(tmp_path):
    path = write_orders(tmp_path, [order_row(N1)])

    assert landed(path, dry_run=True).kind == "orders"
    assert landed(path, kind="orders", dry_run=True).kind == "orders"
    with pytest.raises(runner.FileError, match="missing required columns for disputes"):
        import_export(path, kind="disputes")
