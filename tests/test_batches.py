"""The unit of work the importer and the deadline jobs run the services in
(backoffice.unit_of_work, with the ledger's part in payouts.ledger): the same results as the
services alone, with the queries done per batch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backoffice import db
from backoffice.fsm import transition_graph, transition_paths
from backoffice.unit_of_work import unit_of_work
from orders.models import Order
from orders.services import apply_confirm, apply_pay, apply_ship, order_build
from payouts import ledger
from payouts.ledger import Leg, balance, post
from payouts.models import Account, LedgerEntry, Posting
from tests import factories as f


def test_reserved_ids_are_never_taken_by_an_insert_without_one():
    store = f.store()
    with transaction.atomic():
        reserved = db.reserve_ids(Order, 3)
        made = f.order(store)  # an ordinary insert meanwhile
    assert reserved == list(range(reserved[0], reserved[0] + 3))
    assert made.pk > reserved[-1]


def test_a_batch_inserts_new_rows_and_writes_changes_once_flushed():
    store = f.store()
    known = f.order(store, status="paid")
    with unit_of_work() as unit:
        batch = unit.rows
        batch.lock(Order.objects.filter(pk=known.pk))
        batch.hold(store)
        new = order_build(
            actor=None, store=store, order_number="8200000000000001", amount="5.00",
            placed_at=f.T0,
        )  # fmt: skip
        new.pk = batch.new_id(Order)
        batch.add(new)
        with CaptureQueriesContext(connection) as queries:
            same = db.lock(Order, known.pk)
            at = known.paid_at + timedelta(days=1)
            apply_ship(same, actor=None, at=at, carrier="4PX", tracking_number="LP1")  # saves
        assert same is batch.get(Order, known.pk)
        assert len(queries) == 0  # the lock came from the batch, the save and audit row wait
        assert not Order.objects.filter(pk=new.pk).exists()
    known.refresh_from_db()
    assert (known.status, known.carrier) == ("shipped", "4PX")
    assert Order.objects.get(pk=new.pk).order_number == "8200000000000001"
    assert known.history.last().target == "shipped"


def test_update_many_writes_each_rows_own_values():
    orders = [f.order(status="paid") for _ in range(3)]
    for i, order in enumerate(orders):
        order.buyer_name = f"buyer {i}"
    db.update_many(Order, orders, ["buyer_name"])
    assert [o.buyer_name for o in Order.objects.order_by("pk")] == ["buyer 0", "buyer 1", "buyer 2"]


def test_ledger_batch_reads_and_posts_like_the_database_does():
    paid = f.order(status="shipped")  # (paid for, in escrow)
    store_id = paid.store_id
    with transaction.atomic():
        with unit_of_work():
            batch = ledger.current()
            ledger.load(store_ids=[store_id], order_ids=[paid.pk])
            with CaptureQueriesContext(connection) as queries:
                held = balance(order_id=paid.pk, account=Account.ESCROW)
                apply_confirm(paid, actor=None, at=f.T0 + timedelta(days=30))
                after = balance(store_id=store_id, account=Account.AVAILABLE)
                again = post(  # the same reference twice: nothing the second time
                    reference=f"order:{paid.pk}:release",
                    kind=Posting.Kind.RELEASE,
                    at=f.T0,
                    legs=[
                        Leg(Account.ESCROW, Decimal("1.00"), store_id, paid.pk),
                        Leg(Account.BUYER_FUNDS, Decimal("-1.00")),
                    ],
                )
            assert len([q for q in queries if "ledgerentry" in q["sql"]]) == 0
            assert (held, after, again) == (paid.amount, paid.amount, None)
            assert batch.moved[(store_id, Account.AVAILABLE, "USD")] == paid.amount
        # flushed at the end of the block: the database agrees
        assert balance(store_id=store_id, account=Account.AVAILABLE) == paid.amount
        assert balance(order_id=paid.pk, account=Account.ESCROW) == 0
    assert LedgerEntry.objects.filter(posting__kind="release").count() == 2


def test_ledger_batch_reads_an_unloaded_balance_from_the_database_after_flushing():
    order = f.order()
    with unit_of_work():
        batch = ledger.current()
        apply_pay(order, actor=None, at=f.T0, payment_method="")  # posts, not loaded
        assert batch.postings
        assert balance(order_id=order.pk, account=Account.ESCROW) == order.amount
        assert not batch.postings  # flushed before the query
        assert balance(order_id=order.pk, account=Account.ESCROW, currency="CNY") == 0


@pytest.mark.parametrize(
    ("source", "target", "paths"),
    [
        ("unpaid", "refunded", [("pay", "cancel")]),
        ("unpaid", "cancelled", [("cancel",)]),
        ("paid", "completed", [("ship", "confirm")]),
        ("completed", "unpaid", []),
    ],
)
def test_paths_come_from_the_state_machines_declarations(source, target, paths):
    names = {"pay", "ship", "confirm", "cancel", "open_dispute"}
    found = [tuple(n for n, _ in p) for p in transition_paths(Order, source, target, names=names)]
    assert found == paths
    # a state computed by a function is asked per source: cancel refunds only a paid order
    assert ("cancel", "cancelled") in transition_graph(Order)["unpaid"]
    assert ("cancel", "refunded") in transition_graph(Order)["paid"]
