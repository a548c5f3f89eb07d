"""Refunds link to the dispute that paid them, ledger postings to the promotion movement they
record: in GraphQL and in the admin (issue 13)."""

from datetime import timedelta

from django.urls import reverse

from backoffice import clock
from disputes.models import Dispute
from disputes.services import dispute_respond
from orders.services import order_cancel
from payouts.models import Posting, PromotionMovement, Refund
from payouts.promotion import promotion_top_up
from tests import factories as f
from tests.gql import gid, gql

REFUNDS = """
query($id: ID!) { node(id: $id) { ... on Order {
  refunds { reason dispute { id status } }
} } }
"""

PROMOTION_ENTRIES = """
{ ledgerEntries(first: 10, filters: {kind: {exact: PROMOTION_TOP_UP}}) {
  edges { node { account refund { reason } promotionMovement { id reference } } }
} }
"""


def resolved_dispute() -> Dispute:
    now = clock.now()
    order = f.order(f.store(), status="shipped", amount="40.00", at=now - timedelta(days=5))
    dispute = f.dispute(order, at=now - timedelta(days=1))
    dispute_respond(dispute_id=dispute.pk, actor=None, action="accept", note="ok")
    dispute.refresh_from_db()
    assert dispute.status == "resolved" and dispute.refund_id is not None
    return dispute


def refunds_of(client, order, user) -> list[dict]:
    body = gql(client, REFUNDS, {"id": gid(order)}, user=user)
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]["refunds"]


def test_a_disputes_refund_names_its_dispute(client):
    dispute = resolved_dispute()

    [refund] = refunds_of(client, dispute.order, f.superuser())

    assert refund["dispute"] == {"id": gid(dispute), "status": "RESOLVED"}
    assert Refund.objects.get().dispute == dispute


def test_a_cancelled_orders_refund_has_no_dispute(client):
    order = f.order(f.store(), status="paid", amount="15.00")
    order_cancel(order_id=order.pk, actor=None, reason="out_of_stock")

    [refund] = refunds_of(client, order, f.superuser())

    assert refund["dispute"] is None


def test_a_viewer_who_may_not_see_disputes_sees_no_dispute(client):
    dispute = resolved_dispute()
    finance = f.staff("finance")
    assert not finance.has_perm("disputes.view_dispute")

    [refund] = refunds_of(client, dispute.order, finance)

    assert refund["dispute"] is None


def test_a_promotion_posting_names_its_movement(client):
    store = f.store()
    promotion_top_up(store_id=store.pk, actor=None, amount="150.00", method="alipay", reference="t")
    movement = PromotionMovement.objects.get()

    body = gql(client, PROMOTION_ENTRIES, user=f.superuser())

    assert "errors" not in body, body["errors"]
    nodes = [edge["node"] for edge in body["data"]["ledgerEntries"]["edges"]]
    assert len(nodes) == 2  # the store's promotion leg and the platform's
    expected = {"id": gid(movement), "reference": "t"}
    assert all(n["promotionMovement"] == expected and n["refund"] is None for n in nodes)
    assert Posting.objects.get(kind="promotion_top_up").promotion == movement


def test_the_admin_links_a_refund_to_its_dispute_and_a_posting_to_its_movement(client):
    dispute = resolved_dispute()
    store = f.store()
    promotion_top_up(store_id=store.pk, actor=None, amount="20.00", method="alipay", reference="p")
    movement = PromotionMovement.objects.get()
    posting = Posting.objects.get(promotion=movement)
    client.force_login(f.superuser())

    refunds = client.get(reverse("admin:payouts_refund_changelist"))
    refund = client.get(reverse("admin:payouts_refund_change", args=[dispute.refund_id]))
    postings = client.get(reverse("admin:payouts_posting_changelist"))
    page = client.get(reverse("admin:payouts_posting_change", args=[posting.pk]))

    dispute_url = reverse("admin:disputes_dispute_change", args=[dispute.pk])
    movement_url = reverse("admin:payouts_promotionmovement_change", args=[movement.pk])
    assert refunds.status_code == 200 and dispute_url in refunds.text
    assert refund.status_code == 200 and dispute_url in refund.text
    assert postings.status_code == 200 and str(movement) in postings.text
    assert page.status_code == 200 and movement_url in page.text
