"""An order's amount is its product total plus shipping when both are given: orderCreate, the
admin's add form and imports refuse an order whose parts do not add up (issue 13)."""

from datetime import date
from decimal import Decimal

from django.urls import reverse

from backoffice.composition.imports.runner import import_export
from orders.models import Order
from payouts.services import exchange_rate_set
from tests import factories as f
from tests.gql import codes, gid, mutate
from tests.imports.helpers import order_row, write_orders

from .test_admin import post

N1, N2 = "8000000000000001", "8000000000000002"


def create(client, **fields) -> dict:
    store_id = gid(f.store())
    data = {"storeId": store_id, "orderNumber": "8100000000000009", "amount": "25.00", **fields}
    return mutate(client, "orderCreate", data, user=f.superuser())


def test_order_create_keeps_parts_that_add_up(client):
    payload = create(client, productTotal="20.01", shippingCost="4.99")

    assert payload["__typename"] == "Order"
    order = Order.objects.get()
    assert (order.amount, order.product_total, order.shipping_cost) == (
        Decimal("25.00"),
        Decimal("20.01"),
        Decimal("4.99"),
    )


def test_order_create_refuses_parts_that_do_not_add_up(client):
    payload = create(client, productTotal="20.00", shippingCost="4.99")

    assert codes(payload) == [("invalid", "amount")]
    assert "USD 24.99" in payload["messages"][0]["message"]
    assert not Order.objects.exists()


def test_one_part_alone_is_not_checked(client):
    payload = create(client, productTotal="30.00")

    assert payload["__typename"] == "Order"
    assert Order.objects.get().shipping_cost is None


def test_the_admin_add_form_refuses_parts_that_do_not_add_up(client):
    client.force_login(f.superuser())
    store = f.store()
    data = {"store": store.pk, "order_number": "77", "amount": "10.00", "product_total": "8.00"}

    refused = post(client, reverse("admin:orders_order_add"), {**data, "shipping_cost": "1.00"})
    added = post(client, reverse("admin:orders_order_add"), {**data, "shipping_cost": "2.00"})

    assert refused.status_code == 200
    assert "is not the product total USD 8.00 plus shipping USD 1.00" in refused.text
    assert added.status_code == 302
    assert Order.objects.get(order_number="77").shipping_cost == Decimal("2.00")


def test_an_import_row_whose_parts_do_not_add_up_is_an_error_on_its_line(tmp_path):
    rows = [
        order_row(N1, Product_Total="US $90.00", Shipping_Cost="US $10.00"),
        order_row(N2, Product_Total="US $90.00", Shipping_Cost="US $9.99"),
    ]

    report = import_export(write_orders(tmp_path, rows))

    assert report.error_lines() == [
        "line 3: Order Amount: USD 100.00 is not the product total plus shipping (USD 99.99)"
    ]
    assert not Order.objects.filter(order_number=N2).exists()


def test_a_cny_row_is_checked_in_cny_before_conversion(tmp_path):
    row = order_row(N1, Order_Amount="CN¥88.00", Product_Total="CN¥83.00", Shipping_Cost="CN¥4.99")

    report = import_export(write_orders(tmp_path, [row]))

    assert report.error_lines() == [
        "line 2: Order Amount: CNY 88.00 is not the product total plus shipping (CNY 87.99)"
    ]


def test_a_cny_order_that_adds_up_in_cny_lands_though_its_usd_parts_round_apart(tmp_path):
    exchange_rate_set(actor=None, day=date(2026, 3, 1), rate=Decimal("8"))
    row = order_row(N1, Order_Amount="CN¥0.08", Product_Total="CN¥0.04", Shipping_Cost="CN¥0.04")

    report = import_export(write_orders(tmp_path, [row]))

    assert report.error_lines() == []
    order = Order.objects.get()  # each CNY 0.04 / 8 = 0.005 rounds up to a cent
    assert (order.amount, order.product_total, order.shipping_cost) == (
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.01"),
    )
