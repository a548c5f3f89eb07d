"""Order lines (SKU, quantity, unit price) from orderCreate and from imports' 商品编码 column,
shown as Order.lines; an out-of-stock cancellation delists every line's product (issue 13)."""

from decimal import Decimal

from django.urls import reverse

from backoffice.composition.imports.runner import import_export
from orders.models import Order, OrderLine, Product
from tests import factories as f
from tests.gql import codes, gid, gql, mutate
from tests.imports.test_seller_center import CURRENT, PAID, STORE, current_row, write

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) {
    __typename
    ... on OperationInfo { messages { field code message } }
    ... on Order { lines { sku quantity unitPrice { amount currency } } }
  }
}
"""
NUMBER = "8100000000000009"


def create(client, store=None, **fields) -> dict:
    data = {"storeId": gid(store or f.store()), "orderNumber": NUMBER, **fields}
    return gql(client, CREATE, {"input": data}, user=f.superuser())["data"]["orderCreate"]


def line(sku: str, quantity: int, price: str) -> dict:
    return {"sku": sku, "quantity": quantity, "unitPrice": price}


def test_order_create_keeps_lines_that_add_up_to_the_product_total(client):
    lines = [line("CASE-01", 2, "7.50"), line("CABLE-2M", 1, "5.00")]
    payload = create(client, amount="24.99", productTotal="20.00", shippingCost="4.99", lines=lines)

    assert payload["lines"] == [
        {"sku": "CASE-01", "quantity": 2, "unitPrice": {"amount": "7.50", "currency": "USD"}},
        {"sku": "CABLE-2M", "quantity": 1, "unitPrice": {"amount": "5.00", "currency": "USD"}},
    ]
    order = Order.objects.get()
    assert list(order.lines.values_list("sku", "quantity", "unit_price")) == [
        ("CASE-01", 2, Decimal("7.50")),
        ("CABLE-2M", 1, Decimal("5.00")),
    ]


def test_without_a_product_total_the_lines_add_up_to_the_amount(client):
    assert create(client, amount="15.00", lines=[line("CASE-01", 3, "5.00")])["lines"] != []
    assert Order.objects.get().lines.count() == 1


def test_lines_that_do_not_add_up_are_refused_and_nothing_is_written(client):
    payload = create(client, amount="15.00", lines=[line("CASE-01", 2, "5.00")])

    assert [(m["code"], m["field"]) for m in payload["messages"]] == [("invalid", "lines")]
    assert "USD 10.00, not the order's USD 15.00" in payload["messages"][0]["message"]
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_a_line_needs_a_sku_a_quantity_of_one_or_more_and_a_price_in_cents(client):
    for bad in (line("", 1, "10"), line("A", 0, "10"), line("A", 1, "-10"), line("A", 1, "0.001")):
        payload = create(client, amount="10.00", lines=[bad])
        assert codes(payload) == [("invalid", "lines")], bad
    assert not Order.objects.exists()


def test_an_order_without_lines_has_none(client):
    assert create(client, amount="10.00")["lines"] == []


def test_an_import_turns_the_product_code_cell_into_lines_of_one_without_price(tmp_path):
    row = current_row(NUMBER, "等待发货", "US $20.00", **PAID)
    row["商品编码"] = "SKU-A\nSKU-B\uff0cSKU-A"  # a line break, a full-width comma
    other = current_row("8100000000000010", "等待买家付款", "US $9.00")

    report = import_export(
        write(tmp_path, CURRENT, [row, other]), store=STORE, store_name="Harbour"
    )

    assert report.error_lines() == []
    lines = OrderLine.objects.filter(order__order_number=NUMBER)
    assert list(lines.values_list("sku", "quantity", "unit_price")) == [
        ("SKU-A", 2, None),
        ("SKU-B", 1, None),
    ]
    assert list(
        OrderLine.objects.filter(order__order_number="8100000000000010").values_list("sku")
    ) == [("SKU-PHONE-CASE-01",)]


def test_a_dry_run_writes_no_lines(tmp_path):
    import_export(
        write(tmp_path, CURRENT, [current_row(NUMBER, "等待买家付款", "US $9")]),
        store=STORE,
        store_name="Harbour",
        dry_run=True,
    )
    assert not OrderLine.objects.exists()


CANCEL = {"reason": "OUT_OF_STOCK", "delistProduct": True}


def test_an_out_of_stock_cancellation_delists_the_product_of_every_line(client):
    store, elsewhere = f.store(), f.store()
    sold = [Product.objects.create(store=store, sku=sku, title=sku) for sku in ("A", "B")]
    kept = Product.objects.create(store=store, sku="C", title="C")
    same_sku_other_store = Product.objects.create(store=elsewhere, sku="A", title="A")
    create(client, store, amount="12.00", lines=[line("A", 1, "5.00"), line("B", 1, "7.00")])
    order = Order.objects.get()
    assert (
        mutate(client, "orderMarkPaid", {"id": gid(order)}, user=f.superuser())["status"] == "PAID"
    )

    payload = mutate(client, "orderCancel", {"id": gid(order), **CANCEL}, user=f.superuser())

    assert payload["status"] == "REFUNDED"
    order.refresh_from_db()
    for product in sold:
        product.refresh_from_db()
        assert (product.listed, product.delisted_at) == (False, order.closed_at)
    kept.refresh_from_db()
    same_sku_other_store.refresh_from_db()
    assert kept.listed and same_sku_other_store.listed


def test_an_imported_order_delists_by_its_product_code(client, tmp_path):
    import_export(
        write(tmp_path, CURRENT, [current_row(NUMBER, "等待买家付款", "US $9")]),
        store=STORE,
        store_name="Harbour",
    )
    order = Order.objects.get()
    product = Product.objects.create(store=order.store, sku="SKU-PHONE-CASE-01", title="Case")

    payload = mutate(client, "orderCancel", {"id": gid(order), **CANCEL}, user=f.superuser())

    assert payload["status"] == "CANCELLED"
    product.refresh_from_db()
    assert product.listed is False


def test_the_admin_order_page_lists_the_lines_read_only(client):
    create(client, amount="15.00", lines=[line("CASE-01", 3, "5.00")])
    client.force_login(f.superuser())

    page = client.get(reverse("admin:orders_order_change", args=[Order.objects.get().pk]))

    assert page.status_code == 200
    assert "CASE-01" in page.text and "5.00" in page.text
    assert 'name="lines-0-sku"' not in page.text  # shown, not editable
