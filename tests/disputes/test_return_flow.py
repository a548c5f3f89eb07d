"""Every case ends: a return the seller never confirms is refunded after RETURN_DAYS, through the
same refund as a confirmed return; arbitration has a service level staff see. And protection pays
only what it covers: a return the seller asks for on its own account is the store's to refund."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from backoffice.deadlines import run_job
from disputes.models import Dispute
from disputes.selectors import service_points
from disputes.services import dispute_escalate, dispute_resolve, dispute_respond
from payouts.models import LedgerEntry, Refund
from tests import factories as f
from tests.disputes.test_services import dispute_in
from tests.gql import gid, gql
from tests.payouts.helpers import expect

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

CLOCK = """query($id: ID!) { node(id: $id) { ... on Dispute {
  status protected sellerReturn returnRequired returnStartedAt returnDueAt arbitrationDueAt
  autoAction autoActionAt
  finalRefund { amount }
  order { status }
  refund { amount { amount } fromEscrow { amount } fromProtectionFund { amount } }
  timeline { transition by note amount { amount } }
} } }"""

RESPOND = """mutation($input: DisputeRespondInput!) { disputeRespond(input: $input) {
  ... on Dispute { status protected sellerReturn returnRequired returnDueAt autoAction }
  ... on OperationInfo { messages { code field message } }
} }"""

CONFIRM = """mutation($input: DisputeConfirmReturnInput!) { disputeConfirmReturn(input: $input) {
  ... on Dispute { status
    refund { amount { amount } fromEscrow { amount } fromProtectionFund { amount } } }
  ... on OperationInfo { messages { code message } }
} }"""


def node(client, dispute: Dispute) -> dict:
    body = gql(client, CLOCK, {"id": gid(dispute)}, user=f.superuser())
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def legs(refund: Refund) -> dict[str, Decimal]:
    rows = LedgerEntry.objects.filter(posting__refund=refund)
    return {row.account: row.amount for row in rows}


# --- the return timeout: the clock shown is the clock that acts ---


def test_an_unconfirmed_return_is_refunded_exactly_at_the_clock_shown(client):
    # given a dispute the seller accepted with a return (USD 40.00 of a shipped USD 100 order)
    d = dispute_in("awaiting_return")
    shown = node(client, d)
    due = d.return_started_at + timedelta(days=15)
    assert shown["returnDueAt"] == shown["autoActionAt"] == due.isoformat()
    assert shown["autoAction"] == "refund USD 40.00 to the buyer (return not confirmed)"
    expect(d.store, escrow="100.00")

    # when the job runs one second before the clock: nothing happens
    assert run_job("disputes.return_timeout", due - SECOND).done == 0
    assert node(client, d)["status"] == "AWAITING_RETURN"
    assert Refund.objects.count() == 0

    # and at the clock: the buyer is refunded, once, from the order's escrow
    assert run_job("disputes.return_timeout", due).done == 1
    assert run_job("disputes.return_timeout", due + DAY).done == 0
    after = node(client, d)
    assert after["status"] == "RESOLVED"
    assert (after["autoAction"], after["autoActionAt"], after["returnDueAt"]) == (None,) * 3
    assert after["refund"] == {
        "amount": {"amount": "40.00"},
        "fromEscrow": {"amount": "40.00"},
        "fromProtectionFund": {"amount": "0.00"},
    }
    assert after["order"]["status"] == "SHIPPED"  # a partial refund: back where it was
    assert after["timeline"][-1] == {
        "transition": "return_timeout",
        "by": None,
        "note": "automatic: returned goods not confirmed within 15 days",
        "amount": {"amount": "40.00"},
    }
    refund = Refund.objects.get()
    assert legs(refund) == {"escrow": Decimal("-40.00"), "buyer_funds": Decimal("40.00")}
    expect(d.store, escrow="60.00")


def test_the_timeout_follows_the_setting(client, settings):
    settings.RETURN_DAYS = 3
    d = dispute_in("awaiting_return")
    due = d.return_started_at + timedelta(days=3)

    assert node(client, d)["autoActionAt"] == due.isoformat()
    assert run_job("disputes.return_timeout", due - SECOND).done == 0
    assert run_job("disputes.return_timeout", due).done == 1
    note = d.history.order_by("-at", "-id").first().note
    assert note == "automatic: returned goods not confirmed within 3 days"


def test_a_confirmed_return_leaves_nothing_for_the_timeout(client):
    d = dispute_in("awaiting_return")
    seller = f.seller(d.store)

    body = gql(client, CONFIRM, {"input": {"id": gid(d)}}, user=seller)

    assert body["data"]["disputeConfirmReturn"]["status"] == "RESOLVED"
    assert run_job("disputes.return_timeout", d.return_started_at + 30 * DAY).done == 0
    assert Refund.objects.count() == 1


def test_the_system_alone_times_a_return_out_and_only_when_due(client, time_machine):
    d = dispute_in("awaiting_return")
    time_machine.move_to(d.return_due_at - SECOND, tick=False)
    body = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dispute { availableTransitions { name allowed "
        "reason } } } }",
        {"id": gid(d)},
        user=f.superuser(),
    )
    checks = {t["name"]: t for t in body["data"]["node"]["availableTransitions"]}

    assert checks["return_timeout"]["allowed"] is False
    assert checks["return_timeout"]["reason"].startswith("The return is awaited until ")
    time_machine.move_to(d.return_due_at, tick=False)  # due: still no person's move
    body = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dispute { availableTransitions { name allowed "
        "code } } } }",
        {"id": gid(d)},
        user=f.superuser(),
    )
    checks = {t["name"]: t for t in body["data"]["node"]["availableTransitions"]}
    assert checks["return_timeout"] == {
        "name": "return_timeout",
        "allowed": False,
        "code": "permission_denied",
    }


# --- arbitration's service level: a due date staff see, no automatic outcome ---


def test_arbitration_shows_its_due_date_and_nothing_happens_by_itself(client, time_machine):
    d = dispute_in("arbitration")
    due = d.escalated_at + timedelta(days=7)

    shown = node(client, d)
    assert shown["arbitrationDueAt"] == shown["autoActionAt"] == due.isoformat()
    assert shown["autoAction"] == (
        "platform decision due (arbitration service level; staff decide)"
    )
    for job in ("disputes.auto_resolve", "disputes.auto_escalate", "disputes.return_timeout"):
        run_job(job, due + 30 * DAY)
    assert node(client, d)["status"] == "ARBITRATION"

    # and the admin queue flags it overdue once the date passed, not before
    client.force_login(f.staff("risk"))
    changelist = reverse("admin:disputes_dispute_changelist")

    def overdue_at(moment) -> list[int]:
        time_machine.move_to(moment, tick=False)
        response = client.get(changelist + "?due=arbitration_overdue")
        assert response.status_code == 200
        return [row.pk for row in response.context["cl"].result_list]

    assert overdue_at(due - SECOND) == []
    assert overdue_at(due) == [d.pk]
    page = client.get(changelist)
    assert "platform decision due (arbitration service level; staff decide): overdue" in page.text
    assert "arbitration overdue" in page.text


# --- protection pays only what it covers ---


def protected_dispute() -> Dispute:
    order = f.order(status="shipped", protected=True)
    return f.dispute(order, reason="not_received", requested="40.00")


def test_a_return_the_seller_asks_for_is_paid_by_the_store_not_the_fund(client, time_machine):
    # given a protected dispute (the protection fund would pay it)
    d = protected_dispute()
    time_machine.move_to(d.opened_at + DAY, tick=False)
    seller = f.seller(d.store)
    expect(d.store, escrow="100.00")

    # when the seller accepts and asks for the goods back, on its own account
    body = gql(
        client,
        RESPOND,
        {"input": {"id": gid(d), "action": "ACCEPT", "returnRequired": True}},
        user=seller,
    )
    payload = body["data"]["disputeRespond"]
    assert payload["status"] == "AWAITING_RETURN"
    assert (payload["protected"], payload["sellerReturn"], payload["returnRequired"]) == (
        False,
        True,
        True,
    )
    assert payload["autoAction"] == "refund USD 40.00 to the buyer (return not confirmed)"

    # and confirms the returned goods
    body = gql(client, CONFIRM, {"input": {"id": gid(d)}}, user=seller)

    # then the store pays, from the order's escrow; the protection fund pays nothing
    assert body["data"]["disputeConfirmReturn"]["refund"] == {
        "amount": {"amount": "40.00"},
        "fromEscrow": {"amount": "40.00"},
        "fromProtectionFund": {"amount": "0.00"},
    }
    assert legs(Refund.objects.get()) == {
        "escrow": Decimal("-40.00"),
        "buyer_funds": Decimal("40.00"),
    }
    assert not LedgerEntry.objects.filter(account="protection_fund").exists()
    expect(d.store, escrow="60.00")
    # and the protection was not used: the store keeps its service points
    assert service_points(d.store_id, now=d.opened_at + 10 * DAY) == 100


def test_a_seller_return_that_times_out_is_paid_by_the_store_too(client):
    d = protected_dispute()
    dispute_respond(
        dispute_id=d.pk, actor=None, action="accept", return_required=True, at=d.opened_at + DAY
    )
    d.refresh_from_db()

    assert run_job("disputes.return_timeout", d.return_due_at).done == 1

    refund = Refund.objects.get()
    assert (refund.from_escrow, refund.from_protection_fund) == (Decimal("40.00"), 0)
    assert not LedgerEntry.objects.filter(account="protection_fund").exists()
    expect(d.store, escrow="60.00")


@pytest.mark.parametrize("with_return", [False, True])
def test_the_platforms_decisions_stay_within_the_protection(client, with_return):
    # a protected dispute accepted without a return, or a return the platform decided on,
    # is still the protection fund's to pay
    d = protected_dispute()
    at = d.opened_at + DAY
    if with_return:
        dispute_respond(dispute_id=d.pk, actor=None, action="reject", at=at)
        dispute_escalate(dispute_id=d.pk, actor=None, at=at)
        dispute_resolve(
            dispute_id=d.pk,
            actor=None,
            amount="40.00",
            fault="carrier",
            return_required=True,
            at=at,
        )
        d.refresh_from_db()
        assert (d.protected, d.seller_return) == (True, False)
        run_job("disputes.return_timeout", d.return_due_at)
    else:
        dispute_respond(dispute_id=d.pk, actor=None, action="accept", at=at)

    refund = Refund.objects.get()
    assert (refund.from_escrow, refund.from_protection_fund) == (0, Decimal("40.00"))
    assert legs(refund) == {"protection_fund": Decimal("-40.00"), "buyer_funds": Decimal("40.00")}
    expect(d.store, escrow="100.00")
