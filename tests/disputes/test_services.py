"""Dispute services: every edge both ways, exact deadlines, money and the order that follow."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backoffice.deadlines import run_all
from backoffice.errors import error_code
from disputes.models import Dispute
from disputes.selectors import auto_action, service_points
from disputes.services import (
    dispute_accept,
    dispute_accept_proposal,
    dispute_confirm_return,
    dispute_escalate,
    dispute_open,
    dispute_propose,
    dispute_reject,
    dispute_resolve,
    dispute_respond,
    dispute_withdraw,
)
from payouts.ledger import balance
from payouts.models import Account, Refund
from tests import factories as f
from tests.payouts.helpers import D, expect

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def _at(d: Dispute):
    return d.opened_at + DAY  # inside every deadline


def _accept(d, actor):
    return dispute_respond(dispute_id=d.pk, actor=actor, action="accept", at=_at(d))


def _reject(d, actor):
    return dispute_respond(
        dispute_id=d.pk, actor=actor, action="reject", note="shipped fine", at=_at(d)
    )


def _accept_proposal(d, actor):
    return dispute_accept_proposal(dispute_id=d.pk, actor=actor, at=_at(d))


def _escalate(d, actor):
    return dispute_escalate(dispute_id=d.pk, actor=actor, at=_at(d))


def _decide(d, actor):
    return dispute_resolve(dispute_id=d.pk, actor=actor, amount="10.00", fault="seller", at=_at(d))


def _withdraw(d, actor):
    return dispute_withdraw(dispute_id=d.pk, actor=actor, at=_at(d))


def _confirm_return(d, actor):
    return dispute_confirm_return(dispute_id=d.pk, actor=actor, at=_at(d))


def dispute_in(state: str, **kwargs) -> Dispute:
    """A dispute on a shipped USD 100.00 order, walked to ``state`` through the services
    (``kwargs`` go to the order, e.g. ``account=``)."""
    d = f.dispute(requested="40.00", **kwargs)
    at = _at(d)
    if state == "responded":
        dispute_respond(dispute_id=d.pk, actor=None, action="propose", amount="15.00", at=at)
    elif state == "arbitration":
        dispute_respond(dispute_id=d.pk, actor=None, action="reject", at=at)
        dispute_escalate(dispute_id=d.pk, actor=None, at=at)
    elif state == "awaiting_return":
        dispute_respond(dispute_id=d.pk, actor=None, action="accept", return_required=True, at=at)
    elif state == "resolved":
        dispute_respond(dispute_id=d.pk, actor=None, action="accept", at=at)
    elif state == "cancelled":
        dispute_withdraw(dispute_id=d.pk, actor=None, at=at)
    d.refresh_from_db()
    assert d.status == state
    return d


STATES = [s.value for s in Dispute.Status]
EDGES = {
    _accept: {"open": "resolved"},
    _reject: {"open": "responded"},
    _accept_proposal: {"responded": "resolved"},
    _escalate: {"responded": "arbitration"},
    _decide: {"arbitration": "resolved"},
    _withdraw: {"open": "cancelled", "responded": "cancelled"},
    _confirm_return: {"awaiting_return": "resolved"},
}
CASES = [(fn, s) for fn in EDGES for s in STATES]


@pytest.mark.parametrize(("service", "state"), CASES, ids=[f"{fn.__name__}-{s}" for fn, s in CASES])
def test_every_dispute_edge_moves_or_is_refused(service, state):
    d = dispute_in(state)
    root = f.superuser()
    before = (d.history.count(), d.order.status, Refund.objects.count())
    target = EDGES[service].get(state)
    if target is None:
        with pytest.raises(ValidationError) as exc:
            service(d, root)
        assert error_code(exc.value) == "invalid_transition"
        d.refresh_from_db()
        assert (d.status, (d.history.count(), d.order.status, Refund.objects.count())) == (
            state,
            before,
        )
    else:
        service(d, root)
        d.refresh_from_db()
        last = d.history.last()
        assert (d.status, last.source, last.target, last.actor) == (target, state, target, root)


# --- the response deadline, to the second ---


def test_a_response_one_second_before_the_deadline_counts():
    d = f.dispute()
    dispute_respond(dispute_id=d.pk, actor=None, action="reject", at=d.respond_by - SECOND)
    d.refresh_from_db()
    assert d.status == "responded"


@pytest.mark.parametrize("late", [timedelta(0), SECOND])
def test_a_response_at_or_after_the_deadline_is_refused(late):
    d = f.dispute()
    with pytest.raises(ValidationError) as exc:
        dispute_respond(
            dispute_id=d.pk, actor=f.seller(d.store), action="accept", at=d.respond_by + late
        )
    assert error_code(exc.value) == "deadline_passed"
    d.refresh_from_db()
    assert (d.status, d.history.count()) == ("open", 1)


def test_deadlines_runner_resolves_at_the_deadline_exactly_once():
    d = f.dispute(requested="23.10")
    assert run_all(d.respond_by - SECOND)["disputes.auto_resolve"] == 0
    assert run_all(d.respond_by)["disputes.auto_resolve"] == 1
    assert run_all(d.respond_by + SECOND)["disputes.auto_resolve"] == 0
    d.refresh_from_db()
    assert (d.status, d.final_refund, d.history.last().actor) == ("resolved", D("23.10"), None)
    assert Refund.objects.filter(order=d.order).count() == 1
    assert d.order.status == "shipped"  # partial refund: back to where it was
    expect(d.store, escrow="76.90")


def test_unresolved_disputes_escalate_after_the_period():
    d = dispute_in("responded")
    assert run_all(d.escalate_at - SECOND)["disputes.auto_escalate"] == 0
    assert run_all(d.escalate_at)["disputes.auto_escalate"] == 1
    d.refresh_from_db()
    assert d.status == "arbitration" and d.escalated_at == d.escalate_at


# --- opening ---


def test_opening_moves_the_order_to_disputed_with_deadlines():
    d = f.dispute(requested="30.00")
    assert d.order.status == "disputed" and d.order.disputed_from == "shipped"
    assert d.respond_by == d.opened_at + 5 * DAY
    assert d.escalate_at == d.opened_at + 15 * DAY
    entry = d.history.get()
    assert (entry.transition, entry.target, entry.amount) == ("open", "open", D("30.00"))


@pytest.mark.parametrize(
    ("requested", "field"),
    [
        ("0", "requestedRefund"),
        ("100.01", "requestedRefund"),
        ("1.001", "requestedRefund"),
        ("x", "requestedRefund"),
    ],
)
def test_the_requested_refund_is_above_zero_and_at_most_the_order(requested, field):
    o = f.order(status="shipped", amount="100.00")
    with pytest.raises(ValidationError) as exc:
        dispute_open(order_id=o.pk, actor=None, reason="damaged", requested_refund=requested)
    assert field in exc.value.message_dict
    o.refresh_from_db()
    assert o.status == "shipped" and not Dispute.objects.exists()


def test_one_open_dispute_per_order():
    d = f.dispute()
    with pytest.raises(ValidationError):
        dispute_open(order_id=d.order_id, actor=None, reason="damaged", requested_refund="1")
    assert Dispute.objects.count() == 1


def test_a_completed_order_can_be_disputed_within_the_window_only():
    o = f.order(status="completed")
    with pytest.raises(ValidationError) as exc:
        dispute_open(
            order_id=o.pk,
            actor=None,
            reason="damaged",
            requested_refund="1",
            at=o.completed_at + 15 * DAY + SECOND,
        )
    assert error_code(exc.value) == "deadline_passed"
    d = dispute_open(
        order_id=o.pk,
        actor=None,
        reason="damaged",
        requested_refund="1",
        at=o.completed_at + 15 * DAY,
    )
    assert d.order.disputed_from == "completed"


@pytest.mark.parametrize("status", ["unpaid", "cancelled", "refunded"])
def test_orders_without_money_in_play_cannot_be_disputed(status):
    o = f.order(status=status)
    with pytest.raises(ValidationError):
        dispute_open(order_id=o.pk, actor=None, reason="other", requested_refund="1")
    assert not Dispute.objects.exists()


# --- money and the order ---


def test_accepting_the_full_amount_refunds_the_order():
    d = f.dispute()  # requested = order amount (100.00)
    _accept(d, f.seller(d.store))
    d.order.refresh_from_db()
    assert d.order.status == "refunded"
    expect(d.store)


def test_an_accepted_proposal_refunds_part_and_returns_the_order():
    d = dispute_in("responded")
    _accept_proposal(d, f.staff("support"))
    d.refresh_from_db()
    assert (d.final_refund, d.order.status) == (D("15.00"), "shipped")
    expect(d.store, escrow="85.00")


def test_withdrawal_returns_the_order_and_moves_no_money():
    d = dispute_in("open")
    _withdraw(d, f.staff("support"))
    d.order.refresh_from_db()
    assert d.order.status == "shipped" and not Refund.objects.exists()


def test_arbitration_decides_amount_and_fault():
    d = dispute_in("arbitration")
    dispute_resolve(dispute_id=d.pk, actor=f.staff("risk"), amount="12.50", fault="carrier")
    d.refresh_from_db()
    assert (d.status, d.final_refund, d.fault) == ("resolved", D("12.50"), "carrier")
    assert d.history.last().amount == D("12.50")


@pytest.mark.parametrize(
    ("amount", "fault", "field"), [("40.01", "seller", "amount"), ("5", "nobody", "fault")]
)
def test_arbitration_input_is_checked(amount, fault, field):
    d = dispute_in("arbitration")
    with pytest.raises(ValidationError) as exc:
        dispute_resolve(dispute_id=d.pk, actor=None, amount=amount, fault=fault)
    assert field in exc.value.message_dict


def test_only_risk_staff_arbitrate():
    d = dispute_in("arbitration")
    for actor in (f.staff("support"), f.seller(d.store)):
        with pytest.raises(PermissionDenied):
            _decide(d, actor)
    d.refresh_from_db()
    assert d.status == "arbitration"


def test_a_seller_responds_only_to_its_own_disputes_and_cannot_withdraw_them():
    d = f.dispute()
    with pytest.raises(PermissionDenied):
        _reject(d, f.seller(f.store()))
    with pytest.raises(PermissionDenied):
        _withdraw(d, f.seller(d.store))
    d.refresh_from_db()
    assert d.status == "open"


def test_return_flow_refunds_when_the_goods_are_back():
    d = dispute_in("awaiting_return")
    expect(d.store, escrow="100.00")
    assert d.order.status == "disputed"
    _confirm_return(d, f.seller(d.store))
    d.refresh_from_db()
    assert (d.status, d.order.status) == ("resolved", "shipped")
    expect(d.store, escrow="60.00")


# --- after-sales protection ---


def test_protected_dispute_in_scope_is_paid_by_the_fund_and_costs_service_points():
    d = f.dispute(reason="not_as_described", requested="30.00", protected=True)
    assert d.protected
    before = service_points(d.store_id, now=_at(d))
    _accept(d, f.seller(d.store))
    d.refresh_from_db()
    assert d.refund.from_protection_fund == D("30.00")
    expect(d.store, escrow="100.00")  # the store keeps its money
    assert balance(account=Account.PROTECTION_FUND) == D("-30.00")
    assert service_points(d.store_id, now=_at(d)) == before - 2


def test_protected_order_outside_scope_goes_to_the_return_flow_and_the_store_pays():
    d = f.dispute(reason="damaged", requested="30.00", protected=True)
    assert not d.protected
    _accept(d, f.seller(d.store))
    d.refresh_from_db()
    assert d.status == "awaiting_return"
    _confirm_return(d, f.seller(d.store))
    d.refresh_from_db()
    assert d.refund.from_escrow == D("30.00") and d.refund.from_protection_fund == 0
    assert service_points(d.store_id, now=_at(d)) == 100


# --- what will happen automatically ---


def test_each_dispute_says_what_will_happen_and_when():
    d = f.dispute(requested="23.10")
    action = auto_action(d)
    assert (action.at, action.description) == (d.respond_by, "refund USD 23.10 to the buyer")
    d = dispute_in("responded")
    assert auto_action(d).description == "escalate to platform arbitration"
    assert auto_action(dispute_in("resolved")) is None


def test_timeline_keeps_who_did_what_with_which_amount():
    d = f.dispute(requested="40.00")
    seller = f.seller(d.store)
    dispute_respond(
        dispute_id=d.pk,
        actor=seller,
        action="propose",
        amount="15.00",
        note="partial refund offered",
        at=_at(d),
    )
    timeline = list(d.history.values_list("transition", "actor", "note", "amount"))
    assert timeline[-1] == ("respond", seller.pk, "partial refund offered", Decimal("15.00"))
    assert timeline[0][0] == "open"


def test_accept_reject_and_propose_are_services_of_their_own():
    accepted, rejected, proposed = (f.dispute(requested="40.00") for _ in range(3))
    dispute_accept(dispute_id=accepted.pk, actor=None, note="sorry", at=_at(accepted))
    dispute_reject(dispute_id=rejected.pk, actor=None, note="it arrived", at=_at(rejected))
    dispute_propose(dispute_id=proposed.pk, actor=None, amount="15.00", at=_at(proposed))
    for d in (accepted, rejected, proposed):
        d.refresh_from_db()
    assert (accepted.status, accepted.final_refund) == (Dispute.Status.RESOLVED, D("40.00"))
    assert (rejected.status, rejected.proposed_refund) == (Dispute.Status.RESPONDED, D("0.00"))
    assert (proposed.status, proposed.proposed_refund) == (Dispute.Status.RESPONDED, D("15.00"))


@pytest.mark.parametrize(
    ("action", "arguments", "field"),
    [
        ("propose", {}, "amount"),
        ("accept", {"amount": "10.00"}, "amount"),
        ("reject", {"amount": "10.00"}, "amount"),
        ("reject", {"return_required": True}, "returnRequired"),
        ("propose", {"amount": "10.00", "return_required": True}, "returnRequired"),
        ("refund", {}, "action"),
    ],
)
def test_a_response_whose_arguments_do_not_go_with_its_action_changes_nothing(
    action, arguments, field
):
    d = f.dispute(requested="40.00")
    with pytest.raises(ValidationError) as exc:
        dispute_respond(dispute_id=d.pk, actor=None, action=action, at=_at(d), **arguments)
    assert error_code(exc.value) == "invalid"
    assert list(exc.value.error_dict) == [field]
    d.refresh_from_db()
    assert (d.status, d.proposed_refund) == (Dispute.Status.OPEN, None)
