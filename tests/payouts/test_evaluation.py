"""Store health and the daily early-payout evaluation: reproducible figures, every threshold
edge of ``decide()``, what losing or gaining eligibility does, and staff overrides."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from accounts.models import Notice
from backoffice.deadlines import run_all
from disputes.services import dispute_respond, dispute_withdraw
from orders.services import order_record_rating
from payouts.deadlines import early_release, evaluate_early_payout
from payouts.evaluation import decide, due_for_evaluation, evaluate_store
from payouts.health import Health, bad_rate, good_rate, store_health
from payouts.models import EarlyPayoutDecision, EarlyPayoutTerms, ReserveHold
from payouts.promotion import promotion_charge, promotion_top_up
from payouts.services import early_payout_set
from tests import factories as f

D = Decimal
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _thresholds(settings):
    """The defaults of DOMAIN.md, pinned so that an operator's environment cannot move them."""
    settings.HEALTH_WINDOW_DAYS = 90
    settings.EARLY_PAYOUT_MIN_OPERATING_DAYS = 90
    settings.EARLY_PAYOUT_MIN_ORDERS = 10
    settings.EARLY_PAYOUT_MAX_DISPUTE_RATE = D("0.05")
    settings.EARLY_PAYOUT_MAX_REFUND_RATE = D("0.10")
    settings.EARLY_PAYOUT_MIN_POSITIVE_RATE = D("0.90")
    settings.EARLY_PAYOUT_MIN_SERVICE_POINTS = 90
    settings.RESERVE_RATE = D("0.10")
    settings.RESERVE_RATE_EXCELLENT = D("0.05")
    settings.EXCELLENT_MAX_DISPUTE_RATE = D("0.01")
    settings.EXCELLENT_MIN_POSITIVE_RATE = D("0.97")
    settings.EARLY_PAYOUT_OVERRIDE_DAYS = 30
    settings.SERVICE_POINTS_START = 100
    settings.SERVICE_POINTS_PER_PROTECTION_CLAIM = 2
    settings.RESERVE_RELEASE_ON_INELIGIBLE_DAYS = 180


def rate(order, stars: int, at: datetime) -> None:
    order_record_rating(order_id=order.pk, actor=None, rating=stars, at=at)


def healthy_store(*, orders: int = 10, at: datetime = f.T0):
    """A store open 400 days with ``orders`` completed orders, each rated 5 stars."""
    store = f.store()
    for n in range(orders):
        o = f.order(store, status="completed", at=at + n * timedelta(hours=1))
        rate(o, 5, at + 4 * DAY)
    return store


def charge(store, amount: str, at: datetime) -> None:
    promotion_charge(store_id=store.pk, actor=None, amount=amount, at=at)


def top_up(store, amount: str, at: datetime) -> None:
    promotion_top_up(store_id=store.pk, actor=None, amount=amount, method="alipay", at=at)


# --- (a) the same data and clock give the same decision ---


def mixed_store():
    """Orders, ratings, a dispute and a refund spread over the window."""
    store = f.store()
    for n in range(12):
        o = f.order(store, status="completed", at=f.T0 + n * DAY)
        rate(o, 5 if n % 6 else 4, f.T0 + (n + 4) * DAY)
    f.dispute(f.order(store, status="shipped", at=f.T0 + 20 * DAY))
    f.order(store, status="refunded", at=f.T0 + 21 * DAY)
    return store


def test_health_and_decision_are_the_same_for_the_same_data_and_clock():
    store = mixed_store()
    now = f.T0 + 40 * DAY

    first, second = store_health(store, now=now), store_health(store, now=now)

    assert first == second
    assert decide(first) == decide(second)
    assert first.figures() == second.figures()
    assert (first.orders, first.disputes, first.refunded_orders) == (14, 1, 1)


def test_evaluating_twice_at_the_same_moment_records_one_decision_with_the_figures():
    store = mixed_store()
    now = f.T0 + 40 * DAY

    first = evaluate_store(store, now=now)
    second = evaluate_store(store, now=now)

    assert first == second
    terms = EarlyPayoutTerms.objects.get(store=store)
    decision = EarlyPayoutDecision.objects.get(store=store)  # one: the second changed nothing
    assert (terms.eligible, terms.reserve_rate, terms.evaluated_at) == (
        first.eligible,
        first.reserve_rate,
        now,
    )
    assert (decision.eligible, decision.reserve_rate, decision.source) == (
        first.eligible,
        first.reserve_rate,
        "evaluation",
    )
    assert decision.figures == store_health(store, now=now).figures()
    assert decision.reason == first.reason


def test_the_deadlines_runner_evaluates_each_store_once_per_utc_day():
    store = mixed_store()
    morning = f.T0.replace(hour=0, minute=5) + 40 * DAY

    first = run_all(morning)["payouts.evaluate_early_payout"]
    evening = run_all(morning + timedelta(hours=23, minutes=50))["payouts.evaluate_early_payout"]
    # the same UTC day given with another offset: 23:58 UTC is 07:58 the next day in +08:00
    eastern = (morning + timedelta(hours=23, minutes=53)).astimezone(timezone(timedelta(hours=8)))
    offset = run_all(eastern)["payouts.evaluate_early_payout"]
    next_day = run_all(morning + DAY)["payouts.evaluate_early_payout"]

    assert (first, evening, offset, next_day) == (1, 0, 0, 1)
    assert EarlyPayoutTerms.objects.get(store=store).evaluated_at == morning + DAY
    assert EarlyPayoutDecision.objects.filter(store=store).count() == 1  # unchanged: not recorded


# --- (b) every threshold edge of decide() ---


def health(**changes) -> Health:
    """Exactly at every limit of the eligibility (standard tier)."""
    base = Health(
        computed_at=f.T0,
        window_days=90,
        operating_days=90,
        orders=10,
        disputes=0,
        dispute_rate=D("0.05"),
        refunded_orders=1,
        refund_rate=D("0.10"),
        rated_orders=10,
        positive_rate=D("0.90"),
        service_points=90,
        arrears_episodes=0,
        in_arrears=False,
    )
    return replace(base, **changes)


def test_a_store_exactly_at_every_limit_is_eligible_at_the_standard_reserve():
    decision = decide(health())

    assert decision.eligible
    assert decision.reserve_rate == D("0.10")
    assert decision.reason == "Eligible (meets every threshold): reserve 10 %."


EDGES = [
    # field, at the limit (passes), one step beyond (fails), the failing reason
    ("operating_days", 90, 89, "operating for 89 days, fewer than 90"),
    ("orders", 10, 9, "9 paid orders, fewer than 10"),
    ("dispute_rate", D("0.05"), D("0.0501"), "dispute rate 5.01 % above 5 %"),
    ("refund_rate", D("0.10"), D("0.1001"), "refund rate 10.01 % above 10 %"),
    ("positive_rate", D("0.90"), D("0.8999"), "positive ratings 89.99 % below 90 %"),
    ("service_points", 90, 89, "89 service points, fewer than 90"),
    ("arrears_episodes", 0, 1, "promotion arrears in the last 90 days"),
]


@pytest.mark.parametrize(("field", "limit", "beyond", "why"), EDGES, ids=[e[0] for e in EDGES])
def test_each_threshold_passes_at_its_limit_and_fails_one_step_beyond(field, limit, beyond, why):
    at_limit = decide(health(**{field: limit}))
    past_limit = decide(health(**{field: beyond}))

    assert at_limit.eligible, at_limit.reason
    assert not past_limit.eligible
    assert past_limit.reserve_rate == 0
    assert past_limit.reason == f"Not eligible: {why}."


def test_no_rated_orders_is_not_eligible():
    decision = decide(health(rated_orders=0, positive_rate=None))

    assert not decision.eligible
    assert decision.reason == "Not eligible: no rated orders."


def test_an_open_arrears_episode_is_not_eligible():
    decision = decide(health(arrears_episodes=1, in_arrears=True))

    assert not decision.eligible
    assert decision.reason == "Not eligible: promotion arrears in the last 90 days."


def test_a_frozen_store_is_not_eligible_whatever_its_figures():
    decision = decide(health(), frozen=True)

    assert not decision.eligible
    assert decision.reason == "Not eligible: the store is frozen."


def test_the_reason_names_every_failing_threshold():
    decision = decide(
        health(operating_days=30, orders=3, dispute_rate=D("0.3333"), service_points=88),
        frozen=True,
    )

    assert decision.reason == (
        "Not eligible: the store is frozen; operating for 30 days, fewer than 90; "
        "3 paid orders, fewer than 10; dispute rate 33.33 % above 5 %; "
        "88 service points, fewer than 90."
    )


EXCELLENT = "Eligible (excellent record): reserve 5 %."
STANDARD = "Eligible (meets every threshold): reserve 10 %."


@pytest.mark.parametrize(
    ("dispute_rate", "positive_rate", "reserve", "reason"),
    [
        (D("0.01"), D("0.97"), D("0.05"), EXCELLENT),  # both exactly at the excellent limit
        (D("0"), D("1"), D("0.05"), EXCELLENT),
        (D("0.0101"), D("0.97"), D("0.10"), STANDARD),  # one step beyond either limit
        (D("0.01"), D("0.9699"), D("0.10"), STANDARD),
    ],
)
def test_the_excellent_tier_holds_the_lower_reserve(dispute_rate, positive_rate, reserve, reason):
    decision = decide(health(dispute_rate=dispute_rate, positive_rate=positive_rate))

    assert (decision.eligible, decision.reserve_rate, decision.reason) == (True, reserve, reason)


def test_thresholds_and_reserve_rates_come_from_the_settings(settings):
    settings.EARLY_PAYOUT_MIN_ORDERS = 12
    settings.EARLY_PAYOUT_MAX_DISPUTE_RATE = D("0.02")
    settings.RESERVE_RATE_EXCELLENT = D("0.03")

    refused = decide(health(orders=11, dispute_rate=D("0.0201")))
    excellent = decide(health(orders=12, dispute_rate=D("0.01"), positive_rate=D("0.98")))

    assert refused.reason == (
        "Not eligible: 11 paid orders, fewer than 12; dispute rate 2.01 % above 2 %."
    )
    assert excellent.eligible and excellent.reserve_rate == D("0.03")


# --- (c) losing and gaining eligibility, overrides ---


def test_gaining_eligibility_through_the_evaluation_notifies_the_store():
    store = healthy_store()
    now = f.T0 + 10 * DAY

    decision = evaluate_store(store, now=now)

    assert (decision.eligible, decision.reserve_rate) == (True, D("0.05"))  # no disputes, 5 stars
    notice = Notice.objects.get(store=store, kind="eligibility")
    assert notice.title == "Your store now receives early payout"
    assert notice.created_at == now and "5% held as a reserve" in notice.body


def test_losing_eligibility_schedules_the_reserve_release_and_notifies_the_store():
    # given an eligible store whose shipped order was paid out early with a reserve
    store = healthy_store()
    evaluate_store(store, now=f.T0 + 10 * DAY)
    shipped = f.order(store, status="shipped", amount="200.00", at=f.T0 + 10 * DAY)
    early_release(shipped.shipped_at + 3 * DAY)
    hold = ReserveHold.objects.get(order=shipped)
    assert (hold.held, hold.release_at) == (D("10.00"), None)

    # when promotion arrears appear and the next evaluation runs
    charge(store, "50.00", at=f.T0 + 20 * DAY)
    now = f.T0 + 21 * DAY
    decision = evaluate_store(store, now=now)

    # then it is not eligible, the reserve is released 180 days after the notice, and the
    # store is told why and when
    assert not decision.eligible
    assert decision.reason == "Not eligible: promotion arrears in the last 90 days."
    hold.refresh_from_db()
    assert hold.release_at == now + 180 * DAY
    notice = Notice.objects.filter(store=store, kind="eligibility").first()  # newest first
    assert notice.title == "Early payout ends for your store"
    assert decision.reason in notice.body
    assert f"released on {(now + 180 * DAY):%Y-%m-%d}" in notice.body
    terms = EarlyPayoutTerms.objects.get(store=store)
    assert (terms.eligible, terms.since, terms.source) == (False, now, "evaluation")
    # and the arrears stay in the window after they are paid
    top_up(store, "50.00", at=f.T0 + 22 * DAY)
    assert not evaluate_store(store, now=f.T0 + 23 * DAY).eligible


def test_a_staff_override_stands_for_the_override_days_then_the_evaluation_decides():
    # given a store that fails the evaluation (no rated orders) made eligible by risk staff
    store = f.store()
    for n in range(10):
        f.order(store, status="completed", at=f.T0 + n * DAY)
    risk = f.staff("risk")
    overridden_at = f.T0 + 20 * DAY
    early_payout_set(
        store_id=store.pk,
        actor=risk,
        eligible=True,
        reserve_rate="0.20",
        reason="trusted brand",
        at=overridden_at,
    )

    # when the daily evaluation runs within the override days, then at their end
    within = evaluate_early_payout(overridden_at + 30 * DAY - SECOND)
    terms_within = EarlyPayoutTerms.objects.get(store=store)
    after = evaluate_early_payout(overridden_at + 30 * DAY)

    # then the override stands until it has stood for EARLY_PAYOUT_OVERRIDE_DAYS
    assert within == 0
    assert (terms_within.eligible, terms_within.reserve_rate) == (True, D("0.20"))
    assert after == 1
    terms = EarlyPayoutTerms.objects.get(store=store)
    assert (terms.eligible, terms.source) == (False, "evaluation")
    latest, override = EarlyPayoutDecision.objects.filter(store=store)
    assert (latest.source, latest.decided_by, latest.reason) == (
        "evaluation",
        None,
        "Not eligible: no rated orders.",
    )
    assert (override.source, override.decided_by) == ("override", risk)


def test_an_old_override_does_not_hide_a_store_with_a_recent_evaluation():
    # given an override 60 days ago, then an evaluation decision yesterday
    store = healthy_store()
    early_payout_set(
        store_id=store.pk, actor=None, eligible=False, reserve_rate="0", at=f.T0 - 50 * DAY
    )
    yesterday = f.T0 + 10 * DAY
    assert evaluate_store(store, now=yesterday).eligible
    assert EarlyPayoutDecision.objects.filter(store=store, source="evaluation").count() == 1

    # then today it is due again: only a recent override keeps the evaluation away
    assert list(due_for_evaluation(yesterday + DAY)) == [store]


def test_closed_stores_and_stores_evaluated_today_are_not_due():
    evaluated, closed, fresh = f.store(), f.store(status="closed"), f.store()
    now = f.T0 + 5 * DAY
    evaluate_store(evaluated, now=now - timedelta(hours=1))

    assert list(due_for_evaluation(now)) == [fresh]
    assert closed not in due_for_evaluation(now + DAY)
    assert evaluated in due_for_evaluation(now + DAY)


# --- (d) the health figures on a known dataset ---


def test_store_health_figures_on_a_known_dataset():
    # window: the 90 days before now
    now = f.T0 + 100 * DAY
    since = now - 90 * DAY  # f.T0 + 10 days
    store = f.store()  # opened 400 days before f.T0

    # outside the window: an order paid on day 1, rated 1 star on day 5, disputed on day 6
    old = f.order(store, status="completed", at=f.T0)
    rate(old, 1, f.T0 + 5 * DAY)
    old_dispute = f.dispute(old, at=f.T0 + 6 * DAY)
    dispute_withdraw(dispute_id=old_dispute.pk, actor=None, at=f.T0 + 7 * DAY)

    # in it: seven completed orders, five of them rated in the window (four positive), one
    # rated after ``now`` (not counted yet)
    completed = [f.order(store, status="completed", at=f.T0 + (20 + n) * DAY) for n in range(7)]
    for o, stars in zip(completed, (5, 4, 5, 3, 4), strict=False):
        rate(o, stars, f.T0 + 40 * DAY)
    rate(completed[5], 5, now + SECOND)
    # a refund (out of stock), a protected "not received" dispute the protection fund pays,
    # and a dispute the seller rejected (no refund)
    f.order(store, status="refunded", at=f.T0 + 30 * DAY)
    protected = f.order(store, status="shipped", at=f.T0 + 40 * DAY, protected=True)
    claim = f.dispute(protected, at=f.T0 + 43 * DAY)
    before_claim = store_health(store, now=f.T0 + 43 * DAY)
    dispute_respond(dispute_id=claim.pk, actor=None, action="accept", at=f.T0 + 44 * DAY)
    rejected = f.dispute(f.order(store, status="shipped", at=f.T0 + 50 * DAY))
    dispute_respond(dispute_id=rejected.pk, actor=None, action="reject", at=f.T0 + 54 * DAY)

    # arrears: one cleared before the window, one inside it, one still open
    charge(store, "10.00", at=f.T0 + DAY)
    top_up(store, "10.00", at=since - SECOND)
    charge(store, "20.00", at=f.T0 + 20 * DAY)
    top_up(store, "20.00", at=f.T0 + 22 * DAY)
    charge(store, "30.00", at=f.T0 + 95 * DAY)

    h = store_health(store, now=now)

    assert h.computed_at == now and h.window_days == 90
    assert h.operating_days == 500
    assert h.orders == 10  # 7 completed, the refunded one, the protected one, the rejected one
    assert (h.disputes, h.dispute_rate) == (2, D("0.2000"))
    assert (h.refunded_orders, h.refund_rate) == (2, D("0.2000"))  # out of stock + protection
    assert (h.rated_orders, h.positive_rate) == (5, D("0.8000"))
    assert before_claim.service_points == 100
    assert h.service_points == 98  # one refund paid by the protection fund
    assert (h.arrears_episodes, h.in_arrears) == (2, True)
    assert h.figures()["dispute_rate"] == "0.2000"
    # a moment before the last charge the window starts 5 days earlier: the first episode
    # (cleared on day 10) is in it, and nothing is owed
    earlier = store_health(store, now=f.T0 + 95 * DAY - SECOND)
    assert (earlier.arrears_episodes, earlier.in_arrears) == (2, False)


def test_rates_are_rounded_against_the_store():
    # 100 disputes in 1,999 orders is 5.0025 %: above 5 %, even though it shows as 5.00 %
    # when rounded to the nearest; 18,000 positive of 20,001 is 89.9955 %, below 90 %
    # (too many orders to build here: the rounding helpers are checked directly)
    assert bad_rate(100, 1999) == D("0.0501")
    assert good_rate(18000, 20001) == D("0.8999")
    assert bad_rate(1, 20) == good_rate(1, 20) == D("0.0500")
    assert bad_rate(0, 0) is None and good_rate(0, 0) is None
    assert not decide(health(dispute_rate=bad_rate(100, 1999))).eligible
    assert not decide(health(positive_rate=good_rate(18000, 20001))).eligible


def test_a_new_store_without_orders_has_no_rates():
    store = f.store(opened_at=datetime(2026, 1, 1, tzinfo=UTC))

    h = store_health(store, now=datetime(2026, 1, 31, tzinfo=UTC))

    assert (h.operating_days, h.orders, h.dispute_rate, h.refund_rate, h.positive_rate) == (
        30,
        0,
        None,
        None,
        None,
    )
    assert decide(h).reason == (
        "Not eligible: operating for 30 days, fewer than 90; 0 paid orders, fewer than 10; "
        "no rated orders."
    )
