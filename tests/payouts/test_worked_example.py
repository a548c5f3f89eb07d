"""The worked example of docs/money.md, step by step. If this test changes, update the doc."""

from datetime import timedelta

from backoffice.deadlines import run_all
from orders.services import order_confirm_receipt, order_mark_paid, order_ship
from payouts.models import Refund
from payouts.services import early_payout_set, payout_request, refund
from tests import factories as f
from tests.payouts.helpers import D, expect

DAY = timedelta(days=1)


def test_one_order_from_payment_to_early_payout_to_partial_refund_after_release():
    t0 = f.T0  # 2026-03-01 12:00 UTC
    store = f.store(name="Shenzhen Gadget Co.")
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.10", at=t0)

    # 1. order placed (unpaid): nothing moves
    o = f.order(store, amount="100.00", at=t0)
    expect(store)
    # 2. buyer pays: USD 100.00 into escrow
    order_mark_paid(order_id=o.pk, actor=None, payment_method="credit_card", at=t0 + DAY)
    expect(store, escrow="100.00")
    # 3. shipped on day 2: still in escrow
    order_ship(
        order_id=o.pk, actor=None, carrier="Cainiao", tracking_number="LP1CN", at=t0 + 2 * DAY
    )
    expect(store, escrow="100.00")
    # 4. early payout 3 days after shipment: 90.00 available, 10.00 reserve held for the order
    run_all(t0 + 5 * DAY)
    expect(store, available="90.00", reserve="10.00")
    # 5. the seller withdraws 80.00
    payout_request(store_id=store.pk, actor=None, amount="80.00", at=t0 + 6 * DAY)
    expect(store, available="10.00", reserve="10.00")
    # 6. partial refund of 30.00 after release: escrow 0 -> available 10 -> reserve 10 -> debt 10
    r = refund(o, amount=D("30.00"), at=t0 + 7 * DAY, reference="example")
    assert (r.from_escrow, r.from_available, r.from_reserve, r.to_debt) == (
        D("0.00"),
        D("10.00"),
        D("10.00"),
        D("10.00"),
    )
    expect(store, debt="-10.00")
    # 7. the buyer confirms: the order's escrow is already empty, nothing moves
    order_confirm_receipt(order_id=o.pk, actor=None, at=t0 + 8 * DAY)
    expect(store, debt="-10.00")
    # 8. the next order (50.00) is released early: the debt is recovered first
    nxt = f.order(store, status="shipped", amount="50.00", at=t0 + 8 * DAY)
    run_all(nxt.shipped_at + 3 * DAY)
    expect(store, available="35.00", reserve="5.00")
    assert Refund.objects.count() == 1
