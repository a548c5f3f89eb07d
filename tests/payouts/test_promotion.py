"""The promotion wallet: top-ups, charges, arrears, the freeze/close policy and notices."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Notice
from accounts.notices import send_due_emails
from accounts.selectors import freeze_info
from accounts.services import seller_account_unfreeze
from backoffice.deadlines import run_all
from backoffice.errors import error_code
from payouts.ledger import balance
from payouts.models import Account, ArrearsEpisode, PromotionMovement
from payouts.promotion import (
    promotion_adjust,
    promotion_charge,
    promotion_set_threshold,
    promotion_top_up,
    wallet_balance,
)
from tests import factories as f
from tests.payouts.helpers import D

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def charge(store, amount, at=f.T0, **kw):
    return promotion_charge(store_id=store.pk, actor=None, amount=amount, at=at, **kw)


def top_up(store, amount, at=f.T0, method="alipay", **kw):
    return promotion_top_up(
        store_id=store.pk, actor=None, amount=amount, method=method, at=at, **kw
    )


def test_top_ups_and_charges_move_the_cny_wallet_on_the_ledger():
    s = f.store()
    top_up(s, "1000.00")
    charge(s, "600.38")
    assert wallet_balance(s.pk) == D("399.62")
    assert balance(account=Account.PROMOTION_REVENUE, currency="CNY") == D("600.38")
    assert balance(currency="CNY") == 0


def test_a_charge_below_zero_opens_arrears_and_a_top_up_pays_them_first():
    s = f.store()
    charge(s, "300.00", at=f.T0)
    episode = ArrearsEpisode.objects.get(store=s, cleared_at__isnull=True)
    assert (episode.started_at, episode.peak, s.arrears_owed) == (f.T0, D("300.00"), D("300.00"))
    top_up(s, "100.00", at=f.T0 + DAY)
    assert s.arrears_owed == D("200.00")  # partly paid: still in arrears
    top_up(s, "500.00", at=f.T0 + 2 * DAY)
    episode.refresh_from_db()
    assert (episode.cleared_at, wallet_balance(s.pk)) == (f.T0 + 2 * DAY, D("300.00"))


def test_statement_references_make_movements_idempotent():
    s = f.store()
    first = charge(s, "10.00", reference="P1")
    assert charge(s, "10.00", reference="P1") == first
    with pytest.raises(ValidationError) as exc:
        charge(s, "11.00", reference="P1")
    assert error_code(exc.value) == "idempotency_conflict"
    assert PromotionMovement.objects.count() == 1 and wallet_balance(s.pk) == D("-10.00")


@pytest.mark.parametrize("status", ["frozen", "closed"])
def test_frozen_or_closed_stores_take_no_charges(status):
    s = f.store(status=status)
    with pytest.raises(ValidationError) as exc:
        charge(s, "1.00")
    assert error_code(exc.value) == "invalid_transition"
    assert not PromotionMovement.objects.exists()


def test_who_may_move_the_wallet():
    s = f.store()
    seller = f.seller(s)
    promotion_top_up(store_id=s.pk, actor=seller, amount="5", method="alipay")
    with pytest.raises(PermissionDenied):  # offline transfers are recorded by finance
        promotion_top_up(store_id=s.pk, actor=seller, amount="5", method="bank_transfer")
    promotion_top_up(store_id=s.pk, actor=f.staff("finance"), amount="5", method="bank_transfer")
    with pytest.raises(PermissionDenied):  # sellers do not charge themselves
        promotion_charge(store_id=s.pk, actor=seller, amount="1")
    with pytest.raises(PermissionDenied):
        promotion_top_up(store_id=s.pk, actor=f.seller(f.store()), amount="5", method="alipay")
    assert wallet_balance(s.pk) == D("10.00")


@pytest.mark.parametrize(
    ("amount", "field"), [("0", "amount"), ("-1", "amount"), ("1.001", "amount"), ("x", "amount")]
)
def test_bad_amounts_name_the_field(amount, field):
    with pytest.raises(ValidationError) as exc:
        top_up(f.store(), amount)
    assert field in exc.value.message_dict
    assert not PromotionMovement.objects.exists()


def test_adjustments_need_a_reason_and_may_be_negative():
    s = f.store()
    with pytest.raises(ValidationError):
        promotion_adjust(store_id=s.pk, actor=None, amount="-5", note=" ")
    promotion_adjust(store_id=s.pk, actor=f.staff("finance"), amount="-5", note="double click")
    assert wallet_balance(s.pk) == D("-5.00")


def test_low_balance_notice_once_until_the_balance_recovers(django_capture_on_commit_callbacks):
    s = f.store()
    f.seller(s).__class__.objects.filter(store=s).update(email="owner@example.com")
    promotion_set_threshold(store_id=s.pk, actor=None, threshold="100")
    top_up(s, "150.00")
    with django_capture_on_commit_callbacks(execute=True):
        charge(s, "60.00")  # 90 < 100: notice
        charge(s, "10.00")  # still low: no second notice
    assert Notice.objects.filter(store=s, kind="low_balance").count() == 1
    assert mail.outbox == []  # the e-mail job sends it
    assert send_due_emails(timezone.now()) == 1
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    top_up(s, "100.00")
    charge(s, "95.00")
    assert Notice.objects.filter(store=s, kind="low_balance").count() == 2


# --- the arrears policy in run_deadlines ---


def test_arrears_freeze_the_store_only_after_the_grace_period():
    s = f.store()
    charge(s, "50.00", at=f.T0)
    assert run_all(f.T0 + 3 * DAY)["payouts.arrears_freeze"] == 0
    assert run_all(f.T0 + 3 * DAY + SECOND)["payouts.arrears_freeze"] == 1
    s.refresh_from_db()
    assert (s.status, s.freeze_reason, s.frozen_at) == (
        "frozen",
        "arrears",
        f.T0 + 3 * DAY + SECOND,
    )
    assert run_all(f.T0 + 4 * DAY)["payouts.arrears_freeze"] == 0
    assert Notice.objects.filter(store=s, kind="freeze").count() == 1


def test_unfreezing_is_refused_while_arrears_remain_and_says_how_much():
    s = f.store()
    charge(s, "1234.56", at=f.T0)
    run_all(f.T0 + 4 * DAY)
    risk = f.staff("risk")
    with pytest.raises(ValidationError) as exc:
        seller_account_unfreeze(account_id=s.pk, actor=risk)
    assert error_code(exc.value) == "invalid_transition"
    assert "CNY 1,234.56" in exc.value.messages[0]
    s.refresh_from_db()
    info = freeze_info(s)
    assert (info.reason, info.owed, info.since) == ("arrears", D("1234.56"), f.T0 + 4 * DAY)
    assert "at least CNY 1,234.56" in info.lifted_by
    top_up(s, "1234.56", at=f.T0 + 5 * DAY)  # paying the arrears lifts the arrears hold
    s.refresh_from_db()
    assert s.status == "active" and freeze_info(s) is None
    assert s.holds.get().lifted_at == f.T0 + 5 * DAY


def test_arrears_above_the_close_amount_close_the_store():
    s = f.store()
    charge(s, "10000.00", at=f.T0)
    assert run_all(f.T0 + DAY)["payouts.arrears_close"] == 0  # exactly the limit: not above
    charge(s, "0.01", at=f.T0 + DAY)
    assert run_all(f.T0 + DAY)["payouts.arrears_close"] == 1
    s.refresh_from_db()
    assert (s.status, s.close_reason) == ("closed", "arrears")


def test_arrears_older_than_the_close_days_close_a_frozen_store():
    s = f.store()
    charge(s, "5.00", at=f.T0)
    run_all(f.T0 + 10 * DAY)
    s.refresh_from_db()
    assert s.status == "frozen"
    assert run_all(f.T0 + 90 * DAY)["payouts.arrears_close"] == 0
    assert run_all(f.T0 + 90 * DAY + SECOND)["payouts.arrears_close"] == 1
    s.refresh_from_db()
    assert s.status == "closed"


def test_frozen_store_keeps_orders_moving_but_cannot_withdraw():
    from orders.services import order_ship
    from payouts.services import payout_request

    o = f.order(status="paid")
    charge(o.store, "1.00", at=f.T0)
    run_all(f.T0 + 4 * DAY)
    order_ship(order_id=o.pk, actor=None, carrier="Cainiao", tracking_number="LP1")
    with pytest.raises(ValidationError) as exc:
        payout_request(store_id=o.store_id, actor=None, amount="1")
    assert error_code(exc.value) == "invalid_transition"


def test_a_charge_for_a_day_of_spend_is_one_per_store_and_day_and_never_for_tomorrow():
    s = f.store()
    day = f.T0.date()
    first = charge(s, "12.00", day=day)
    again = charge(s, "12.00", day=day)
    assert again.pk == first.pk
    assert first.reference == f"ads:{s.pk}:{day.isoformat()}"
    with pytest.raises(ValidationError) as exc:
        charge(s, "5.00", day=day + DAY)
    assert error_code(exc.value) == "invalid"
    assert list(exc.value.error_dict) == ["day"]
    assert wallet_balance(s.pk) == D("-12.00")


def test_a_wallet_reference_is_stripped_and_at_most_100_characters():
    s = f.store()
    assert top_up(s, "5.00", reference="  BANK-1  ").reference == "BANK-1"
    with pytest.raises(ValidationError) as exc:
        top_up(s, "5.00", reference="r" * 101)
    assert list(exc.value.error_dict) == ["reference"]
    assert wallet_balance(s.pk) == D("5.00")
