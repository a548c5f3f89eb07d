"""Sellers see staff as a role name, never a username or an e-mail; staff see usernames."""

import json
from datetime import timedelta

from disputes.services import dispute_respond
from orders.services import order_send_payment_reminder, order_ship
from payouts.promotion import promotion_top_up
from tests import factories as f
from tests.gql import gid, gql

ORDER = """query($id: ID!) { node(id: $id) { ... on Order {
  history { by } paymentReminders(first: 5) { edges { node { sentBy } } }
  store { promotionMovements(first: 5) { edges { node { recordedBy } } } }
} } }"""
DISPUTE = """query($id: ID!) { node(id: $id) { ... on Dispute {
  history { by } timeline { by } } } }"""


def _staff(role: str | None, name: str):
    user = f.staff(role, username=name)
    user.email = f"{name}@platform.example"
    user.save(update_fields=["email"])
    return user


def _people():
    return {
        "support": _staff("support", "ana.support"),
        "finance": _staff("finance", "bo.finance"),
        "root": f.superuser(),
    }


def test_a_seller_reads_staff_as_their_role_and_staff_read_usernames(client):
    people = _people()
    store = f.store()
    seller = f.seller(store, username="own.seller")
    unpaid = f.order(store)
    order_send_payment_reminder(order_id=unpaid.pk, actor=people["support"], at=f.T0)
    paid = f.order(store, status="paid")
    order_ship(order_id=paid.pk, actor=seller, carrier="Cainiao", tracking_number="LP1CN")
    promotion_top_up(
        store_id=store.pk,
        actor=people["finance"],
        amount="10",
        method="bank_transfer",
        reference="BT-1",
    )

    as_seller = gql(client, ORDER, {"id": gid(unpaid)}, user=seller)["data"]["node"]
    assert as_seller["paymentReminders"]["edges"][0]["node"]["sentBy"] == "support"
    moves = as_seller["store"]["promotionMovements"]["edges"]
    assert [m["node"]["recordedBy"] for m in moves] == ["finance"]
    shipped = gql(client, ORDER, {"id": gid(paid)}, user=seller)["data"]["node"]
    assert shipped["history"][-1]["by"] == "own.seller"  # a colleague keeps the username

    as_staff = gql(client, ORDER, {"id": gid(unpaid)}, user=people["root"])["data"]["node"]
    assert as_staff["paymentReminders"]["edges"][0]["node"]["sentBy"] == "ana.support"
    assert as_staff["store"]["promotionMovements"]["edges"][0]["node"]["recordedBy"] == (
        "bo.finance"
    )


def test_a_seller_never_reads_a_staff_username_in_a_dispute(client):
    people = _people()
    dispute = f.dispute()
    seller = f.seller(dispute.order.store)
    at = dispute.opened_at + timedelta(hours=1)
    dispute_respond(
        dispute_id=dispute.pk, actor=people["support"], action="reject", note="no", at=at
    )

    body = gql(client, DISPUTE, {"id": gid(dispute)}, user=seller)
    text = json.dumps(body)
    node = body["data"]["node"]
    assert [e["by"] for e in node["timeline"]] == [None, "support"]
    assert "ana.support" not in text and "platform.example" not in text
    as_support = gql(client, DISPUTE, {"id": gid(dispute)}, user=people["support"])
    assert as_support["data"]["node"]["timeline"][-1]["by"] == "ana.support"


def test_a_superuser_or_staff_without_a_role_reads_as_the_platform(client):
    order = f.order(status="paid")
    seller = f.seller(order.store)
    order_ship(order_id=order.pk, actor=f.superuser(), carrier="Cainiao", tracking_number="LP1")
    body = gql(client, ORDER, {"id": gid(order)}, user=seller)
    assert body["data"]["node"]["history"][-1]["by"] == "platform"
