"""Admin actions that move money show what moves and ask to confirm first (with a note when
staff act for someone else); a refused form comes back with what was typed and the error on
its field; nothing changes before the confirmation or on a refusal."""

from decimal import Decimal

import time_machine
from django.test import Client
from django.urls import reverse

from disputes.models import Dispute
from orders.models import Order
from payouts.ledger import store_balances
from tests import factories as f
from tests.disputes.test_admin import post
from tests.disputes.test_services import _at, dispute_in


def order_action(order: Order, name: str) -> str:
    return reverse("admin:orders_order_transition", args=[order.pk, name])


def state(order: Order) -> tuple[str, int]:
    order.refresh_from_db()
    return order.status, order.history.count()


def test_confirm_receipt_shows_the_money_effect_and_needs_a_note(client: Client) -> None:
    # given a shipped USD 100.00 order of "Sunrise Gadgets"
    agent = f.staff("support")
    client.force_login(agent)
    order = f.order(f.store(name="Sunrise Gadgets"), status="shipped")
    before = state(order)

    # when support clicks "Confirm receipt" (the button posts without input)
    page = post(client, order_action(order, "confirm"))
    # then a confirmation page says what moves and who is recorded; nothing happened yet
    assert page.status_code == 200
    assert page.context["effect"] == "USD 100.00 escrow -> available of Sunrise Gadgets"
    assert 'data-effect="money"' in page.text
    assert state(order) == before

    # when it is confirmed without a note (staff act for the buyer), it is refused on the field
    refused = post(client, order_action(order, "confirm"), {"_apply": "1", "_confirm": "1"})
    assert refused.status_code == 200 and "note" in refused.context["form"].errors
    assert refused.context["effect"]  # still the confirmation page
    assert state(order) == before

    # when it is confirmed with a note, the escrow goes to the store, recorded as the agent's
    done = post(
        client,
        order_action(order, "confirm"),
        {"_apply": "1", "_confirm": "1", "note": "buyer confirmed by phone"},
    )
    assert done.status_code == 302
    assert state(order)[0] == Order.Status.COMPLETED
    last = order.history.latest("at")
    assert (last.actor, last.note) == (agent, "buyer confirmed by phone")


def test_a_refused_resolution_comes_back_with_the_typed_amount_and_the_error(client: Client):
    # given a dispute in arbitration over a USD 40.00 request
    dispute = dispute_in("arbitration")
    client.force_login(f.staff("risk"))
    action = reverse("admin:disputes_dispute_transition", args=[dispute.pk, "resolve"])
    typed = {"amount": "55.00", "fault": "seller", "note": "photos show damage", "_apply": "1"}

    with time_machine.travel(_at(dispute), tick=False):
        # when risk asks for more than was requested, the confirmation shows it (valid form)...
        confirm = post(client, action, typed)
        assert "USD 55.00 refund to the buyer" in confirm.context["effect"]
        # ...and confirming it is refused by the service
        refused = post(client, action, {**typed, "_confirm": "1"})

        # then the form comes back with what was typed and the error on the amount field
        assert refused.status_code == 200
        form = refused.context["form"]
        assert list(form.errors) == ["amount"]
        assert form["amount"].value() == "55.00" and form["note"].value() == "photos show damage"
        dispute.refresh_from_db()
        assert dispute.status == Dispute.Status.ARBITRATION

        # when the amount is corrected and confirmed, the dispute is resolved with that refund
        done = post(client, action, {**typed, "amount": "30.00", "_confirm": "1"})
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.final_refund) == (Dispute.Status.RESOLVED, Decimal("30.00"))


def test_bulk_confirm_receipt_lists_each_effect_before_it_runs(client: Client) -> None:
    client.force_login(f.staff("support"))
    store = f.store(name="Sunrise Gadgets")
    orders = [f.order(store, status="shipped", amount=a) for a in ("89.00", "11.00")]
    balances = store_balances(store.pk)
    changelist = reverse("admin:orders_order_changelist")
    selected = {"action": "bulk_confirm", "_selected_action": [o.pk for o in orders]}

    page = post(client, changelist, {**selected, "index": "0"})

    assert page.status_code == 200
    effects = sorted(effect for _obj, _label, effect in page.context["rows"])
    assert effects == [
        "USD 11.00 escrow -> available of Sunrise Gadgets",
        "USD 89.00 escrow -> available of Sunrise Gadgets",
    ]
    assert store_balances(store.pk) == balances

    done = post(client, changelist, {**selected, "_confirm": "1", "note": "buyer e-mail"})

    assert done.status_code == 302
    assert {state(o)[0] for o in orders} == {Order.Status.COMPLETED}
