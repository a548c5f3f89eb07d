"""Random sequences of orders, shipments, confirmations, refunds, disputes, payouts,
eligibility changes, promotion top-ups and charges (arrears), store holds for several reasons
at once, closures (with the set-off of a closed store's arrears against its available balance)
and clock jumps (which run the deadlines: auto-confirmation, early payout, the return timeout,
the arrears policy, reserve releases), driven through the services; the ledger's invariants
are checked after every step. Each example runs in its own rolled-back transaction."""

from contextlib import suppress
from datetime import timedelta
from decimal import Decimal

from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import SellerAccount, StoreHold
from accounts.services import seller_account_close, seller_account_freeze, seller_account_unfreeze
from backoffice.deadlines import run_all
from disputes.models import Dispute
from disputes.services import (
    dispute_accept_proposal,
    dispute_confirm_return,
    dispute_escalate,
    dispute_open,
    dispute_resolve,
    dispute_respond,
    dispute_withdraw,
)
from orders.models import Order
from orders.services import (
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_ship,
)
from payouts.checks import check_ledger
from payouts.ledger import ZERO, balance, balances_at, store_balances, to_cents
from payouts.models import (
    Account,
    ArrearsEpisode,
    ExchangeRate,
    LedgerEntry,
    Payout,
    Posting,
    PromotionMovement,
    Refund,
)
from payouts.promotion import promotion_charge, promotion_top_up
from payouts.services import (
    early_payout_set,
    exchange_rate_set,
    payout_mark_failed,
    payout_mark_paid,
    payout_request,
    refund,
)
from tests import factories as f

REFUSED = (ValidationError, PermissionDenied)
DISPUTE_STEPS = {
    "accept": lambda pk, amount, back, at: dispute_respond(
        dispute_id=pk, actor=None, action="accept", return_required=back, at=at
    ),
    "propose": lambda pk, amount, back, at: dispute_respond(
        dispute_id=pk, actor=None, action="propose", amount=amount, at=at
    ),
    "reject": lambda pk, amount, back, at: dispute_respond(
        dispute_id=pk, actor=None, action="reject", at=at
    ),
    "accept_proposal": lambda pk, amount, back, at: dispute_accept_proposal(
        dispute_id=pk, actor=None, return_required=back, at=at
    ),
    "escalate": lambda pk, amount, back, at: dispute_escalate(dispute_id=pk, actor=None, at=at),
    "decide": lambda pk, amount, back, at: dispute_resolve(
        dispute_id=pk, actor=None, amount=amount, fault="seller", return_required=back, at=at
    ),
    "withdraw": lambda pk, amount, back, at: dispute_withdraw(dispute_id=pk, actor=None, at=at),
    "confirm_return": lambda pk, amount, back, at: dispute_confirm_return(
        dispute_id=pk, actor=None, at=at
    ),
}
HOLD_REASONS = ["risk", "compliance", "arrears"]
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
pick = st.integers(min_value=0, max_value=10_000)


def _sums(key: str, **filters) -> dict:
    """Exact ledger sums grouped by ``key``, in one query."""
    rows = LedgerEntry.objects.filter(**filters).values(key).annotate(total=Sum("amount"))
    return {row[key]: to_cents(row["total"]) for row in rows}


def _active_reasons(store_id: int) -> set[str]:
    holds = StoreHold.objects.filter(store_id=store_id, lifted_at__isnull=True)
    return set(holds.values_list("reason", flat=True))


def _payout_held(store_id: int) -> bool:
    """Whether a store's payouts must be held, worked out here from the ledger and the holds:
    it owes promotion arrears or refund debt, or is held for a risk reason."""
    owes = (
        balance(store_id=store_id, account=Account.PROMOTION, currency="CNY") < 0
        or balance(store_id=store_id, account=Account.DEBT) < 0
    )
    risk = _active_reasons(store_id) & set(django_settings.PAYOUT_HOLD_FREEZE_REASONS)
    return owes or bool(risk)


class Ledger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = f.T0
        # Both stores pay a commission on every release (5 % and 8 %, so ties and the
        # proportional returns of refunds after a release are exercised).
        self.stores = [f.store(commission_rate="0.05"), f.store(commission_rate="0.08")]
        self.orders: list[Order] = []
        self.paid_in = ZERO  # what buyers paid, tracked outside the ledger
        self.n = 0
        self.seen: set[str] = set()  # what this example exercised (hypothesis statistics)

    def teardown(self) -> None:
        kinds = set(PromotionMovement.objects.values_list("kind", flat=True))
        self.seen |= {f"promotion {kind}" for kind in kinds}
        for what in sorted(self.seen):
            event(what)
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _ref(self) -> str:
        self.n += 1
        return f"prop-{self.n}"

    def _order(self, i: int) -> Order:
        return self.orders[i % len(self.orders)]

    # --- rules ---

    @rule(store=pick, amount=cents, protected=st.booleans())
    def create_order(self, store, amount, protected):
        s = self.stores[store % len(self.stores)]
        with suppress(REFUSED):  # a refusal is a valid outcome
            self.orders.append(
                order_create(
                    actor=None,
                    store_id=s.pk,
                    order_number=str(10**15 + self.n),
                    amount=amount,
                    placed_at=self.now,
                    protected=protected,
                )
            )
        self.n += 1

    @precondition(lambda self: self.orders)
    @rule(i=pick)
    def pay(self, i):
        o = self._order(i)
        with suppress(REFUSED):  # a refusal is a valid outcome
            order_mark_paid(order_id=o.pk, actor=None, payment_method="alipay", at=self.now)
            self.paid_in += o.amount

    @precondition(lambda self: self.orders)
    @rule(i=pick)
    def ship(self, i):
        with suppress(REFUSED):  # a refusal is a valid outcome
            order_ship(
                order_id=self._order(i).pk,
                actor=None,
                carrier="Cainiao",
                tracking_number="LP1",
                at=self.now,
            )

    @precondition(lambda self: self.orders)
    @rule(i=pick)
    def confirm(self, i):
        with suppress(REFUSED):  # a refusal is a valid outcome
            order_confirm_receipt(order_id=self._order(i).pk, actor=None, at=self.now)

    @precondition(lambda self: self.orders)
    @rule(i=pick)
    def cancel(self, i):
        with suppress(REFUSED):  # a refusal is a valid outcome
            order_cancel(order_id=self._order(i).pk, actor=None, reason="out_of_stock", at=self.now)

    @precondition(lambda self: self.orders)
    @rule(i=pick, amount=cents, protected=st.booleans())
    def refund(self, i, amount, protected):
        o = self._order(i)
        o.refresh_from_db()
        if o.status in (Order.Status.UNPAID, Order.Status.CANCELLED):
            return
        with suppress(REFUSED):  # a refusal is a valid outcome
            refund(o, amount=amount, at=self.now, reference=self._ref(), protected=protected)

    @precondition(lambda self: self.orders)
    @rule(i=pick, amount=cents, reason=st.sampled_from(["not_received", "damaged"]))
    def open_dispute(self, i, amount, reason):
        with suppress(REFUSED):  # a refusal is a valid outcome
            dispute_open(
                order_id=self._order(i).pk,
                actor=None,
                reason=reason,
                requested_refund=amount,
                at=self.now,
            )

    @rule(i=pick, step=st.sampled_from(sorted(DISPUTE_STEPS)), amount=cents, back=st.booleans())
    def act_on_dispute(self, i, step, amount, back):
        disputes = list(Dispute.objects.order_by("pk"))
        if not disputes:
            return
        d = disputes[i % len(disputes)]
        with suppress(REFUSED):  # a refusal is a valid outcome
            DISPUTE_STEPS[step](d.pk, amount, back, self.now)

    @rule(store=pick, amount=cents, cny=st.booleans(), key=st.sampled_from([None, "k1", "k2"]))
    def request_payout(self, store, amount, cny, key):
        with suppress(REFUSED):  # a refusal (or a key reused for another request) is valid
            payout_request(
                store_id=self.stores[store % 2].pk,
                actor=None,
                amount=amount,
                currency="CNY" if cny else "USD",
                idempotency_key=key,
                at=self.now,
            )

    @rule(i=pick, paid=st.booleans())
    def settle_payout(self, i, paid):
        open_ = list(Payout.objects.filter(status="requested").order_by("pk"))
        if not open_:
            return
        p = open_[i % len(open_)]
        if not paid:  # always possible: the money returns (paying debt first)
            payout_mark_failed(payout_id=p.pk, actor=None, reason="bank refused", at=self.now)
            return
        if not _payout_held(p.store_id):
            payout_mark_paid(payout_id=p.pk, actor=None, at=self.now)
            return
        self._paying_is_refused(p)

    def _paying_is_refused(self, p: Payout) -> None:
        """Held while the store owes or is held for a risk reason: refused, nothing moves."""
        postings = Posting.objects.count()
        try:
            payout_mark_paid(payout_id=p.pk, actor=None, at=self.now)
        except ValidationError as refused:
            assert refused.code == "invalid_transition", refused
        else:
            raise AssertionError("a held payout was paid")
        p.refresh_from_db()
        assert p.status == "requested" and Posting.objects.count() == postings
        self.seen.add("held payout refused")

    def _open_payouts_are_held(self, store_id: int) -> None:
        if _payout_held(store_id):
            for p in Payout.objects.filter(store_id=store_id, status="requested")[:2]:
                self._paying_is_refused(p)

    @rule(store=pick, eligible=st.booleans(), rate=st.sampled_from(["0", "0.05", "0.10", "0.25"]))
    def set_terms(self, store, eligible, rate):
        early_payout_set(
            store_id=self.stores[store % 2].pk,
            actor=None,
            eligible=eligible,
            reserve_rate=rate,
            at=self.now,
        )

    @precondition(lambda self: self.orders)
    @rule(i=pick, amount=cents)
    def return_times_out(self, i, amount):
        """The seller accepts a return and never confirms the goods: RETURN_DAYS later the
        runner refunds the buyer."""
        o = self._order(i)
        try:
            d = dispute_open(
                order_id=o.pk, actor=None, reason="damaged", requested_refund=amount, at=self.now
            )
            dispute_respond(
                dispute_id=d.pk, actor=None, action="accept", return_required=True, at=self.now
            )
        except REFUSED:  # not shipped, a dispute already, more than refundable...
            return
        self.advance_clock(hours=24 * django_settings.RETURN_DAYS + 1, rate=False)
        d.refresh_from_db()
        assert d.status == "resolved" and d.refund is not None, d.status

    @rule(store=pick, amount=cents, top_up=st.booleans())
    def promotion(self, store, amount, top_up):
        s = self.stores[store % 2]
        with suppress(REFUSED):  # charges of a frozen or closed store, top-ups of a closed one
            if top_up:
                promotion_top_up(
                    store_id=s.pk, actor=None, amount=amount, method="alipay", at=self.now
                )
            else:  # the ad system's daily spend, often more than the wallet holds (arrears)
                promotion_charge(store_id=s.pk, actor=None, amount=amount, at=self.now)
        if top_up and balance(store_id=s.pk, account=Account.PROMOTION, currency="CNY") >= 0:
            assert "arrears" not in _active_reasons(s.pk), "paid arrears keep no hold"
        self._open_payouts_are_held(s.pk)

    @rule(store=pick, reason=st.sampled_from(HOLD_REASONS), lift=st.booleans())
    def hold(self, store, reason, lift):
        """Holds stack: placing one adds exactly it, lifting one leaves the others."""
        s = self.stores[store % 2]
        before = _active_reasons(s.pk)
        move = seller_account_unfreeze if lift else seller_account_freeze
        try:
            move(account_id=s.pk, actor=None, reason=reason, note="review", at=self.now)
        except REFUSED:  # the same reason twice, not held for it, arrears still owed, closed
            assert _active_reasons(s.pk) == before
            return
        after = _active_reasons(s.pk)
        assert after == (before - {reason} if lift else before | {reason}), (before, after)
        if len(after) > 1:
            self.seen.add("several holds at once")
        if lift and after:
            self.seen.add("a hold lifted, others left")
        self._open_payouts_are_held(s.pk)

    def _completed_sale(self, s: SellerAccount, amount: Decimal) -> None:
        with suppress(REFUSED):  # a closed store takes no orders
            o = order_create(
                actor=None,
                store_id=s.pk,
                order_number=str(10**15 + self.n),
                amount=amount,
                placed_at=self.now,
            )
            self.orders.append(o)
            order_mark_paid(order_id=o.pk, actor=None, payment_method="alipay", at=self.now)
            self.paid_in += o.amount
            order_ship(
                order_id=o.pk, actor=None, carrier="Cainiao", tracking_number="LP2", at=self.now
            )
            order_confirm_receipt(order_id=o.pk, actor=None, at=self.now)
        self.n += 1

    @rule(store=pick, sale=cents, owed=cents, withdraw=st.booleans())
    def close_in_arrears(self, store, sale, owed, withdraw):
        """A store with a completed sale (and perhaps a payout requested) runs up promotion
        arrears, which hold its payouts, and is closed the same day with the day's rate: the
        closure sets the arrears off against its available balance (the rest later, as money
        reaches it)."""
        s = self.stores[store % 2]
        exchange_rate_set(actor=None, day=self.now.date(), rate="7.1234")
        self._completed_sale(s, sale)
        available = balance(store_id=s.pk, account=Account.AVAILABLE)
        if withdraw and available >= Decimal("0.02"):
            with suppress(REFUSED):  # a frozen store requests no payouts
                half = (available / 2).quantize(Decimal("0.01"))
                payout_request(store_id=s.pk, actor=None, amount=half, currency="USD", at=self.now)
        with suppress(REFUSED):  # a frozen or closed store takes no charges; closed twice
            promotion_charge(store_id=s.pk, actor=None, amount=owed, at=self.now)
            self._open_payouts_are_held(s.pk)
            seller_account_close(account_id=s.pk, actor=None, reason="arrears", at=self.now)
            self._closed_stores_are_settled([s.pk])
            if PromotionMovement.objects.filter(store=s, kind="set_off").exists():
                self.seen.add("arrears set off at closure")

    @rule(store=pick)
    def close_store(self, store):
        with suppress(REFUSED):  # a refusal is a valid outcome
            seller_account_close(
                account_id=self.stores[store % 2].pk, actor=None, reason="risk", at=self.now
            )

    @rule(hours=st.integers(min_value=0, max_value=24 * 200), rate=st.booleans())
    def advance_clock(self, hours, rate):
        self.now += timedelta(hours=hours)
        if rate:
            exchange_rate_set(actor=None, day=self.now.date(), rate="7.1234")
        returns = Dispute.objects.filter(status="awaiting_return").count()
        run_all(self.now)
        if Dispute.objects.filter(status="awaiting_return").count() < returns:
            self.seen.add("return timeout")
        if ExchangeRate.objects.filter(date=self.now.date()).exists():
            self._closed_stores_are_settled()

    def _closed_stores_are_settled(self, ids: list[int] | None = None) -> None:
        """On a day with a rate the runner (or the closure) leaves no closed store with arrears
        beside available money (set off), nor prepaid promotion money worth a cent (returned)."""
        ids = ids or [s.pk for s in self.stores]
        for s in SellerAccount.objects.filter(pk__in=ids, status="closed"):
            wallet = balance(store_id=s.pk, account=Account.PROMOTION, currency="CNY")
            available = balance(store_id=s.pk, account=Account.AVAILABLE)
            assert not (wallet < 0 and available > 0), (wallet, available)
            assert wallet < Decimal("0.04"), wallet  # less than half a cent's worth may stay

    # --- invariants ---

    @invariant()
    def holds_agree_with_the_store(self):
        grace = self.now - timedelta(days=django_settings.ARREARS_GRACE_DAYS)
        for s in SellerAccount.objects.filter(pk__in=[s.pk for s in self.stores]):
            holds = list(s.holds.filter(lifted_at__isnull=True).order_by("placed_at", "id"))
            assert (s.status == "frozen") == bool(holds), (s.status, holds)
            if holds:
                assert s.freeze_reason == holds[0].reason  # the oldest hold is the headline
            overdue = ArrearsEpisode.objects.filter(
                store=s, cleared_at__isnull=True, started_at__lt=grace
            )
            if s.status != "closed" and overdue.exists():
                assert "arrears" in {h.reason for h in holds}, "overdue arrears freeze the store"

    @invariant()
    def every_posting_sums_to_zero(self):
        totals = (
            LedgerEntry.objects.values("posting_id", "currency")
            .annotate(total=Sum("amount"))
            .values_list("total", flat=True)
        )
        assert all(to_cents(total) == 0 for total in totals)

    @invariant()
    def balances_are_sums_of_entries_and_never_negative(self):
        by_hand: dict[tuple[int, str], Decimal] = {}
        for store_id, account, amount in LedgerEntry.objects.filter(
            store__isnull=False
        ).values_list("store_id", "account", "amount"):
            by_hand[store_id, account] = by_hand.get((store_id, account), ZERO) + amount
        for s in self.stores:
            got = store_balances(s.pk)
            assert got == {a: by_hand.get((s.pk, a), ZERO) for a in got}
            assert min(got["escrow"], got["available"], got["reserve"]) >= 0, got
            assert got["debt"] <= 0
            assert not (got["debt"] < 0 and got["available"] > 0), "debt is paid first"
            held = _sums(
                "order_id",
                store=s,
                account=Account.RESERVE,
                order__reserve_hold__released_at__isnull=True,
            )
            assert sum(held.values(), ZERO) == got["reserve"]

    @invariant()
    def check_ledger_finds_nothing(self):
        # manage.py check_ledger's checks: balanced postings, running totals equal to their
        # entries, no escrow on finished orders, no negative reserve, one result per key.
        found = check_ledger()
        assert not any(found.values()), found
        # and the balances at this instant, read from the running totals, are the current ones
        at_now = balances_at([s.pk for s in self.stores], self.now)
        assert all(at_now[s.pk] == store_balances(s.pk) for s in self.stores), at_now

    @invariant()
    def commission_is_never_returned_beyond_what_was_taken(self):
        net = _sums("order_id", account=Account.COMMISSION)
        taken = _sums("order_id", account=Account.COMMISSION, amount__gt=0)
        assert all(0 <= net[pk] <= taken.get(pk, ZERO) for pk in net), (net, taken)
        kept = Order.objects.filter(pk__in=[pk for pk, total in net.items() if total])
        for order in kept.exclude(refunds__from_protection_fund__gt=0):
            refunded = to_cents(order.refunds.aggregate(t=Sum("amount"))["t"] or ZERO)
            assert refunded < order.amount, "an order the store fully refunded keeps no commission"

    @invariant()
    def finished_orders_hold_no_escrow(self):
        finished = ["unpaid", "completed", "cancelled", "refunded"]
        held = _sums("order_id", account=Account.ESCROW, order__status__in=finished)
        assert all(total == 0 for total in held.values()), held

    @invariant()
    def nothing_is_refunded_or_paid_twice(self):
        refunded = Refund.objects.values("order_id", "order__amount").annotate(total=Sum("amount"))
        assert all(to_cents(r["total"]) <= r["order__amount"] for r in refunded)
        kinds = Posting.objects.filter(payout__isnull=False).values_list("payout_id", "kind")
        assert len(set(kinds)) == len(kinds), "a payout posted the same step twice"
        per_payout: dict[int, set[str]] = {}
        for payout_id, kind in kinds:
            per_payout.setdefault(payout_id, set()).add(kind)
        assert not any({"payout_paid", "payout_failed"} <= k for k in per_payout.values())

    @invariant()
    def disputes_settle_once_and_match_their_order(self):
        for d in Dispute.objects.select_related("order", "refund"):
            if d.status == "resolved" and d.final_refund:
                assert d.refund is not None and d.refund.amount == d.final_refund
            if d.status in ("open", "responded", "arbitration", "awaiting_return"):
                assert d.order.status == "disputed"
            if d.refund is not None and d.protected:
                assert d.refund.from_protection_fund == d.refund.amount
            if d.refund is not None and d.seller_return:  # the seller's own return: its money
                assert d.refund.from_protection_fund == 0

    @invariant()
    def every_case_ends_and_closed_stores_take_no_money(self):
        overdue = self.now - timedelta(days=django_settings.RETURN_DAYS)
        waiting = Dispute.objects.filter(status="awaiting_return", return_started_at__lte=overdue)
        assert not waiting.exists(), "a return outlived RETURN_DAYS"
        assert not Order.objects.filter(status="unpaid", store__status="closed").exists()

    @invariant()
    def nothing_is_created_from_nothing(self):
        # what buyers paid in = held for stores + refunded by stores + paid out
        held = sum((sum(store_balances(s.pk).values(), ZERO) for s in self.stores), ZERO)
        held -= sum((store_balances(s.pk)["promotion"] for s in self.stores), ZERO)
        sums = Refund.objects.aggregate(all=Sum("amount"), fund=Sum("from_protection_fund"))
        by_stores = to_cents(sums["all"]) - to_cents(sums["fund"])
        out = (
            balance(account=Account.PAID_OUT, currency="USD")
            + balance(account=Account.FX, currency="USD")
            + balance(account=Account.PAYOUT_CLEARING)
            + balance(account=Account.COMMISSION)
        )
        assert self.paid_in == held + by_stores + out
        assert balance(currency="USD") == 0 and balance(currency="CNY") == 0


def test_ledger_invariants_hold_under_random_operations(db):
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=200,
            stateful_step_count=50,
            deadline=None,
            # The same 200 examples on every run, so CI judges the code and not the draw. Random
            # draws found two bugs, now fixed with tests of their own (issue 14): a manual
            # arrears hold on a store that owed nothing outlived a top-up that moved nothing
            # (tests/accounts/test_holds.py: such a hold is refused, nothing_owed), and a batch
            # day whose debt movements cancelled out had no running total
            # (tests/payouts/test_running_totals.py). To search again, run it locally with
            # derandomize=False and --hypothesis-seed=<n>.
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
