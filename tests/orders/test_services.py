"""Order services: every edge of the state machine both ways, permissions, reminders."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.errors import error_code
from backoffice.unit_of_work import unit_of_work
from orders.models import Order, Product
from orders.services import (
    apply_confirm,
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_send_payment_reminder,
    order_ship,
)
from tests import factories as f

STATES = [s.value for s in Order.Status]
AT = f.T0 + timedelta(days=10)  # after every factory step, inside the dispute window


def _pay(o, actor):
    return order_mark_paid(order_id=o.pk, actor=actor, payment_method="alipay", at=AT)


def _ship(o, actor):
    return order_ship(order_id=o.pk, actor=actor, carrier="Cainiao", tracking_number="LP9CN", at=AT)


def _confirm(o, actor):
    return order_confirm_receipt(order_id=o.pk, actor=actor, at=AT)


def _cancel(o, actor):
    return order_cancel(order_id=o.pk, actor=actor, reason="out_of_stock", at=AT)


# transition -> {source: target}; every other source must be refused. The dispute edges
# (paid|shipped|completed -> disputed -> ...) are driven by tests/disputes/test_services.py.
EDGES = {
    _pay: {"unpaid": "paid"},
    _ship: {"paid": "shipped"},
    _confirm: {"shipped": "completed"},
    _cancel: {"unpaid": "cancelled", "paid": "refunded"},
}
CASES = [(fn, state) for fn in EDGES for state in STATES]


def _snapshot(o: Order) -> tuple:
    o.refresh_from_db()
    return o.status, o.history.count(), o.updated_at


@pytest.mark.parametrize(("service", "state"), CASES, ids=[f"{fn.__name__}-{s}" for fn, s in CASES])
def test_every_order_edge_moves_or_is_refused(service, state):
    # given an order in `state` and a support agent
    agent = f.staff("support")
    o = f.order(status=state)
    before = _snapshot(o)
    target = EDGES[service].get(state)

    if target is None:
        # when a forbidden edge is tried, then it is refused and nothing changed
        with pytest.raises(ValidationError) as exc:
            service(o, agent)
        assert error_code(exc.value) == "invalid_transition"
        assert _snapshot(o) == before
    else:
        # when an allowed edge is tried, then the order moves and the move is audited
        service(o, agent)
        o.refresh_from_db()
        assert o.status == target
        last = o.history.last()
        assert (last.source, last.target, last.actor) == (state, target, agent)
        assert o.history.count() == before[1] + 1


def test_transition_records_fields_and_note():
    o = f.order(status="paid")
    order_ship(order_id=o.pk, actor=None, carrier=" 4PX ", tracking_number=" LP1 ")
    o.refresh_from_db()
    assert (o.carrier, o.tracking_number) == ("4PX", "LP1")
    assert o.shipped_at is not None
    assert o.history.last().note == "4PX LP1"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("carrier", {"carrier": "", "tracking_number": "X"}),
        ("trackingNumber", {"carrier": "Cainiao", "tracking_number": "  "}),
    ],
)
def test_ship_needs_carrier_and_tracking(field, kwargs):
    o = f.order(status="paid")
    with pytest.raises(ValidationError) as exc:
        order_ship(order_id=o.pk, actor=None, **kwargs)
    assert field in exc.value.message_dict
    assert _snapshot(o)[0] == "paid"


def test_unknown_cancel_reason_is_invalid_and_changes_nothing():
    o = f.order(status="unpaid")
    with pytest.raises(ValidationError) as exc:
        order_cancel(order_id=o.pk, actor=None, reason="bored")
    assert error_code(exc.value) == "invalid"
    assert _snapshot(o)[:2] == ("unpaid", 0)


def test_out_of_stock_cancellation_delists_the_product_in_the_same_step():
    account = f.store()
    product = Product.objects.create(store=account, sku="LED-5M", title="LED strip")
    o = f.order(account, status="paid", product_id=product.pk)
    order_cancel(order_id=o.pk, actor=None, reason="out_of_stock", delist_product=True)
    o.refresh_from_db()
    product.refresh_from_db()
    assert (o.status, o.end_reason) == ("refunded", "out_of_stock")
    assert product.listed is False and product.delisted_at == o.closed_at


def test_delisting_is_only_for_out_of_stock():
    account = f.store()
    product = Product.objects.create(store=account, sku="A", title="A")
    o = f.order(account, status="paid", product_id=product.pk)
    with pytest.raises(ValidationError):
        order_cancel(order_id=o.pk, actor=None, reason="buyer_cancel", delist_product=True)
    product.refresh_from_db()
    assert product.listed and _snapshot(o)[0] == "paid"


def test_unknown_order_is_not_found():
    with pytest.raises(ValidationError) as exc:
        order_ship(order_id=999_999, actor=None, carrier="a", tracking_number="b")
    assert error_code(exc.value) == "not_found"


# --- permissions ---


def test_seller_ships_and_cancels_its_own_orders():
    account = f.store()
    me = f.seller(account)
    _ship(f.order(account, status="paid"), me)
    _cancel(f.order(account, status="unpaid"), me)


@pytest.mark.parametrize("service", [_pay, _confirm])
def test_seller_cannot_mark_paid_or_confirm(service):
    account = f.store()
    o = f.order(account, status="unpaid" if service is _pay else "shipped")
    before = _snapshot(o)
    with pytest.raises(PermissionDenied) as exc:
        service(o, f.seller(account))
    assert exc.value.code == "permission_denied"
    assert _snapshot(o) == before


def test_seller_cannot_touch_another_stores_order():
    o = f.order(status="paid")
    with pytest.raises(PermissionDenied):
        _ship(o, f.seller(f.store()))
    assert _snapshot(o)[0] == "paid"


@pytest.mark.parametrize("role", [None, "finance", "risk"])
def test_staff_without_order_permission_is_refused(role):
    o = f.order(status="paid")
    with pytest.raises(PermissionDenied):
        _ship(o, f.staff(role))
    assert _snapshot(o)[0] == "paid"


def test_superuser_may_do_everything():
    o = f.order(status="unpaid")
    root = f.superuser()
    _pay(o, root)
    _ship(o, root)
    _confirm(o, root)
    o.refresh_from_db()
    assert o.status == "completed"


# --- creation ---


def test_order_create_starts_unpaid_without_history():
    account = f.store()
    o = order_create(
        actor=f.seller(account),
        store_id=account.pk,
        order_number="8756160904301048",
        amount="177.09",
        buyer_name="Ana",
        buyer_country="CL",
    )
    assert (o.status, o.amount, o.history.count()) == ("unpaid", Decimal("177.09"), 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"order_number": "8.1234E+15"}, "orderNumber"),
        ({"order_number": "1" * 21}, "orderNumber"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"shipping_cost": "-1"}, "shippingCost"),
    ],
)
def test_order_create_rejects_bad_input_naming_the_field(kwargs, field):
    account = f.store()
    data = {"order_number": "1234", "amount": "10.00"} | kwargs
    with pytest.raises(ValidationError) as exc:
        order_create(actor=None, store_id=account.pk, **data)
    assert field in exc.value.message_dict
    assert error_code(exc.value) == "invalid"
    assert not Order.objects.exists()


def test_order_numbers_are_unique():
    o = f.order()
    with pytest.raises(ValidationError) as exc:
        order_create(actor=None, store_id=o.store_id, order_number=o.order_number, amount="1")
    assert "orderNumber" in exc.value.message_dict


def test_closed_store_takes_no_new_orders_but_frozen_store_does():
    closed, frozen = f.store(status="closed"), f.store(status="frozen")
    with pytest.raises(ValidationError) as exc:
        order_create(actor=None, store_id=closed.pk, order_number="1", amount="1")
    assert error_code(exc.value) == "invalid_transition"
    assert order_create(actor=None, store_id=frozen.pk, order_number="2", amount="1").pk


def test_seller_cannot_create_orders_for_another_store():
    with pytest.raises(PermissionDenied):
        order_create(actor=f.seller(f.store()), store_id=f.store().pk, order_number="1", amount="1")
    assert not Order.objects.exists()


# --- payment reminders ---


def test_payment_reminder_uses_the_polite_default_and_is_logged():
    o = f.order(status="unpaid")
    reminder = order_send_payment_reminder(order_id=o.pk, actor=f.staff("support"))
    assert o.order_number in reminder.message
    assert "ship as soon as your payment arrives" in reminder.message
    assert o.payment_reminders.count() == 1


def test_one_payment_reminder_per_order_per_24_hours(time_machine):
    o = f.order(status="unpaid")
    seller = f.seller(o.store)
    time_machine.move_to(f.T0 + timedelta(days=1))
    first = order_send_payment_reminder(order_id=o.pk, actor=seller, message="Please pay")
    time_machine.move_to(first.sent_at + timedelta(hours=24) - timedelta(seconds=1))
    with pytest.raises(ValidationError) as exc:
        order_send_payment_reminder(order_id=o.pk, actor=seller)
    assert "next one can go" in exc.value.messages[0]
    time_machine.move_to(first.sent_at + timedelta(hours=24))
    order_send_payment_reminder(order_id=o.pk, actor=seller)
    assert o.payment_reminders.count() == 2


def test_payment_reminder_only_for_unpaid_orders_of_ones_own_store():
    paid = f.order(status="paid")
    with pytest.raises(ValidationError) as exc:
        order_send_payment_reminder(order_id=paid.pk, actor=None)
    assert error_code(exc.value) == "invalid_transition"
    with pytest.raises(PermissionDenied):
        order_send_payment_reminder(order_id=f.order().pk, actor=f.seller(f.store()))
    assert not paid.payment_reminders.exists()


# --- batches ---


def test_a_unit_of_work_inserts_all_audit_rows_at_once():
    orders = [f.order(status="shipped") for _ in range(5)]
    with CaptureQueriesContext(connection) as ctx, unit_of_work() as unit:
        loaded = unit.lock_all(Order.objects.filter(pk__in=[o.pk for o in orders]))
        for o in loaded:
            apply_confirm(o, actor=None, at=f.T0 + timedelta(days=70))  # saves with the unit
    # one statement run for all rows (executemany: Django logs it as "5 times: INSERT ...")
    inserts = [
        q for q in ctx.captured_queries if 'INSERT INTO "orders_ordertransition"' in q["sql"]
    ]
    assert len(inserts) == 1
    assert all(o.history.last().target == "completed" for o in orders)
