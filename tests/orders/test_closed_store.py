"""A closed store takes no buyer money: closing it cancels its unpaid orders (reason
``store_closed``), and an unpaid order of a closed store cannot be paid (a guard on ``pay``,
shown in availableTransitions and on the admin's button)."""

from django.urls import reverse

from accounts.models import SellerAccount
from accounts.services import seller_account_close
from orders.models import Order
from payouts.models import LedgerEntry
from tests import factories as f
from tests.accounts.test_admin import post, texts
from tests.gql import codes, gid, gql, mutate
from tests.payouts.helpers import expect

REASON = "The store is closed: it takes no buyer money, so this order cannot be paid."


def store_with_orders() -> tuple[SellerAccount, list[Order], Order]:
    store = f.store()
    unpaid = [f.order(store, status="unpaid") for _ in range(2)]
    paid = f.order(store, status="paid")
    return store, unpaid, paid


def closed_by_hand(store: SellerAccount) -> None:
    """A store closed before closures cancelled unpaid orders (a database of an older version)."""
    SellerAccount.objects.filter(pk=store.pk).update(status="closed", closed_at=store.opened_at)


def test_closing_through_graphql_cancels_the_unpaid_orders_and_moves_no_money(client):
    store, unpaid, paid = store_with_orders()
    entries = LedgerEntry.objects.count()
    risk = f.staff("risk")

    payload = mutate(client, "sellerAccountClose", {"id": gid(store), "reason": "RISK"}, user=risk)

    assert payload["status"] == "CLOSED"
    for order in unpaid:
        order.refresh_from_db()
        assert (order.status, order.end_reason) == ("cancelled", "store_closed")
        row = order.history.get(transition="cancel")
        assert (row.note, row.actor, row.source, row.target) == (
            "store closed",
            risk,
            "unpaid",
            "cancelled",
        )
    paid.refresh_from_db()
    assert paid.status == "paid"  # its money is in escrow: it ships or is refunded as usual
    assert LedgerEntry.objects.count() == entries
    expect(store, escrow="100.00")
    body = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Order { status endReason } } }",
        {"id": gid(unpaid[0])},
        user=risk,
    )
    assert body["data"]["node"] == {"status": "CANCELLED", "endReason": "STORE_CLOSED"}


def test_closing_with_the_admin_button_cancels_them_too(client):
    store, unpaid, _paid = store_with_orders()
    client.force_login(f.staff("risk"))

    response = post(
        client,
        reverse("admin:accounts_selleraccount_transition", args=[store.pk, "close"]),
        {"reason": "risk", "_apply": "1"},
    )

    assert texts(response)[-1].endswith("It is now closed.")
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in unpaid])} == {"cancelled"}
    expect(store, escrow="100.00")


def test_the_system_closing_a_store_cancels_its_unpaid_orders_as_the_system():
    store, unpaid, _paid = store_with_orders()

    seller_account_close(account_id=store.pk, actor=None, reason="arrears")

    row = Order.objects.get(pk=unpaid[0].pk).history.get(transition="cancel")
    assert (row.actor, row.note) == (None, "store closed")


def test_an_unpaid_order_of_a_closed_store_cannot_be_paid_through_graphql(client):
    store = f.store()
    order = f.order(store, status="unpaid")
    closed_by_hand(store)
    support = f.staff("support")

    payload = mutate(
        client, "orderMarkPaid", {"id": gid(order), "paymentMethod": "CREDIT_CARD"}, user=support
    )

    assert codes(payload) == [("invalid_transition", None)]
    assert payload["messages"][0]["message"] == REASON
    order.refresh_from_db()
    assert (order.status, order.history.count()) == ("unpaid", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
    expect(store)
    body = gql(
        client,
        "{ orders(first: 10) { edges { node { availableTransitions { name allowed reason } } } } }",
        user=support,
    )
    checks = body["data"]["orders"]["edges"][0]["node"]["availableTransitions"]
    assert {"name": "pay", "allowed": False, "reason": REASON} in checks


def test_the_admin_refuses_to_mark_it_paid_and_says_why(client):
    store = f.store()
    order = f.order(store, status="unpaid")
    closed_by_hand(store)
    client.force_login(f.staff("support"))

    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    pay = next(b for b in page.context["object_buttons"] if b.name == "pay")
    response = post(
        client,
        reverse("admin:orders_order_changelist"),
        {"action": "bulk_pay", "_selected_action": [order.pk], "index": "0", "_confirm": "1"},
    )

    assert (pay.allowed, pay.reason) == (False, REASON)
    assert texts(response)[-1] == f"Order {order.order_number}: {REASON}"
    order.refresh_from_db()
    assert order.status == "unpaid"
    expect(store)
