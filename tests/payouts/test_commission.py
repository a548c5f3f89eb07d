"""Platform commission (issue 13): a rate per store (default ``COMMISSION_RATE``) taken when
escrow is released, on the platform's ``commission`` account, half up on the cent; a refund the
store pays after the release gets the refund's share of it back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.models import SellerAccount
from backoffice.deadlines import run_all
from backoffice.models import FieldChange
from orders.models import Order
from payouts.models import Posting
from payouts.services import refund
from tests import factories as f
from tests.accounts.test_admin import post
from tests.gql import codes, gid, gql, mutate
from tests.imports.helpers import order_row, write_orders
from tests.imports.test_import_orders import landed, service_twin, trail
from tests.payouts.helpers import D, expect
from tests.payouts.test_money_flows import _eligible
from tests.test_field_history import store_form, store_url

STORE = """query($id: ID!) { node(id: $id) { ... on SellerAccount {
  commissionRate commissionTaken { amount currency } balances { available { amount } } } } }"""
ORDER = """query($id: ID!) { node(id: $id) { ... on Order { commission { amount } } } }"""


def create_store(client, rate: str | None) -> SellerAccount:
    extra = {} if rate is None else {"commissionRate": rate}
    payload = mutate(
        client,
        "sellerAccountCreate",
        {"storeId": "7000001", "name": "Commission store", **extra},
        user=f.superuser(),
    )
    assert payload["__typename"] == "SellerAccount", payload
    return SellerAccount.objects.get(platform_store_id="7000001")


def confirmed(client, store, amount: str = "89.00"):
    order = f.order(store, status="shipped", amount=amount)
    payload = mutate(client, "orderConfirmReceipt", {"id": gid(order)}, user=f.superuser())
    assert payload["status"] == "COMPLETED"
    return order


def store_view(client, store) -> dict:
    return gql(client, STORE, {"id": gid(store)}, user=f.superuser())["data"]["node"]


def order_commission(client, order) -> str:
    node = gql(client, ORDER, {"id": gid(order)}, user=f.superuser())["data"]["node"]
    return node["commission"]["amount"]


def legs(reference: str) -> list[tuple[str, Decimal]]:
    posting = Posting.objects.get(reference=reference)
    return sorted((e.account, e.amount) for e in posting.entries.all())


def test_release_takes_the_stores_rate_half_up_on_its_own_account(client):
    store = create_store(client, "0.05")
    order = confirmed(client, store)  # 5 % of 89.00 = 4.45

    assert legs(f"order:{order.pk}:release") == [
        ("available", D("84.55")),
        ("commission", D("4.45")),
        ("escrow", D("-89.00")),
    ]
    expect(store, available="84.55")
    view = store_view(client, store)
    assert view["commissionRate"] == "0.0500"
    assert view["commissionTaken"] == {"amount": "4.45", "currency": "USD"}
    assert view["balances"]["available"]["amount"] == "84.55"
    assert order_commission(client, order) == "4.45"


def test_a_tie_rounds_half_up():
    store = f.store(commission_rate="0.05")
    f.order(store, status="completed", amount="0.90")  # 0.045 -> 0.05 (half to even: 0.04)
    expect(store, available="0.85")


def test_refunds_after_release_return_the_commission_proportionally(client):
    store = create_store(client, "0.05")
    order = confirmed(client, store)

    first = refund(order, amount=D("44.50"), at=f.T0 + timedelta(days=9), reference="r1")
    # half of 4.45 = 2.225 -> 2.23 back to the store
    assert legs(f"refund:{first.pk}:commission") == [
        ("available", D("2.23")),
        ("commission", D("-2.23")),
    ]
    expect(store, available="42.28")  # 84.55 - 44.50 + 2.23
    assert order_commission(client, order) == "2.22"

    second = refund(order, amount=D("44.50"), at=f.T0 + timedelta(days=10), reference="r2")
    # the other half would be 2.23 too: only the 2.22 left is returned; the refund took the
    # 42.28 available and left 2.22 of debt, which the returned commission pays first
    assert legs(f"refund:{second.pk}:commission") == [
        ("commission", D("-2.22")),
        ("debt", D("2.22")),
    ]
    expect(store)
    assert order_commission(client, order) == "0.00"
    assert store_view(client, store)["commissionTaken"]["amount"] == "0.00"


def test_a_refund_before_release_returns_nothing_and_the_release_takes_the_rest(client):
    store = create_store(client, "0.05")
    order = f.order(store, status="shipped", amount="89.00")
    refund(order, amount=D("9.00"), at=f.T0 + timedelta(days=5), reference="early")
    assert not Posting.objects.filter(kind=Posting.Kind.COMMISSION_RETURN).exists()

    mutate(client, "orderConfirmReceipt", {"id": gid(order)}, user=f.superuser())

    assert order_commission(client, order) == "4.00"  # 5 % of the 80.00 released
    expect(store, available="76.00")


def test_a_protected_refund_keeps_the_commission():
    store = f.store(commission_rate="0.05")
    order = f.order(store, status="completed", amount="89.00")
    refund(order, amount=D("89.00"), at=f.T0 + timedelta(days=9), reference="p", protected=True)
    assert not Posting.objects.filter(kind=Posting.Kind.COMMISSION_RETURN).exists()
    expect(store, available="84.55")


def test_a_rate_of_zero_takes_nothing(client):
    store = create_store(client, "0")
    order = confirmed(client, store)

    assert legs(f"order:{order.pk}:release") == [("available", D("89.00")), ("escrow", D("-89.00"))]
    expect(store, available="89.00")
    assert store_view(client, store)["commissionTaken"]["amount"] == "0.00"
    assert order_commission(client, order) == "0.00"


@override_settings(COMMISSION_RATE=Decimal("0.08"))
def test_a_store_without_its_own_rate_pays_the_platform_default(client):
    store = create_store(client, None)
    order = confirmed(client, store)  # 8 % of 89.00 = 7.12

    assert order_commission(client, order) == "7.12"
    expect(store, available="81.88")
    assert store_view(client, store)["commissionRate"] == "0.08"


def test_early_payout_takes_the_commission_before_the_reserve():
    store = f.store(commission_rate="0.05")
    _eligible(store)
    order = f.order(store, status="shipped", amount="89.00")
    run_all(now=order.shipped_at + timedelta(days=3))
    # 89.00 - 4.45 = 84.55; reserve 10 % = 8.455 -> 8.46 (half to even of a share: 8.46)
    assert legs(f"order:{order.pk}:early_release") == [
        ("available", D("76.09")),
        ("commission", D("4.45")),
        ("escrow", D("-89.00")),
        ("reserve", D("8.46")),
    ]


@pytest.mark.parametrize("rate", ["1", "-0.01", "0.12345"])
def test_a_rate_outside_0_to_1_is_refused(client, rate):
    payload = mutate(
        client,
        "sellerAccountCreate",
        {"storeId": "7000002", "name": "Bad rate", "commissionRate": rate},
        user=f.superuser(),
    )
    assert codes(payload) == [("invalid", "commissionRate")]
    assert not SellerAccount.objects.filter(platform_store_id="7000002").exists()


def test_the_admin_shows_the_commission_per_order_and_per_store(client):
    store = f.store(commission_rate="0.05")
    order = f.order(store, status="completed", amount="89.00")
    client.force_login(f.superuser())

    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert "Platform commission" in page.text and "4.45" in page.text
    store_page = client.get(reverse("admin:accounts_selleraccount_details", args=[store.pk]))
    assert store_page.status_code == 200
    assert 'class="balance-commission">' in store_page.text and "4.45" in store_page.text


def test_the_last_refund_returns_whatever_commission_is_left():
    store = f.store(commission_rate="0.04")
    order = f.order(store, status="completed", amount="1.00")  # commission 0.04
    for n in range(3):  # a third of 0.04 is 0.0133 -> 0.01, twice; the last returns 0.02
        amount = D("0.34") if n < 2 else D("0.32")
        refund(order, amount=amount, at=f.T0 + timedelta(days=9 + n), reference=f"t{n}")
    returned = Posting.objects.filter(kind=Posting.Kind.COMMISSION_RETURN)
    assert sorted(e.amount for p in returned for e in p.entries.filter(account="commission")) == [
        D("-0.02"),
        D("-0.01"),
        D("-0.01"),
    ]
    expect(store)


@override_settings(COMMISSION_RATE=Decimal("0.05"))
def test_an_import_takes_the_commission_as_the_services_do(tmp_path):
    landed(write_orders(tmp_path, [order_row("8000000000000001", "shipped")], name="mon.csv"))
    report = landed(write_orders(tmp_path, [order_row("8000000000000001", "completed")]))

    order = Order.objects.get(order_number="8000000000000001")
    assert trail(order) == trail(service_twin(order, until="completed"))
    assert ("release", "commission", "USD", D("5.00")) in [leg[:4] for leg in trail(order)["legs"]]
    assert report.money[order.store.platform_store_id]["commission"] == D("5.00")


# --- a store's rate changes: the rate in force at each release applies ---


def test_a_rate_changed_in_the_admin_applies_to_later_releases_only(client):
    store = f.store(commission_rate="0.05")
    before = confirmed(client, store)  # 5 % of 89.00 = 4.45, taken
    after = f.order(store, status="shipped", amount="89.00")
    officer = f.staff("risk", username="rita")
    client.force_login(officer)

    response = post(client, store_url(store), store_form(store, commission_rate="0.08"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    change = FieldChange.objects.get(field="commission_rate")
    assert (change.old_value, change.new_value, change.actor) == ("0.0500", "0.0800", officer)
    assert store_view(client, store)["commissionRate"] == "0.0800"
    expect(store, available="84.55", escrow="89.00")  # nothing released moved
    mutate(client, "orderConfirmReceipt", {"id": gid(after)}, user=f.superuser())
    assert legs(f"order:{after.pk}:release") == [  # 8 % of 89.00 = 7.12
        ("available", D("81.88")),
        ("commission", D("7.12")),
        ("escrow", D("-89.00")),
    ]
    assert (order_commission(client, before), order_commission(client, after)) == ("4.45", "7.12")
    # a refund of the earlier order returns half of the 4.45 it took, not of 8 %
    first = refund(before, amount=D("44.50"), at=f.T0 + timedelta(days=9), reference="r1")
    assert legs(f"refund:{first.pk}:commission") == [
        ("available", D("2.23")),
        ("commission", D("-2.23")),
    ]
    expect(store, available="124.16")  # 84.55 + 81.88 - 44.50 + 2.23
    assert store_view(client, store)["commissionTaken"]["amount"] == "9.34"  # 2.22 + 7.12


def test_emptying_the_rate_in_the_admin_returns_the_store_to_the_platform_rate(client):
    store = f.store(commission_rate="0.08")
    client.force_login(f.staff("risk"))

    with override_settings(COMMISSION_RATE=Decimal("0.05")):
        response = post(client, store_url(store), store_form(store, commission_rate=""))
        store.refresh_from_db()
        order = confirmed(client, store, amount="100.00")

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert store.commission_rate is None
    assert order_commission(client, order) == "5.00"
    change = FieldChange.objects.get(field="commission_rate")
    assert (change.old_value, change.new_value) == ("0.0800", "")


@pytest.mark.parametrize("rate", ["1", "-0.01", "0.12345", "1e-2", "abc"])
def test_the_admin_refuses_a_rate_outside_0_to_1_and_changes_nothing(client, rate):
    store = f.store(commission_rate="0.05")
    client.force_login(f.staff("risk"))

    response = post(client, store_url(store), store_form(store, commission_rate=rate))

    assert response.status_code == 200
    assert "commission_rate" in response.context["adminform"].form.errors
    store.refresh_from_db()
    assert store.commission_rate == D("0.0500")
    assert not FieldChange.objects.exists()


def test_support_cannot_change_a_rate(client):
    store = f.store(commission_rate="0.05")
    client.force_login(f.staff("support"))

    response = post(client, store_url(store), store_form(store, commission_rate="0.01"))

    assert response.status_code == 403
    store.refresh_from_db()
    assert store.commission_rate == D("0.0500")
