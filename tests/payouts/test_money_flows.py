"""Order money, early payout, the refund waterfall, reserve release and payouts."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.services import seller_account_close, seller_account_freeze
from backoffice.deadlines import run_all
from backoffice.errors import error_code
from orders.services import order_cancel, order_confirm_receipt
from payouts.ledger import balance
from payouts.models import Account, LedgerEntry, Payout, Posting, Refund, ReserveHold
from payouts.services import (
    early_payout_set,
    exchange_rate_set,
    payout_mark_failed,
    payout_mark_paid,
    payout_request,
    refund,
)
from tests import factories as f
from tests.payouts.helpers import D, expect

DAY = timedelta(days=1)


def _eligible(store, rate="0.10", at=f.T0):
    return early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate=rate, at=at)


def test_payment_moves_buyer_money_into_the_orders_escrow():
    o = f.order(status="paid", amount="100.00")
    expect(o.store, escrow="100.00")
    assert balance(account=Account.BUYER_FUNDS) == D("-100.00")


def test_confirmation_releases_escrow_to_available():
    o = f.order(status="completed", amount="100.00")
    expect(o.store, available="100.00")


def test_cancellation_after_payment_refunds_from_escrow():
    o = f.order(status="paid", amount="80.00")
    order_cancel(order_id=o.pk, actor=None, reason="out_of_stock")
    expect(o.store)
    r = Refund.objects.get(order=o)
    assert (r.amount, r.from_escrow, r.to_debt) == (D("80.00"), D("80.00"), D("0"))
    assert balance(account=Account.BUYER_FUNDS) == 0


def test_early_payout_releases_shipped_order_after_the_delay_minus_reserve():
    store = f.store()
    _eligible(store)
    o = f.order(store, status="shipped", amount="100.00")  # shipped at T0 + 2 days
    run_all(o.shipped_at + 3 * DAY - timedelta(seconds=1))
    expect(store, escrow="100.00")
    run_all(o.shipped_at + 3 * DAY)
    expect(store, available="90.00", reserve="10.00")
    hold = ReserveHold.objects.get(order=o)
    assert (hold.held, hold.release_at) == (D("10.00"), None)
    # confirmation later moves nothing more; a second run does nothing
    order_confirm_receipt(order_id=o.pk, actor=None)
    assert run_all(o.shipped_at + 4 * DAY)["payouts.early_release"] == 0
    expect(store, available="90.00", reserve="10.00")


def test_ineligible_store_waits_for_confirmation():
    o = f.order(status="shipped", amount="50.00")
    run_all(o.shipped_at + 10 * DAY)
    expect(o.store, escrow="50.00")


def test_refund_waterfall_escrow_first():
    o = f.order(status="shipped", amount="100.00")
    r = refund(o, amount=D("40.00"), at=f.T0 + 9 * DAY, reference="w0")
    assert (r.from_escrow, r.from_available, r.from_reserve, r.to_debt) == (
        D("40.00"),
        D("0"),
        D("0"),
        D("0"),
    )
    expect(o.store, escrow="60.00")


def test_refund_waterfall_available_then_reserve_then_debt():
    # given an early-paid order (80 available, 20 reserve) and a payout of 70
    store = f.store()
    _eligible(store, rate="0.20")
    o = f.order(store, status="shipped", amount="100.00")
    run_all(o.shipped_at + 3 * DAY)
    payout_request(store_id=store.pk, actor=None, amount="70.00")
    expect(store, available="10.00", reserve="20.00")
    # when the whole order is refunded after release
    r = refund(o, amount=D("100.00"), at=f.T0 + 9 * DAY, reference="w1")
    # then escrow (empty) -> available 10 -> reserve 20 -> debt 70
    assert (r.from_escrow, r.from_available, r.from_reserve, r.to_debt) == (
        D("0"),
        D("10.00"),
        D("20.00"),
        D("70.00"),
    )
    expect(store, debt="-70.00")


def test_refund_beyond_funds_becomes_debt_recovered_from_later_releases():
    store = f.store()
    a = f.order(store, status="completed", amount="40.00")
    payout_request(store_id=store.pk, actor=None, amount="40.00")
    r = refund(a, amount=D("25.00"), at=f.T0 + 9 * DAY, reference="debt")
    assert r.to_debt == D("25.00")
    expect(store, debt="-25.00")
    f.order(store, status="completed", amount="60.00")
    expect(store, available="35.00")


def test_refund_cannot_exceed_what_is_refundable_and_changes_nothing():
    o = f.order(status="completed", amount="20.00")
    refund(o, amount=D("15.00"), at=f.T0 + 9 * DAY, reference="x1")
    entries = LedgerEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        refund(o, amount=D("5.01"), at=f.T0 + 9 * DAY, reference="x2")
    assert "amount" in exc.value.message_dict
    assert LedgerEntry.objects.count() == entries


def test_refund_with_same_reference_is_paid_once():
    o = f.order(status="completed", amount="20.00")
    first = refund(o, amount=D("5.00"), at=f.T0, reference="same")
    again = refund(o, amount=D("5.00"), at=f.T0, reference="same")
    assert first == again and Refund.objects.count() == 1
    expect(o.store, available="15.00")


def test_protected_refund_is_paid_by_the_protection_fund():
    o = f.order(status="completed", amount="20.00")
    r = refund(o, amount=D("20.00"), at=f.T0, reference="p", protected=True)
    assert r.from_protection_fund == D("20.00")
    expect(o.store, available="20.00")
    assert balance(account=Account.PROTECTION_FUND) == D("-20.00")


def test_loss_of_eligibility_releases_reserve_180_days_after_notice():
    store = f.store()
    _eligible(store)
    o = f.order(store, status="shipped", amount="100.00")
    run_all(o.shipped_at + 3 * DAY)
    notice = f.T0 + 30 * DAY
    early_payout_set(store_id=store.pk, actor=None, eligible=False, reserve_rate="0", at=notice)
    hold = ReserveHold.objects.get(order=o)
    assert hold.release_at == notice + 180 * DAY
    run_all(notice + 180 * DAY - timedelta(seconds=1))
    expect(store, available="90.00", reserve="10.00")
    assert run_all(notice + 180 * DAY)["payouts.reserve_release"] == 1
    expect(store, available="100.00")
    assert run_all(notice + 181 * DAY)["payouts.reserve_release"] == 0


def test_closure_releases_each_orders_reserve_180_days_after_it_shipped():
    store = f.store()
    _eligible(store)
    a = f.order(store, status="shipped", amount="100.00")
    b = f.order(store, status="shipped", amount="50.00", at=f.T0 + 10 * DAY)
    run_all(b.shipped_at + 3 * DAY)
    seller_account_close(account_id=store.pk, actor=None, reason="arrears", at=f.T0 + 40 * DAY)
    dates = dict(ReserveHold.objects.values_list("order_id", "release_at"))
    assert dates == {a.pk: a.shipped_at + 180 * DAY, b.pk: b.shipped_at + 180 * DAY}


def test_payout_in_usd_requested_paid():
    o = f.order(status="completed", amount="100.00")
    p = payout_request(store_id=o.store_id, actor=f.seller(o.store), amount="60.00")
    expect(o.store, available="40.00")
    payout_mark_paid(payout_id=p.pk, actor=f.superuser())
    p.refresh_from_db()
    assert (p.status, p.payout_amount) == ("paid", D("60.00"))
    assert balance(account=Account.PAID_OUT, currency="USD") == D("60.00")


def test_failed_payout_returns_the_money():
    o = f.order(status="completed", amount="100.00")
    p = payout_request(store_id=o.store_id, actor=None, amount="100.00")
    payout_mark_failed(payout_id=p.pk, actor=None, reason="bank account closed")
    expect(o.store, available="100.00")
    assert Payout.objects.get().history.last().note == "bank account closed"


def test_payout_in_cny_uses_that_days_rate_and_records_it():
    o = f.order(status="completed", amount="100.00")
    day = f.T0 + 20 * DAY
    exchange_rate_set(actor=None, day=day.date(), rate="6.5")
    p = payout_request(store_id=o.store_id, actor=None, amount="10.01", currency="CNY", at=day)
    assert (p.rate, p.payout_amount) == (D("6.5"), D("65.07"))  # 65.065: half up
    payout_mark_paid(payout_id=p.pk, actor=None)
    assert balance(account=Account.PAID_OUT, currency="CNY") == D("65.07")
    assert balance(currency="CNY") == 0 and balance(currency="USD") == 0


def test_cny_payout_without_a_rate_for_the_day_is_refused():
    o = f.order(status="completed", amount="100.00")
    exchange_rate_set(actor=None, day=date(2026, 3, 1), rate="7.18")
    with pytest.raises(ValidationError) as exc:
        payout_request(
            store_id=o.store_id, actor=None, amount="10", currency="CNY", at=f.T0 + 20 * DAY
        )
    assert error_code(exc.value) == "no_exchange_rate"
    assert not Payout.objects.exists()
    expect(o.store, available="100.00")


@pytest.mark.parametrize(
    ("amount", "code"),
    [("100.01", "insufficient_funds"), ("0", "invalid"), ("1.001", "invalid"), ("x", "invalid")],
)
def test_payout_request_refuses_bad_amounts(amount, code):
    o = f.order(status="completed", amount="100.00")
    with pytest.raises(ValidationError) as exc:
        payout_request(store_id=o.store_id, actor=None, amount=amount)
    assert error_code(exc.value) == code
    expect(o.store, available="100.00")


def test_frozen_store_cannot_withdraw_but_closed_store_can():
    o = f.order(status="completed", amount="100.00")
    seller_account_freeze(account_id=o.store_id, actor=None, reason="risk")
    with pytest.raises(ValidationError) as exc:
        payout_request(store_id=o.store_id, actor=None, amount="1")
    assert error_code(exc.value) == "invalid_transition"
    closed = f.order(status="completed", amount="10.00")
    seller_account_close(account_id=closed.store_id, actor=None, reason="seller_request")
    assert payout_request(store_id=closed.store_id, actor=None, amount="10").status == "requested"


def test_seller_cannot_withdraw_from_another_store():
    o = f.order(status="completed")
    with pytest.raises(PermissionDenied):
        payout_request(store_id=o.store_id, actor=f.seller(f.store()), amount="1")


def test_idempotency_key_returns_the_first_payout_and_conflicts_on_other_input():
    o = f.order(status="completed", amount="100.00")
    seller = f.seller(o.store)
    first = payout_request(store_id=o.store_id, actor=seller, amount="30", idempotency_key="k1")
    again = payout_request(store_id=o.store_id, actor=seller, amount="30", idempotency_key="k1")
    assert first == again and Payout.objects.count() == 1
    with pytest.raises(ValidationError) as exc:
        payout_request(store_id=o.store_id, actor=seller, amount="31", idempotency_key="k1")
    assert error_code(exc.value) == "idempotency_conflict"
    expect(o.store, available="70.00")


def test_payout_transitions_are_one_way():
    o = f.order(status="completed", amount="100.00")
    p = payout_request(store_id=o.store_id, actor=None, amount="10")
    payout_mark_paid(payout_id=p.pk, actor=None)
    for service in (payout_mark_paid, payout_mark_failed):
        kwargs = {"reason": "x"} if service is payout_mark_failed else {}
        with pytest.raises(ValidationError) as exc:
            service(payout_id=p.pk, actor=None, **kwargs)
        assert error_code(exc.value) == "invalid_transition"
    assert Posting.objects.filter(payout=p).count() == 2


def test_reserve_rate_must_be_a_fraction():
    store = f.store()
    for bad in ("1", "-0.1", "0.123456", "ten"):
        with pytest.raises(ValidationError) as exc:
            early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate=bad)
        assert "reserveRate" in exc.value.message_dict


def test_system_requests_with_one_idempotency_key_create_one_payout():
    o = f.order(status="completed", amount="100.00")
    first = payout_request(store_id=o.store_id, actor=None, amount="10", idempotency_key="nightly")
    again = payout_request(
        store_id=o.store_id, actor=None, amount="10.00", idempotency_key="nightly"
    )  # same amount, other spelling
    assert first == again and Payout.objects.count() == 1
    expect(o.store, available="90.00")


def test_mark_paid_with_an_idempotency_key_returns_the_payout_on_retry():
    o = f.order(status="completed", amount="100.00")
    p = payout_request(store_id=o.store_id, actor=None, amount="10")
    finance = f.superuser()
    payout_mark_paid(payout_id=p.pk, actor=finance, idempotency_key="bank-1")
    again = payout_mark_paid(payout_id=p.pk, actor=finance, idempotency_key="bank-1")
    assert again.status == "paid" and Posting.objects.filter(payout=p).count() == 2
    with pytest.raises(ValidationError) as exc:
        payout_mark_failed(payout_id=p.pk, actor=finance, reason="x", idempotency_key="bank-1")
    assert error_code(exc.value) == "invalid_transition"  # another operation, another key space


def test_refund_on_cancel_releases_escrow_the_protection_fund_already_covered():
    o = f.order(status="paid", amount="100.00")
    refund(o, amount=D("30.00"), at=f.T0 + 2 * DAY, reference="fund", protected=True)
    order_cancel(order_id=o.pk, actor=None, reason="out_of_stock", at=f.T0 + 3 * DAY)
    # the buyer got 30 from the fund and 70 from escrow; the store keeps the 30 left in escrow
    expect(o.store, available="30.00")
    assert balance(order_id=o.pk, account=Account.ESCROW) == 0


def test_early_release_ends_on_a_shipped_order_with_no_escrow_left():
    # A refund took all of a shipped order's escrow (the ledger's property test found it): there
    # is nothing to release early, the job posts nothing for it, and must still end (it looped).
    store = f.store()
    o = f.order(store, status="shipped", amount="100.00")
    refund(o, amount=D("100.00"), at=o.shipped_at + DAY, reference="goodwill-1")
    expect(store, escrow="0.00")
    _eligible(store, at=o.shipped_at + DAY)
    assert run_all(o.shipped_at + 5 * DAY)["payouts.early_release"] == 1
    assert not Posting.objects.filter(order=o, kind=Posting.Kind.EARLY_RELEASE).exists()
