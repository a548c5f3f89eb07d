"""The management commands of CONTRACT.md: seed_demo and run_deadlines."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from accounts.models import AccountTransition, Notice, SellerAccount, User
from accounts.selectors import freeze_info
from backoffice.deadlines import run_all
from disputes.models import Dispute, DisputeTransition
from orders.models import Order, OrderTransition
from payouts.ledger import store_balances
from payouts.models import (
    ArrearsEpisode,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    LedgerEntry,
    Payout,
    PayoutTransition,
    Posting,
    PromotionMovement,
    PromotionWallet,
    Refund,
    ReserveHold,
)
from payouts.promotion import wallet_balance
from tests import factories as f

LOGINS = ["admin", "seller", "support", "risk", "finance"]  # password == username


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def _run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            SellerAccount,
            Order,
            User,
            OrderTransition,
            AccountTransition,
            Group,
            ExchangeRate,
            EarlyPayoutTerms,
            EarlyPayoutDecision,
            Posting,
            LedgerEntry,
            ReserveHold,
            Payout,
            PayoutTransition,
            Dispute,
            DisputeTransition,
            Refund,
            PromotionMovement,
            PromotionWallet,
            ArrearsEpisode,
            Notice,
        )
    }


# --- seed_demo ---


def test_seed_demo_twice_creates_everything_once(debug):
    # given an empty database, when seeding twice
    first = _run("seed_demo")
    after_first = _counts()
    second = _run("seed_demo")

    # then the second run adds nothing and says so
    assert "Demo data ready" in first
    assert _counts() == after_first
    assert "Nothing new" in second
    assert " 0 new" in second and "1 new" not in second


def test_seed_demo_has_every_order_and_store_state(debug):
    _run("seed_demo")

    assert set(Order.objects.values_list("status", flat=True)) == set(Order.Status.values)
    assert set(SellerAccount.objects.values_list("status", flat=True)) == set(
        SellerAccount.Status.values
    )


def test_seed_demo_reaches_every_state_through_the_services(debug):
    _run("seed_demo")

    # every moved object has an audit trail that ends in its current state
    for order in Order.objects.exclude(status=Order.Status.UNPAID):
        assert order.history.last().target == order.status, order.order_number
    for store in SellerAccount.objects.exclude(status=SellerAccount.Status.ACTIVE):
        assert store.history.last().target == store.status, store.platform_store_id


def test_seed_demo_users_log_in_with_their_roles(debug):
    _run("seed_demo")

    for username in LOGINS:  # through the sign-in page (django-axes needs the request)
        response = Client().post("/accounts/login/", {"username": username, "password": username})
        assert response.status_code == 302, username
    assert User.objects.get(username="admin").is_superuser
    seller = User.objects.get(username="seller")
    assert seller.store is not None and not seller.is_staff
    assert seller.store.status == SellerAccount.Status.ACTIVE
    for role in ("support", "risk", "finance"):
        user = User.objects.get(username=role)
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [role]


def test_seed_demo_moves_money_through_the_services(debug):
    # given a seeded demo, seeded again
    _run("seed_demo")
    store = SellerAccount.objects.get(platform_store_id="3100001")
    balances = store_balances(store.pk)
    after_first = _counts()
    _run("seed_demo")

    # then the active store holds money in escrow, available and reserve (early payout, 10 %)
    assert balances["escrow"] > 0 and balances["available"] > 0 and balances["reserve"] > 0
    assert balances["debt"] == 0
    terms = EarlyPayoutTerms.objects.get(store=store)
    assert terms.eligible and str(terms.reserve_rate) == "0.1000"
    decision = EarlyPayoutDecision.objects.get(store=store)
    assert decision.decided_by.username == "finance"
    # two shipped orders, and two that their disputes returned to shipped (one partly refunded)
    assert ReserveHold.objects.filter(store=store).count() == 4
    # 30 days of USD/CNY rates around 7.18, today's included
    rates = ExchangeRate.objects.values_list("rate_to_cny", flat=True)
    assert len(rates) == 30 and all(7 < r < 7.4 for r in rates)
    # a paid USD payout, a failed one (money returned), a requested CNY one at today's rate
    payouts = {p.status: p for p in Payout.objects.filter(store=store)}
    assert set(payouts) == {"paid", "failed", "requested"}
    assert payouts["requested"].currency == "CNY" and payouts["requested"].rate is not None
    assert payouts["paid"].history.get().actor.username == "finance"
    assert payouts["failed"].history.get().actor.username == "finance"
    # and the second run changed nothing
    assert _counts() == after_first
    assert store_balances(store.pk) == balances


def test_seed_demo_has_every_dispute_state_through_the_services(debug):
    # given a seeded demo, seeded again
    _run("seed_demo")
    states = dict(Dispute.objects.values_list("platform_dispute_id", "status"))
    after_first = _counts()
    second = _run("seed_demo")

    # then every dispute state is there, each reached through the services
    assert set(states.values()) == set(Dispute.Status.values)
    for dispute in Dispute.objects.all():
        assert dispute.history.last().target == dispute.status, dispute.pk
        assert dispute.order.status == dispute.order.history.last().target
    # the buyer's side recorded by support, the seller's answers by the seller
    proposal = Dispute.objects.get(status="responded")
    assert [(h.actor.username, h.amount) for h in proposal.history.all()] == [
        ("support", proposal.requested_refund),
        ("seller", Decimal("20.00")),
    ]
    # damaged goods on a protected order: outside the protection, so the return flow
    returning = Dispute.objects.get(status="awaiting_return")
    assert returning.order.protected and not returning.protected and returning.reason == "damaged"
    # resolved automatically by the deadlines job (the system), the requested refund paid
    automatic = Dispute.objects.get(history__transition="auto_resolve")
    assert automatic.history.last().actor is None
    assert automatic.refund.amount == automatic.requested_refund
    # a protected "not received" dispute accepted: the protection fund pays
    covered = Dispute.objects.get(protected=True, reason="not_received", status="resolved")
    assert covered.refund.from_protection_fund == covered.requested_refund > 0
    # the disputed demo order's dispute stays open, due for `run_deadlines`
    assert Dispute.objects.get(order__order_number="8100000000000009").status == "open"
    # and the second run changed nothing
    assert "disputes: 0 new, 6 already there" in second
    assert _counts() == after_first
    assert dict(Dispute.objects.values_list("platform_dispute_id", "status")) == states


def test_seed_demo_has_wallets_arrears_ratings_and_evaluations(debug):
    # given a seeded demo, seeded again
    _run("seed_demo")
    stores = {s.platform_store_id: s for s in SellerAccount.objects.all()}
    after_first = _counts()
    ratings = dict(Order.objects.values_list("order_number", "rating"))
    second = _run("seed_demo")

    # then every store's wallet was topped up and charged (CNY), through the services
    for store in stores.values():
        kinds = set(PromotionMovement.objects.filter(store=store).values_list("kind", flat=True))
        assert kinds == {"top_up", "charge"}, store.platform_store_id
    balances = {sid: wallet_balance(s.pk) for sid, s in stores.items()}
    assert balances == {
        "3100001": Decimal("320.00"),
        "3100002": Decimal("404.50"),
        "3100003": Decimal("45.00"),
        "3100004": Decimal("430.00"),
        "3100005": Decimal("-180.00"),
        "3100006": Decimal("-1860.40"),
    }
    bank = PromotionMovement.objects.get(method="bank_transfer")
    assert bank.actor.username == "finance"
    # the seller store dropped below its CNY 500 threshold: one low-balance notice
    seller_store = stores["3100001"]
    assert PromotionWallet.objects.get(store=seller_store).low_balance_threshold == 500
    assert Notice.objects.filter(store=seller_store, kind="low_balance").count() == 1
    # one active store in arrears for less than the grace period...
    coral = stores["3100005"]
    episode = ArrearsEpisode.objects.get(store=coral, cleared_at=None)
    assert coral.status == "active" and (timezone.now() - episode.started_at).days == 2
    # ...and one frozen for its arrears by the runner's arrears job, saying what it owes
    maple = stores["3100006"]
    assert (maple.status, maple.freeze_reason) == ("frozen", "arrears")
    assert maple.history.get().actor is None
    assert freeze_info(maple).owed == Decimal("1860.40")
    # the completed orders are rated
    assert Order.objects.filter(status="completed", rating__isnull=True).count() == 0
    assert Order.objects.filter(rating__isnull=False).count() == 14
    # the evaluation ran for every store not closed except the seller store (its override
    # by finance stands): the tea store is eligible at the excellent reserve
    evaluated = EarlyPayoutDecision.objects.filter(source="evaluation")
    assert {d.store.platform_store_id for d in evaluated} == {
        "3100002",
        "3100004",
        "3100005",
        "3100006",
    }
    tea = evaluated.get(store=stores["3100004"])
    assert (tea.eligible, str(tea.reserve_rate)) == (True, "0.0500")
    assert tea.figures["orders"] == 12 and tea.figures["positive_rate"] == "1.0000"
    assert EarlyPayoutDecision.objects.get(store=seller_store).source == "override"
    # and the second run changed nothing
    assert "promotion: 0 new" in second and "evaluation: 0 new" in second
    assert _counts() == after_first
    assert dict(Order.objects.values_list("order_number", "rating")) == ratings
    # the deadlines runner freezes the store in arrears once its grace period is over
    run_all(timezone.now())
    coral.refresh_from_db()
    assert coral.status == "active"
    run_all(episode.started_at + timedelta(days=3, minutes=5))
    coral.refresh_from_db()
    assert (coral.status, coral.freeze_reason) == ("frozen", "arrears")


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    before = _counts()

    with pytest.raises(CommandError, match="DEBUG"):
        _run("seed_demo")

    assert _counts() == before


def test_seed_demo_force_seeds_without_debug(settings):
    settings.DEBUG = False

    _run("seed_demo", "--force")

    assert User.objects.filter(username="admin").exists()


# --- run_deadlines (the order rules themselves: tests/orders/test_deadlines.py) ---


def test_run_deadlines_prints_one_line_per_job_and_is_idempotent():
    # given an unpaid order past its payment deadline
    order = f.order(at=f.T0)
    now = (f.T0 + timedelta(days=30)).isoformat()

    # when the runner runs twice at the same moment
    first = _run("run_deadlines", "--now", now)
    second = _run("run_deadlines", "--now", now)

    # then the first run cancels it, the second finds nothing to do
    assert first.splitlines()[0] == f"deadlines at {now}"
    assert "orders.cancel_unpaid: 1" in first.splitlines()
    assert "orders.auto_confirm: 0" in first.splitlines()
    assert all(line.endswith(": 0") for line in second.splitlines()[1:])
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.history.count() == 1


def test_run_deadlines_accepts_z_suffix():
    out = _run("run_deadlines", "--now", "2026-04-01T00:00:00Z")

    assert out.startswith("deadlines at 2026-04-01T00:00:00+00:00")


def test_run_deadlines_defaults_to_the_clock():
    order = f.order(at=f.T0)  # long past its deadline by the wall clock

    out = _run("run_deadlines")

    assert "orders.cancel_unpaid: 1" in out.splitlines()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "not an ISO 8601 timestamp"),
        ("2026-13-01T00:00:00+00:00", "not an ISO 8601 timestamp"),
        ("2026-04-01T00:00:00", "needs a UTC offset"),
    ],
)
def test_run_deadlines_rejects_a_bad_now_cleanly(value, message):
    order = f.order(at=f.T0)

    with pytest.raises(CommandError, match=message):
        _run("run_deadlines", "--now", value)

    order.refresh_from_db()
    assert order.status == Order.Status.UNPAID
