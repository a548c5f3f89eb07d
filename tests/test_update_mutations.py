"""`storeUpdate` and `orderUpdate`: the audited update services through GraphQL. Staff with the
admin's change permission edit the plain fields; each change is a field-history row; a refusal
names the field and changes nothing; sellers may not edit (issue 13)."""

from decimal import Decimal

import pytest

from backoffice.models import FieldChange
from tests import factories as f
from tests.gql import codes, gid, gql, mutate
from tests.payouts.helpers import D, expect
from tests.payouts.test_commission import confirmed, legs, order_commission, store_view

CHANGES = """query($id: ID!) { node(id: $id) {
  ... on SellerAccount { name settlementCurrency commissionRate changes { field old new by note } }
  ... on Order { buyerName buyerCountry productInfo changes { field old new by note } }
} }"""


def node(client, obj) -> dict:
    body = gql(client, CHANGES, {"id": gid(obj)}, user=f.superuser())
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def test_risk_renames_a_store_and_changes_its_currency_with_history(client):
    officer = f.staff("risk", username="rita")
    store = f.store(name="Lotus Lamps", settlement_currency="USD")

    payload = mutate(
        client,
        "storeUpdate",
        {"id": gid(store), "name": "莲花灯具", "settlementCurrency": "CNY", "note": "rebrand"},
        user=officer,
    )

    assert payload["__typename"] == "SellerAccount", payload
    seen = node(client, store)
    assert (seen["name"], seen["settlementCurrency"]) == ("莲花灯具", "CNY")
    assert [(c["field"], c["old"], c["new"], c["by"], c["note"]) for c in seen["changes"]] == [
        ("name", "Lotus Lamps", "莲花灯具", "rita", "rebrand"),
        ("settlement_currency", "USD", "CNY", "rita", "rebrand"),
    ]


def test_a_new_commission_rate_applies_to_releases_after_it(client):
    store = f.store(commission_rate="0.05")
    before = confirmed(client, store)  # 4.45 of 89.00 taken at 5 %
    after = f.order(store, status="shipped", amount="100.00")

    payload = mutate(
        client, "storeUpdate", {"id": gid(store), "commissionRate": "0.08"}, user=f.staff("risk")
    )
    mutate(client, "orderConfirmReceipt", {"id": gid(after)}, user=f.superuser())

    assert payload["__typename"] == "SellerAccount", payload
    assert store_view(client, store)["commissionRate"] == "0.0800"
    assert legs(f"order:{after.pk}:release") == [
        ("available", D("92.00")),
        ("commission", D("8.00")),
        ("escrow", D("-100.00")),
    ]
    assert order_commission(client, before) == "4.45"  # kept what was taken at 5 %
    expect(store, available="176.55")  # 84.55 + 92.00
    change = FieldChange.objects.get(field="commission_rate")
    assert (change.old_value, change.new_value) == ("0.0500", "0.0800")


def test_null_returns_a_store_to_the_platform_rate_and_leaving_it_out_keeps_it(client):
    store = f.store(commission_rate="0.08")
    risk = f.staff("risk")

    kept = mutate(client, "storeUpdate", {"id": gid(store), "name": "Kept rate"}, user=risk)
    assert kept["__typename"] == "SellerAccount"
    assert store_view(client, store)["commissionRate"] == "0.0800"

    reset = mutate(client, "storeUpdate", {"id": gid(store), "commissionRate": None}, user=risk)
    assert reset["__typename"] == "SellerAccount"
    store.refresh_from_db()
    assert store.commission_rate is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"commissionRate": "1"}, "commissionRate"),
        ({"commissionRate": "0.12345"}, "commissionRate"),
        ({"openedAt": "2026-03-01T12:00:00"}, "openedAt"),
    ],
)
def test_a_refused_store_field_is_named_and_nothing_changes(client, change, field):
    store = f.store(name="Lotus Lamps", commission_rate="0.05")

    payload = mutate(client, "storeUpdate", {"id": gid(store), **change}, user=f.staff("risk"))

    assert codes(payload) == [("invalid", field)]
    store.refresh_from_db()
    assert (store.name, store.commission_rate) == ("Lotus Lamps", Decimal("0.0500"))
    assert not FieldChange.objects.exists()


def test_sellers_and_support_may_not_edit_a_store(client):
    store = f.store(name="Lotus Lamps")
    other = f.store()

    own = mutate(client, "storeUpdate", {"id": gid(store), "name": "Mine"}, user=f.seller(store))
    foreign = mutate(client, "storeUpdate", {"id": gid(other), "name": "x"}, user=f.seller(store))
    support = mutate(
        client, "storeUpdate", {"id": gid(store), "name": "x"}, user=f.staff("support")
    )

    assert codes(own) == [("permission_denied", None)]
    assert codes(foreign) == [("not_found", "id")]
    assert codes(support) == [("permission_denied", None)]
    store.refresh_from_db()
    assert store.name == "Lotus Lamps" and not FieldChange.objects.exists()


def test_an_order_s_buyer_details_change_with_history(client):
    admin = f.superuser()
    order = f.order(buyer_name="Ann")

    payload = mutate(
        client,
        "orderUpdate",
        {"id": gid(order), "buyerName": "Anna Schmidt", "productInfo": "红色 L", "note": "typo"},
        user=admin,
    )

    assert payload["__typename"] == "Order", payload
    seen = node(client, order)
    assert (seen["buyerName"], seen["buyerCountry"], seen["productInfo"]) == (
        "Anna Schmidt",
        "BR",
        "红色 L",
    )
    assert sorted((c["field"], c["old"], c["new"], c["by"]) for c in seen["changes"]) == [
        ("buyer_name", "Ann", "Anna Schmidt", admin.username),
        ("product_info", "", "红色 L", admin.username),
    ]


def test_a_refused_order_field_is_named_and_nothing_changes(client):
    order = f.order(buyer_name="Ann")

    payload = mutate(
        client, "orderUpdate", {"id": gid(order), "buyerName": "A\x00nn"}, user=f.superuser()
    )

    assert codes(payload) == [("invalid", "buyerName")]
    order.refresh_from_db()
    assert order.buyer_name == "Ann" and not FieldChange.objects.exists()


def test_sellers_and_support_may_not_edit_an_order(client):
    order = f.order(buyer_name="Ann")

    seller = mutate(
        client, "orderUpdate", {"id": gid(order), "buyerName": "x"}, user=f.seller(order.store)
    )
    support = mutate(
        client, "orderUpdate", {"id": gid(order), "buyerName": "x"}, user=f.staff("support")
    )

    assert codes(seller) == [("permission_denied", None)]
    assert codes(support) == [("permission_denied", None)]
    order.refresh_from_db()
    assert order.buyer_name == "Ann"
