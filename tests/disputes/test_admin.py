"""The disputes admin: a work queue sorted by deadline; buttons, the bulk action and the add view
run the dispute services as the signed-in user and change nothing when refused."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disputes.models import Dispute
from disputes.services import dispute_respond, dispute_withdraw
from orders.models import Order
from payouts.models import Refund
from tests import factories as f
from tests.disputes.test_services import dispute_in

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
# dispute_in() and f.dispute() open at T0 + 3 days: the seller may respond until T0 + 8 days.
DURING_RESPONSE = f.T0 + 4 * DAY


def post(client: Client, url: str, data: dict | None = None) -> HttpResponse:
    """POST with the CSRF token, as the browser does (the test client enforces CSRF)."""
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


def texts(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(view: str, *args) -> str:
    return reverse(f"admin:disputes_dispute_{view}", args=args)


def act(client: Client, dispute: Dispute, name: str, data: dict | None = None) -> HttpResponse:
    """Run an action, confirmed (a money move's confirmation page is answered)."""
    data = {**(data or {}), "_apply": "1", "_confirm": "1"}
    return post(client, url("transition", dispute.pk, name), data)


def label(dispute: Dispute) -> str:
    return f"Dispute #{dispute.pk} on order {dispute.order.order_number}"


def snapshot(dispute: Dispute) -> tuple:
    dispute.refresh_from_db()
    order = Order.objects.get(pk=dispute.order_id)
    return dispute.status, dispute.history.count(), order.status, Refund.objects.count()


def buttons(response: HttpResponse) -> dict[str, bool]:
    return {b.name: b.allowed for b in response.context["object_buttons"]}


# --- the work queue ---


def opened(at, *, requested: str = "40.00") -> Dispute:
    """An open dispute opened at ``at`` on an order shipped two days before."""
    order = f.order(status="shipped", at=at - 4 * DAY)
    return f.dispute(order, requested=requested, at=at)


def test_the_queue_is_sorted_by_deadline_and_filtered_by_when_it_is_due(client, time_machine):
    # given, at NOW, disputes whose automatic action is overdue, due within hours or days
    now = f.T0 + 60 * DAY
    time_machine.move_to(now, tick=False)
    overdue = opened(now - 5 * DAY - HOUR)  # respond_by one hour ago
    soon = opened(now - 4 * DAY - 12 * HOUR, requested="23.10")  # in 12 h
    this_week = opened(now - 2 * DAY)  # in 3 days
    escalating = opened(now - 14 * DAY - 20 * HOUR)  # responded: escalates in 4 h
    dispute_respond(
        dispute_id=escalating.pk, actor=None, action="reject", at=escalating.opened_at + HOUR
    )
    later = opened(now - DAY)  # responded: escalates in 14 days
    dispute_respond(dispute_id=later.pk, actor=None, action="reject", at=now - HOUR)
    done = opened(now - 30 * DAY)  # withdrawn long ago: nothing due
    dispute_withdraw(dispute_id=done.pk, actor=None, at=done.opened_at + HOUR)
    client.force_login(f.staff("support"))

    # when support opens the queue and its "due" filters
    def listed(query: str = "") -> list[int]:
        response = client.get(url("changelist") + query)
        assert response.status_code == 200, query
        return [d.pk for d in response.context["cl"].result_list]

    page = client.get(url("changelist"))

    # then the queue puts the most urgent deadline first, whatever its kind, and closed ones last
    assert listed() == [overdue.pk, escalating.pk, soon.pk, this_week.pk, later.pk, done.pk]
    # with a red badge on the overdue one and amber ones on those due within 24 h
    assert page.text.count('data-due="overdue"') == 1
    assert page.text.count('data-due="soon"') == 2
    # and the filters pick by the next automatic action: a responded dispute by its escalation
    assert listed("?due=overdue") == [overdue.pk]
    assert set(listed("?due=24h")) == {soon.pk, escalating.pk}
    assert set(listed("?due=7d")) == {soon.pk, this_week.pk, escalating.pk}
    # and the "due" column says what will happen and when
    assert "refund USD 40.00 to the buyer: overdue by 1 h" in page.text
    assert "refund USD 23.10 to the buyer in 12 h" in page.text
    assert "escalate to platform arbitration in 4 h" in page.text
    assert "escalate to platform arbitration in 14 days" in page.text
    assert "due in the next 24 h" in page.text and "due in the next 7 days" in page.text


def test_the_queue_can_be_sorted_by_due_and_searched_and_filtered(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = f.dispute(requested="30.00")
    Dispute.objects.filter(pk=dispute.pk).update(platform_dispute_id="5012345678")
    client.force_login(f.staff("risk"))

    for query in (
        "?o=8",  # the "due" column
        "?o=-8",
        f"?q={dispute.order.order_number}",
        "?q=5012345678",
        f"?q={dispute.store.name}",
        f"?status__exact=open&reason__exact=not_received&protected__exact=0"
        f"&store__id__exact={dispute.store_id}",
        "?opened_at__year=2026&opened_at__month=3",
    ):
        response = client.get(url("changelist") + query)
        assert response.status_code == 200, query
        assert [d.pk for d in response.context["cl"].result_list] == [dispute.pk], query


def changelist_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("changelist"))
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_rows(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    client.force_login(f.staff("support"))
    changelist_queries(client)  # warm the per-process caches (content types)
    for _ in range(5):
        f.dispute()
    five = changelist_queries(client)

    for _ in range(15):
        f.dispute()
    twenty = changelist_queries(client)

    assert Dispute.objects.count() == 20
    assert five == twenty


# --- buttons ---


def test_support_rejects_and_proposes_and_the_timeline_shows_the_amounts(client, time_machine):
    # given a support agent and two open disputes (USD 40.00 asked on USD 100.00 orders)
    time_machine.move_to(DURING_RESPONSE, tick=False)
    agent = f.staff("support")
    client.force_login(agent)
    rejected, proposed = dispute_in("open"), dispute_in("open")

    # when the agent opens one: the seller-side and buyer-side moves are offered
    page = client.get(url("change", rejected.pk))

    assert page.status_code == 200
    assert buttons(page) == {
        "accept": True,
        "reject": True,
        "propose": True,
        "accept_proposal": False,
        "escalate": False,
        "withdraw": True,
        "confirm_return": False,
    }
    assert "refund USD 40.00 to the buyer in 4 days" in page.text
    assert "status" not in page.context["adminform"].form.fields

    # when the agent rejects one and proposes USD 15.00 on the other
    form = client.get(url("transition", proposed.pk, "propose"))
    reject = texts(act(client, rejected, "reject", {"note": "tracking shows delivered"}))
    propose = texts(act(client, proposed, "propose", {"amount": "15.00", "note": "keep it"}))

    # then both are responded through the service, in the agent's name, with their amounts
    assert form.status_code == 200 and "Proposed refund" in form.text
    assert reject == [f"Reject: done for {label(rejected)}. It is now responded."]
    assert propose[-1] == f"Propose: done for {label(proposed)}. It is now responded."
    rejected.refresh_from_db()
    proposed.refresh_from_db()
    assert (rejected.status, rejected.proposed_refund) == ("responded", Decimal("0.00"))
    assert (proposed.status, proposed.proposed_refund) == ("responded", Decimal("15.00"))
    row = proposed.history.last()
    assert (row.transition, row.actor, row.amount, row.note) == (
        "respond",
        agent,
        Decimal("15.00"),
        "keep it",
    )
    assert rejected.history.last().amount == Decimal("0.00")
    timeline = client.get(url("change", proposed.pk))
    assert "Open → Responded" in timeline.text and "USD 15.00" in timeline.text
    assert "keep it" in timeline.text and agent.username in timeline.text
    assert "escalate to platform arbitration in 14 days" in timeline.text


def test_a_response_after_the_deadline_is_refused_with_its_reason_and_changes_nothing(
    client, time_machine
):
    dispute = dispute_in("open")
    time_machine.move_to(dispute.respond_by + timedelta(seconds=1), tick=False)
    client.force_login(f.staff("support"))
    before = snapshot(dispute)

    page = client.get(url("change", dispute.pk))
    response = act(client, dispute, "accept")

    reason = f"The seller's response deadline passed at {dispute.respond_by:%Y-%m-%d %H:%M:%S} UTC."
    refused = {b.name: b for b in page.context["object_buttons"]}["accept"]
    assert (refused.allowed, refused.reason) == (False, reason)
    assert response.status_code == 302 and response.url == url("change", dispute.pk)
    assert texts(response) == [reason]
    assert snapshot(dispute) == before


def test_a_move_the_state_does_not_allow_is_refused_and_changes_nothing(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("open")
    client.force_login(f.superuser())
    before = snapshot(dispute)

    response = act(client, dispute, "confirm_return")
    unlisted = post(client, url("transition", dispute.pk, "auto_resolve"))

    assert texts(response) == ["Not possible while the dispute is Open."]
    assert unlisted.status_code == 404  # the system's transitions are not offered
    assert snapshot(dispute) == before


def test_a_seller_side_move_by_staff_without_the_permission_is_refused(client, time_machine):
    # risk may view and arbitrate disputes, not respond for the seller
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("open")
    client.force_login(f.staff("risk"))
    before = snapshot(dispute)

    page = client.get(url("change", dispute.pk))
    response = act(client, dispute, "reject", {"note": "forged"})

    assert buttons(page) == {"resolve": False}
    assert texts(response) == ["You do not have permission to do this."]
    assert snapshot(dispute) == before


def test_risk_arbitrates_with_amount_and_fault_and_the_refund_is_paid(client, time_machine):
    # given a dispute in arbitration (USD 40.00 asked on a shipped USD 100.00 order)
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("arbitration")
    officer = f.staff("risk")
    client.force_login(officer)

    # when risk decides a USD 12.50 refund, the carrier at fault
    page = client.get(url("change", dispute.pk))
    response = act(
        client,
        dispute,
        "resolve",
        {"amount": "12.50", "fault": "carrier", "note": "lost in transit, partly"},
    )

    # then the dispute is resolved, the refund made, the order back to shipped
    assert buttons(page) == {"resolve": True}
    assert texts(response) == [
        f"Resolve (arbitration): done for {label(dispute)}. It is now resolved."
    ]
    dispute.refresh_from_db()
    assert (dispute.status, dispute.final_refund, dispute.fault) == (
        "resolved",
        Decimal("12.50"),
        "carrier",
    )
    assert (dispute.refund.amount, dispute.refund.from_escrow) == (
        Decimal("12.50"),
        Decimal("12.50"),
    )
    assert Order.objects.get(pk=dispute.order_id).status == "shipped"
    row = dispute.history.last()
    assert (row.actor, row.transition, row.amount) == (officer, "decide", Decimal("12.50"))
    # and the dispute page shows where the refund came from, linked (risk may view refunds)
    shown = client.get(url("change", dispute.pk))
    assert "from escrow" in shown.text and "USD 12.50" in shown.text
    assert reverse("admin:payouts_refund_change", args=[dispute.refund.pk]) in shown.text


def test_an_arbitration_above_the_requested_refund_is_refused(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("arbitration")
    client.force_login(f.staff("risk"))
    before = snapshot(dispute)

    response = act(client, dispute, "resolve", {"amount": "40.01", "fault": "seller"})

    # the form comes back with the amount typed and the refusal beside it
    assert response.context["form"].errors["amount"] == [
        "The refund cannot exceed the requested USD 40.00."
    ]
    assert response.context["form"]["amount"].value() == "40.01"
    assert snapshot(dispute) == before


def test_withdrawal_returns_the_order_to_where_it_was(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("responded")
    assert Order.objects.get(pk=dispute.order_id).status == "disputed"
    client.force_login(f.staff("support"))

    response = act(client, dispute, "withdraw", {"note": "parcel arrived"})

    assert texts(response) == [f"Withdraw: done for {label(dispute)}. It is now cancelled."]
    dispute.refresh_from_db()
    assert dispute.status == "cancelled" and dispute.refund is None
    assert Order.objects.get(pk=dispute.order_id).status == "shipped"
    assert not Refund.objects.exists()


def test_confirming_the_return_pays_the_refund(client, time_machine):
    # given a dispute accepted with a return: nothing paid yet
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("awaiting_return")
    agent = f.staff("support")
    client.force_login(agent)
    waiting = client.get(url("change", dispute.pk))

    # when support confirms the returned goods for the seller
    response = act(client, dispute, "confirm_return", {"note": "goods back, unused"})

    # then the agreed refund is paid from escrow and the dispute shows it, linked
    assert "the refund is paid when the seller confirms the returned goods" in waiting.text
    assert texts(response) == [f"Confirm return: done for {label(dispute)}. It is now resolved."]
    dispute.refresh_from_db()
    assert dispute.status == "resolved"
    assert (dispute.refund.amount, dispute.refund.from_escrow) == (
        Decimal("40.00"),
        Decimal("40.00"),
    )
    assert dispute.history.last().amount == Decimal("40.00")
    page = client.get(url("change", dispute.pk))
    assert reverse("admin:payouts_refund_change", args=[dispute.refund.pk]) in page.text


def test_accept_with_return_required_waits_for_the_goods(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("open")
    client.force_login(f.staff("support"))

    response = act(client, dispute, "accept", {"return_required": "on"})

    assert texts(response) == [f"Accept: done for {label(dispute)}. It is now awaiting return."]
    dispute.refresh_from_db()
    assert (dispute.status, dispute.final_refund, dispute.refund) == (
        "awaiting_return",
        Decimal("40.00"),
        None,
    )


def test_accepting_a_proposal_refunds_it(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = dispute_in("responded")  # USD 15.00 proposed
    client.force_login(f.staff("support"))

    response = act(client, dispute, "accept_proposal")

    assert texts(response)[0].endswith("It is now resolved.")
    dispute.refresh_from_db()
    assert dispute.refund.amount == Decimal("15.00")


# --- the bulk action ---


def test_bulk_escalate_moves_responded_disputes_and_reports_the_others(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    responded, still_open = dispute_in("responded"), dispute_in("open")
    client.force_login(f.staff("support"))

    response = post(
        client,
        url("changelist"),
        {
            "action": "bulk_escalate",
            "_selected_action": [responded.pk, still_open.pk],
            "index": "0",
        },
    )

    assert texts(response) == [
        "Escalate: 1 done, 1 refused.",
        f"{label(still_open)}: Not possible while the dispute is Open.",
    ]
    assert snapshot(responded)[0] == "arbitration"
    assert snapshot(still_open)[0] == "open"


def test_risk_is_not_offered_the_bulk_escalation(client):
    client.force_login(f.staff("risk"))

    page = client.get(url("changelist"))

    assert page.status_code == 200 and "bulk_escalate" not in page.text


# --- opening a dispute ---


def test_support_opens_a_dispute_through_the_service(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    agent = f.staff("support")
    client.force_login(agent)
    order = f.order(status="shipped", amount="100.00")
    data = {
        "order": order.pk,
        "reason": "damaged",
        "requested_refund": "35.00",
        "description": "box crushed",
        "platform_dispute_id": "5099",
    }

    page = client.get(url("add"))
    response = post(client, url("add"), data)

    assert page.status_code == 200 and "Requested refund" in page.text
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response.url == url("change", dispute.pk)
    assert (dispute.status, dispute.requested_refund, dispute.platform_dispute_id) == (
        "open",
        Decimal("35.00"),
        "5099",
    )
    assert dispute.respond_by == DURING_RESPONSE + 5 * DAY
    assert Order.objects.get(pk=order.pk).status == "disputed"
    row = dispute.history.get()
    assert (row.actor, row.note, row.amount) == (agent, "box crushed", Decimal("35.00"))


def test_the_requested_refund_errors_show_on_the_form_and_nothing_is_created(client):
    client.force_login(f.staff("support"))
    order = f.order(status="shipped", amount="100.00")

    for requested, message in (
        ("100.01", "At most USD 100.00 of this order can be refunded."),
        ("0", "The amount must be greater than zero."),
        ("1.001", "At most 2 decimals."),
    ):
        response = post(
            client,
            url("add"),
            {"order": order.pk, "reason": "damaged", "requested_refund": requested},
        )

        assert response.status_code == 200, requested
        assert response.context["form"].errors == {"requested_refund": [message]}, requested
    assert not Dispute.objects.exists()
    assert Order.objects.get(pk=order.pk).status == "shipped"


def test_risk_and_finance_cannot_open_or_delete_disputes(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    dispute = f.dispute()

    for role in ("risk", "finance"):
        client.force_login(f.staff(role))
        assert client.get(url("add")).status_code == 403, role
        assert client.get(url("delete", dispute.pk)).status_code == 403, role


# --- disputes on the order page ---


def test_the_order_page_lists_its_disputes_with_a_bounded_query_count(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    client.force_login(f.staff("support"))
    one = f.dispute().order
    many = f.order(status="shipped")
    for _ in range(2):
        withdrawn = f.dispute(many)
        dispute_withdraw(dispute_id=withdrawn.pk, actor=None, at=withdrawn.opened_at)
    current = f.dispute(many, reason="damaged", requested="12.00")

    def queries(order: Order) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
        assert response.status_code == 200
        return len(captured), response.text

    queries(one)  # warm Django's per-process caches (content types) first
    few, _ = queries(one)
    more, page = queries(many)

    assert few == more
    assert url("change", current.pk) in page
    assert page.count("Cancelled") == 2 and "Damaged" in page and "USD 12.00" in page


def test_a_taken_platform_dispute_id_shows_on_the_form(client, time_machine):
    time_machine.move_to(DURING_RESPONSE, tick=False)
    client.force_login(f.staff("support"))
    taken = f.dispute()
    Dispute.objects.filter(pk=taken.pk).update(platform_dispute_id="5001")
    order = f.order(status="shipped")

    response = post(
        client,
        url("add"),
        {
            "order": order.pk,
            "reason": "other",
            "requested_refund": "5.00",
            "platform_dispute_id": "5001",
        },
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["platform_dispute_id"]
    assert Dispute.objects.count() == 1
