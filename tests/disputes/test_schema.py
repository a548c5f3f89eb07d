"""The disputes GraphQL API: every move through the mutations, the exact response deadline,
seller scoping, input checks, after-sales protection, what happens automatically, and the cost
of a page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disputes.models import Dispute
from disputes.services import dispute_escalate, dispute_open, dispute_respond
from orders.models import Order
from payouts.ledger import store_balances
from payouts.models import Refund
from tests import factories as f
from tests.disputes.test_services import DAY, SECOND, dispute_in
from tests.gql import codes, error_codes, gid, gql, mutate

STATES = [s.value for s in Dispute.Status]

# case -> (mutation, extra input, {state it may start from: state it leads to})
EDGES = {
    "respond-accept": ("disputeRespond", {"action": "ACCEPT"}, {"open": "resolved"}),
    "respond-reject": ("disputeRespond", {"action": "REJECT"}, {"open": "responded"}),
    "accept-proposal": ("disputeAcceptProposal", {}, {"responded": "resolved"}),
    "escalate": ("disputeEscalate", {}, {"responded": "arbitration"}),
    "resolve": (
        "disputeResolve",
        {"amount": "10.00", "fault": "SELLER"},
        {"arbitration": "resolved"},
    ),
    "withdraw": ("disputeWithdraw", {}, {"open": "cancelled", "responded": "cancelled"}),
    "confirm-return": ("disputeConfirmReturn", {}, {"awaiting_return": "resolved"}),
}
CASES = [(case, state) for case in EDGES for state in STATES]
FORBIDDEN = [(case, state) for case, state in CASES if state not in EDGES[case][2]]
ALLOWED = [(case, state) for case, state in CASES if state in EDGES[case][2]]


def ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{case}-{state}" for case, state in cases]


DISPUTES = """
query($first: Int, $filters: DisputeFilter, $order: DisputeSort) {
  disputes(first: $first, filters: $filters, order: $order) {
    totalCount
    edges { node { id status } }
  }
}
"""

DISPUTE = """
query($id: ID!) { node(id: $id) { ... on Dispute {
  id status platformDisputeId reason description protected returnRequired fault
  requestedRefund { amount currency } proposedRefund { amount } finalRefund { amount }
  openedAt respondBy escalateAt respondedAt escalatedAt resolvedAt cancelledAt
  autoActionAt autoAction
  order { id status }
  store { id }
  refund { amount { amount } fromEscrow { amount } fromProtectionFund { amount } }
  history { from to transition by at note }
  timeline { from to transition by at note amount { amount currency } }
  availableTransitions { name allowed reason code }
} } }
"""

LISTING = """
{
  disputes(first: 100) {
    totalCount
    edges { node {
      id status reason autoAction autoActionAt
      requestedRefund { amount } finalRefund { amount }
      order { id orderNumber status amount { amount } }
      store { id name }
      timeline { from to transition by at note amount { amount } }
      history { from to by }
      availableTransitions { name allowed reason code }
      refund { amount { amount } fromEscrow { amount } fromProtectionFund { amount } }
    } }
  }
}
"""


def snapshot(d: Dispute) -> tuple:
    """What a refused mutation must leave untouched: the dispute, its timeline, its order and
    the refunds."""
    d = Dispute.objects.select_related("order").get(pk=d.pk)
    return (
        d.status,
        d.updated_at,
        d.history.count(),
        d.order.status,
        d.order.updated_at,
        Refund.objects.count(),
    )


def during(time_machine, d: Dispute) -> None:
    """Move the clock to a day after the services built ``d``: inside every deadline."""
    time_machine.move_to(d.opened_at + 2 * DAY, tick=False)


def view(client, d: Dispute, user) -> dict:
    body = gql(client, DISPUTE, {"id": gid(d)}, user=user)
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def listed(body: dict) -> list[str]:
    assert "errors" not in body, body["errors"]
    return [e["node"]["id"] for e in body["data"]["disputes"]["edges"]]


# --- every move through GraphQL ---


@pytest.mark.parametrize(("case", "state"), FORBIDDEN, ids=ids(FORBIDDEN))
def test_a_forbidden_move_is_invalid_transition_and_changes_nothing(
    client, time_machine, case, state
):
    d = dispute_in(state)
    during(time_machine, d)
    before = snapshot(d)
    name, extra, _ = EDGES[case]

    payload = mutate(client, name, {"id": gid(d), **extra}, user=f.superuser())

    assert codes(payload) == [("invalid_transition", None)]
    assert snapshot(d) == before


@pytest.mark.parametrize(("case", "state"), ALLOWED, ids=ids(ALLOWED))
def test_an_allowed_move_changes_the_state_and_adds_a_timeline_row(
    client, time_machine, case, state
):
    admin = f.superuser()
    d = dispute_in(state)
    during(time_machine, d)
    rows = d.history.count()
    name, extra, targets = EDGES[case]

    payload = mutate(client, name, {"id": gid(d), **extra}, user=admin)

    target = targets[state]
    assert payload["__typename"] == "Dispute"
    assert payload["status"] == target.upper()
    last = payload["timeline"][-1]
    assert (last["from"], last["to"], last["by"]) == (state.upper(), target.upper(), admin.username)
    assert payload["history"][-1] == {
        k: last[k] for k in ("from", "to", "transition", "by", "note")
    }
    assert len(payload["timeline"]) == rows + 1
    d.refresh_from_db()
    assert (d.status, d.history.count()) == (target, rows + 1)
    assert payload["order"]["status"] == d.order.status.upper()  # as the mutation left it


def test_the_timeline_keeps_the_opening_message_and_amounts(client, time_machine):
    d = f.dispute(requested="40.00")
    during(time_machine, d)
    seller = f.seller(d.store)

    payload = mutate(
        client,
        "disputeRespond",
        {"id": gid(d), "action": "PROPOSE", "amount": "15", "note": "half, the box was fine"},
        user=seller,
    )

    assert payload["status"] == "RESPONDED"
    opening, response = payload["timeline"]
    assert opening == {
        "from": None,
        "to": "OPEN",
        "transition": "open",
        "by": None,
        "note": "",
        "amount": {"amount": "40.00", "currency": "USD"},
    }
    assert response == {
        "from": "OPEN",
        "to": "RESPONDED",
        "transition": "respond",
        "by": seller.username,
        "note": "half, the box was fine",
        "amount": {"amount": "15.00", "currency": "USD"},
    }
    assert payload["history"] == [
        {k: response[k] for k in ("from", "to", "transition", "by", "note")}
    ]


# --- the response deadline, to the second, on the clock the services read ---


@pytest.mark.parametrize(
    ("offset", "code"),
    [(-SECOND, None), (timedelta(0), "deadline_passed"), (SECOND, "deadline_passed")],
    ids=["one-second-before", "at", "one-second-after"],
)
def test_a_response_counts_only_before_respond_by(client, time_machine, offset, code):
    d = f.dispute()
    seller = f.seller(d.store)
    before = snapshot(d)
    time_machine.move_to(d.respond_by + offset, tick=False)

    payload = mutate(client, "disputeRespond", {"id": gid(d), "action": "REJECT"}, user=seller)

    if code is None:
        assert payload["status"] == "RESPONDED"
        assert Dispute.objects.get(pk=d.pk).responded_at == d.respond_by - SECOND
    else:
        assert codes(payload) == [(code, None)]
        assert snapshot(d) == before


def test_available_transitions_show_the_deadline(client, time_machine):
    d = f.dispute()
    seller = f.seller(d.store)

    time_machine.move_to(d.respond_by - SECOND, tick=False)
    early = {t["name"]: t for t in view(client, d, seller)["availableTransitions"]}
    time_machine.move_to(d.respond_by, tick=False)
    late = {t["name"]: t for t in view(client, d, seller)["availableTransitions"]}

    assert early["respond"] == {"name": "respond", "allowed": True, "reason": None, "code": None}
    assert early["withdraw"]["code"] == "permission_denied"
    assert late["respond"]["allowed"] is False
    assert late["respond"]["code"] == "deadline_passed"
    assert "deadline" in late["respond"]["reason"]


# --- scoping: a seller sees and acts on its own store's disputes only ---


@pytest.fixture
def two_stores():
    mine, theirs = f.store(name="Mine"), f.store(name="Theirs")
    return f.seller(mine), mine, theirs


def shipped_dispute(store, **kwargs) -> Dispute:
    return f.dispute(f.order(store, status="shipped"), **kwargs)


def test_a_seller_lists_only_its_own_disputes(client, two_stores):
    seller, mine, theirs = two_stores
    own = shipped_dispute(mine)
    other = shipped_dispute(theirs)

    as_seller = gql(client, DISPUTES, user=seller)
    as_admin = gql(client, DISPUTES, user=f.superuser())

    assert as_seller["data"]["disputes"]["totalCount"] == 1
    assert listed(as_seller) == [gid(own)]
    assert set(listed(as_admin)) == {gid(own), gid(other)}


def test_node_returns_null_for_another_stores_dispute(client, two_stores):
    seller, mine, theirs = two_stores
    query = "query($id: ID!) { node(id: $id) { id ... on Dispute { status } } }"

    other = gql(client, query, {"id": gid(shipped_dispute(theirs))}, user=seller)
    own = gql(client, query, {"id": gid(shipped_dispute(mine))}, user=seller)

    assert other == {"data": {"node": None}}
    assert own["data"]["node"]["status"] == "OPEN"


def test_an_orders_disputes_follow_the_same_rule(client, two_stores):
    seller, mine, _theirs = two_stores
    d = shipped_dispute(mine)
    query = """query($id: ID!) { node(id: $id) { ... on Order {
        disputes { totalCount edges { node { id status } } }
    } } }"""

    def seen(user) -> dict:
        body = gql(client, query, {"id": gid(d.order)}, user=user)
        assert "errors" not in body, body["errors"]
        return body["data"]["node"]["disputes"]

    own = seen(seller)
    finance = seen(f.staff("finance"))  # sees orders, not disputes

    assert own == {"totalCount": 1, "edges": [{"node": {"id": gid(d), "status": "OPEN"}}]}
    assert finance == {"totalCount": 0, "edges": []}


@pytest.mark.parametrize("case", list(EDGES))
def test_another_stores_dispute_is_not_found(client, time_machine, two_stores, case):
    seller, _mine, theirs = two_stores
    name, extra, sources = EDGES[case]
    d = dispute_in(next(iter(sources)), account=theirs)
    during(time_machine, d)
    before = snapshot(d)

    payload = mutate(client, name, {"id": gid(d), **extra}, user=seller)

    assert codes(payload) == [("not_found", "id")]
    assert snapshot(d) == before


def test_a_seller_cannot_open_a_dispute_on_another_stores_order(client, two_stores):
    seller, _mine, theirs = two_stores
    order = f.order(theirs, status="shipped")

    payload = mutate(
        client,
        "disputeOpen",
        {"id": gid(order), "reason": "DAMAGED", "requestedRefund": "10"},
        user=seller,
    )

    assert codes(payload) == [("not_found", "id")]
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("case", ["respond-accept", "respond-reject", "escalate", "confirm-return"])
def test_a_seller_responds_escalates_and_confirms_returns_on_its_own_disputes(
    client, time_machine, case
):
    name, extra, sources = EDGES[case]
    state, target = next(iter(sources.items()))
    d = dispute_in(state)
    seller = f.seller(d.store)
    during(time_machine, d)

    payload = mutate(client, name, {"id": gid(d), **extra}, user=seller)

    assert payload["status"] == target.upper()
    assert payload["timeline"][-1]["by"] == seller.username


@pytest.mark.parametrize("case", ["accept-proposal", "resolve", "withdraw"])
def test_a_seller_cannot_accept_proposals_resolve_or_withdraw(client, time_machine, case):
    name, extra, sources = EDGES[case]
    d = dispute_in(next(iter(sources)))
    during(time_machine, d)
    before = snapshot(d)

    payload = mutate(client, name, {"id": gid(d), **extra}, user=f.seller(d.store))

    assert codes(payload) == [("permission_denied", None)]
    assert snapshot(d) == before


def test_a_seller_cannot_open_a_dispute_on_its_own_order(client):
    order = f.order(status="shipped")

    payload = mutate(
        client,
        "disputeOpen",
        {"id": gid(order), "reason": "DAMAGED", "requestedRefund": "10"},
        user=f.seller(order.store),
    )

    assert codes(payload) == [("permission_denied", None)]
    assert not Dispute.objects.exists()
    assert Order.objects.get(pk=order.pk).status == "shipped"


@pytest.mark.parametrize(("role", "code"), [("support", "permission_denied"), ("risk", None)])
def test_only_risk_staff_arbitrate(client, time_machine, role, code):
    d = dispute_in("arbitration")
    during(time_machine, d)
    before = snapshot(d)

    payload = mutate(
        client,
        "disputeResolve",
        {"id": gid(d), "amount": "12.50", "fault": "CARRIER", "note": "lost in transit"},
        user=f.staff(role),
    )

    if code:
        assert codes(payload) == [(code, None)]
        assert snapshot(d) == before
    else:
        assert (payload["status"], payload["fault"]) == ("RESOLVED", "CARRIER")
        assert payload["finalRefund"] == {"amount": "12.50", "currency": "USD"}
        assert payload["timeline"][-1]["amount"]["amount"] == "12.50"


def test_staff_without_the_view_permission_see_and_touch_no_dispute(client, time_machine):
    d = dispute_in("open")
    during(time_machine, d)
    finance = f.staff("finance")
    before = snapshot(d)

    body = gql(client, DISPUTES, user=finance)
    payload = mutate(client, "disputeWithdraw", {"id": gid(d)}, user=finance)

    assert body["data"]["disputes"]["totalCount"] == 0
    assert codes(payload) == [("not_found", "id")]
    assert snapshot(d) == before


def test_signed_out_callers_see_nothing_and_change_nothing(client):
    d = dispute_in("open")
    before = snapshot(d)

    body = gql(client, DISPUTES)
    payload = mutate(client, "disputeWithdraw", {"id": gid(d)})

    assert body["data"]["disputes"]["totalCount"] == 0
    assert codes(payload) == [("permission_denied", None)]
    assert snapshot(d) == before


# --- opening ---


def open_input(order, **fields) -> dict:
    return {"id": gid(order), "reason": "NOT_AS_DESCRIBED", "requestedRefund": "30", **fields}


def test_support_opens_a_dispute_and_the_order_becomes_disputed(client):
    support = f.staff("support")
    order = f.order(status="shipped")

    payload = mutate(
        client,
        "disputeOpen",
        open_input(order, description="wrong colour", platformDisputeId="5000000001"),
        user=support,
    )

    assert payload["__typename"] == "Dispute"
    assert payload["status"] == "OPEN"
    assert payload["order"] == {"id": gid(order), "status": "DISPUTED"}
    assert payload["history"] == []  # the opening is no change between states
    assert payload["timeline"] == [
        {
            "from": None,
            "to": "OPEN",
            "transition": "open",
            "by": support.username,
            "note": "wrong colour",
            "amount": {"amount": "30.00", "currency": "USD"},
        }
    ]
    d = Dispute.objects.get()
    assert (d.platform_dispute_id, d.reason, d.requested_refund) == (
        "5000000001",
        "not_as_described",
        Decimal("30.00"),
    )


# Malformed numbers (1E+30, NaN, 1_000...) are refused by GraphQL itself: tests/test_strict_input.py
@pytest.mark.parametrize("amount", ["100.01", "0", "1.005", "-5", "100000000000000000000"])
def test_the_requested_refund_is_above_zero_and_at_most_the_order(client, amount):
    order = f.order(status="shipped", amount="100.00")

    payload = mutate(
        client, "disputeOpen", open_input(order, requestedRefund=amount), user=f.superuser()
    )

    assert codes(payload) == [("invalid", "requestedRefund")]
    assert not Dispute.objects.exists()
    assert Order.objects.get(pk=order.pk).status == "shipped"


def test_a_second_open_dispute_on_an_order_is_refused(client):
    d = dispute_in("responded")
    before = snapshot(d)

    payload = mutate(client, "disputeOpen", open_input(d.order), user=f.superuser())

    assert codes(payload) == [("invalid_transition", "id")]
    assert Dispute.objects.count() == 1
    assert snapshot(d) == before


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("unpaid", ("invalid_transition", None)),
        ("cancelled", ("invalid_transition", None)),
        ("refunded", ("invalid", "requestedRefund")),  # nothing is left to refund
    ],
)
def test_an_order_without_money_in_play_cannot_be_disputed(client, status, code):
    order = f.order(status=status)

    payload = mutate(client, "disputeOpen", open_input(order), user=f.superuser())

    assert codes(payload) == [code]
    assert not Dispute.objects.exists()
    assert Order.objects.get(pk=order.pk).status == status


@pytest.mark.parametrize(
    ("platform_id", "code"), [("taken", "already_exists"), ("x" * 33, "invalid")]
)
def test_the_platform_dispute_id_is_unique_and_short(client, platform_id, code):
    dispute_open(
        order_id=f.order(status="shipped").pk,
        actor=None,
        reason="other",
        requested_refund="1",
        platform_dispute_id="taken",
    )
    order = f.order(status="shipped")

    payload = mutate(
        client,
        "disputeOpen",
        open_input(order, platformDisputeId=platform_id),
        user=f.superuser(),
    )

    assert codes(payload) == [(code, "platformDisputeId")]
    assert Dispute.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == "shipped"


def test_an_unknown_reason_is_refused_by_graphql(client):
    order = f.order(status="shipped")
    query = "mutation($input: DisputeOpenInput!) { disputeOpen(input: $input) { __typename } }"
    literal = """mutation($id: ID!) { disputeOpen(
        input: {id: $id, reason: LOST, requestedRefund: "10"}) { __typename } }"""

    as_variable = gql(
        client, query, {"input": open_input(order, reason="LOST")}, user=f.superuser()
    )
    as_literal = gql(client, literal, {"id": gid(order)})

    assert error_codes(as_variable) == [("invalid", "reason")]
    assert error_codes(as_literal) == [("invalid", "reason")]
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("amount", ["abc", "1,5", ""])
def test_a_malformed_requested_refund_is_refused_by_graphql(client, amount):
    order = f.order(status="shipped")
    query = "mutation($input: DisputeOpenInput!) { disputeOpen(input: $input) { __typename } }"

    body = gql(
        client, query, {"input": open_input(order, requestedRefund=amount)}, user=f.superuser()
    )

    assert error_codes(body) == [("invalid", "requestedRefund")]
    assert not Dispute.objects.exists()


# --- the other inputs ---


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"action": "PROPOSE"}, "amount"),
        ({"action": "PROPOSE", "amount": "40.00"}, "amount"),  # not below what was asked
        ({"action": "PROPOSE", "amount": "1.001"}, "amount"),
        ({"action": "PROPOSE", "amount": "-1"}, "amount"),
        ({"action": "PROPOSE", "amount": "99999999999999"}, "amount"),
        ({"action": "ACCEPT", "amount": "10"}, "amount"),
        ({"action": "REJECT", "returnRequired": True}, "returnRequired"),
    ],
)
def test_a_response_with_inconsistent_input_is_invalid(client, time_machine, extra, field):
    d = dispute_in("open")
    during(time_machine, d)
    before = snapshot(d)

    payload = mutate(client, "disputeRespond", {"id": gid(d), **extra}, user=f.superuser())

    assert codes(payload) == [("invalid", field)]
    assert snapshot(d) == before


@pytest.mark.parametrize(
    ("amount", "fault", "field"),
    [
        ("40.01", "SELLER", "amount"),
        ("-1", "SELLER", "amount"),
        ("100000000000000000000", "NONE", "amount"),
    ],
)
def test_an_arbitration_amount_out_of_range_is_invalid(client, time_machine, amount, fault, field):
    d = dispute_in("arbitration")
    during(time_machine, d)
    before = snapshot(d)

    payload = mutate(
        client,
        "disputeResolve",
        {"id": gid(d), "amount": amount, "fault": fault},
        user=f.superuser(),
    )

    assert codes(payload) == [("invalid", field)]
    assert snapshot(d) == before


def test_an_unknown_fault_is_refused_by_graphql(client):
    d = dispute_in("arbitration")
    before = snapshot(d)
    query = (
        "mutation($input: DisputeResolveInput!) { disputeResolve(input: $input) { __typename } }"
    )

    body = gql(
        client,
        query,
        {"input": {"id": gid(d), "amount": "5", "fault": "NOBODY"}},
        user=f.superuser(),
    )

    assert error_codes(body) == [("invalid", "fault")]
    assert snapshot(d) == before


@pytest.mark.parametrize("bad_id", ["xx", "RGlzcHV0ZTphYmM=", "T3JkZXI6MQ==", "RGlzcHV0ZTo5OTk="])
def test_an_id_that_names_no_dispute_is_not_found(client, bad_id):
    f.order()  # Order:1 exists, but it is not a dispute

    payload = mutate(client, "disputeEscalate", {"id": bad_id}, user=f.superuser())

    assert codes(payload) == [("not_found", "id")]


# --- after-sales protection: who pays ---


def resolve_with_refund(client, d: Dispute, amount: str) -> dict:
    query = """mutation($input: DisputeResolveInput!) { disputeResolve(input: $input) {
        __typename
        ... on OperationInfo { messages { code field message } }
        ... on Dispute { status protected finalRefund { amount }
            refund { amount { amount } fromEscrow { amount } fromAvailable { amount }
                     fromProtectionFund { amount } toDebt { amount } } }
    } }"""
    variables = {"input": {"id": gid(d), "amount": amount, "fault": "SELLER"}}
    body = gql(client, query, variables, user=f.superuser())
    assert "errors" not in body, body["errors"]
    return body["data"]["disputeResolve"]


def to_arbitration(d: Dispute) -> None:
    at = d.opened_at + DAY
    dispute_respond(dispute_id=d.pk, actor=None, action="reject", at=at)
    dispute_escalate(dispute_id=d.pk, actor=None, at=at)


def test_a_protected_dispute_is_refunded_by_the_protection_fund(client, time_machine):
    order = f.order(status="shipped", protected=True)
    d = f.dispute(order, reason="not_received", requested="30.00")
    to_arbitration(d)
    during(time_machine, d)
    balances = store_balances(d.store_id)

    payload = resolve_with_refund(client, d, "30.00")

    assert (payload["status"], payload["protected"]) == ("RESOLVED", True)
    assert payload["refund"] == {
        "amount": {"amount": "30.00"},
        "fromEscrow": {"amount": "0.00"},
        "fromAvailable": {"amount": "0.00"},
        "fromProtectionFund": {"amount": "30.00"},
        "toDebt": {"amount": "0.00"},
    }
    assert store_balances(d.store_id) == balances  # the store keeps its money


def test_an_unprotected_refund_comes_from_the_orders_escrow(client, time_machine):
    d = f.dispute(reason="not_received", requested="30.00")
    to_arbitration(d)
    during(time_machine, d)
    escrow = store_balances(d.store_id)["escrow"]

    payload = resolve_with_refund(client, d, "30.00")

    assert payload["protected"] is False
    assert payload["refund"]["fromEscrow"] == {"amount": "30.00"}
    assert payload["refund"]["fromProtectionFund"] == {"amount": "0.00"}
    assert store_balances(d.store_id)["escrow"] == escrow - Decimal("30.00")


def test_the_refund_shows_to_those_who_may_see_refunds(client):
    d = dispute_in("resolved")

    as_seller = view(client, d, f.seller(d.store))["refund"]
    as_support = view(client, d, f.staff("support"))["refund"]
    as_risk = view(client, d, f.staff("risk"))["refund"]  # arbitrators see what they decided
    as_finance = view(client, d, f.staff("finance"))  # refunds, but not disputes

    assert as_seller == as_support == as_risk
    assert as_seller["fromEscrow"] == {"amount": "40.00"}
    assert as_finance is None


# --- what will happen automatically ---


def test_an_open_dispute_will_be_refunded_at_respond_by(client):
    d = f.dispute(requested="23.10")
    node = view(client, d, f.superuser())

    assert node["autoActionAt"] == node["respondBy"] == d.respond_by.isoformat()
    assert node["autoAction"] == "refund USD 23.10 to the buyer"


def test_a_protected_open_dispute_will_be_refunded_by_the_fund(client):
    d = f.dispute(f.order(status="shipped", protected=True), requested="30.00")
    node = view(client, d, f.superuser())

    assert node["autoAction"] == "refund USD 30.00 from the protection fund to the buyer"


def test_a_responded_dispute_will_escalate_at_escalate_at(client):
    d = dispute_in("responded")
    node = view(client, d, f.superuser())

    assert node["autoActionAt"] == node["escalateAt"] == d.escalate_at.isoformat()
    assert node["autoAction"] == "escalate to platform arbitration"


@pytest.mark.parametrize("state", ["resolved", "cancelled"])
def test_nothing_automatic_is_pending_once_it_ended(client, state):
    node = view(client, dispute_in(state), f.superuser())

    assert (node["autoActionAt"], node["autoAction"]) == (None, None)


def test_a_dispute_opened_through_graphql_says_what_will_happen(client):
    order = f.order(status="shipped")
    query = """mutation($input: DisputeOpenInput!) { disputeOpen(input: $input) {
        ... on Dispute { requestedRefund { amount } autoAction autoActionAt respondBy }
    } }"""

    body = gql(
        client, query, {"input": open_input(order, requestedRefund="23.1")}, user=f.superuser()
    )

    payload = body["data"]["disputeOpen"]
    assert payload["requestedRefund"] == {"amount": "23.10"}
    assert payload["autoAction"] == "refund USD 23.10 to the buyer"
    assert payload["autoActionAt"] == payload["respondBy"]


# --- reads: the whole dispute, filters, order, pages ---


def test_a_dispute_reads_with_money_and_its_moments(client, time_machine):
    d = dispute_in("responded")
    node = view(client, d, f.superuser())

    assert node["status"] == "RESPONDED"
    assert node["reason"] == "NOT_RECEIVED"
    assert node["requestedRefund"] == {"amount": "40.00", "currency": "USD"}
    assert node["proposedRefund"] == {"amount": "15.00"}
    assert node["finalRefund"] is None
    assert node["fault"] is None
    assert node["respondedAt"] == (d.opened_at + DAY).isoformat()
    assert (node["resolvedAt"], node["refund"]) == (None, None)
    assert node["order"]["status"] == "DISPUTED"
    allowed = {t["name"] for t in node["availableTransitions"] if t["allowed"]}
    assert allowed == {"accept_proposal", "escalate", "withdraw"}


def test_filters_by_status_store_order_protection_deadline_and_reason(client):
    admin = f.superuser()
    a, b = f.store(), f.store()
    open_a = shipped_dispute(a, reason="damaged", requested="10.00")
    protected_b = f.dispute(
        f.order(b, status="shipped", protected=True, at=f.T0 + 10 * DAY), reason="not_received"
    )
    responded = dispute_in("responded")

    def run(filters: dict) -> set[str]:
        body = gql(client, DISPUTES, {"filters": filters}, user=admin)
        assert body["data"]["disputes"]["totalCount"] == len(listed(body))
        return set(listed(body))

    assert run({"status": {"exact": "OPEN"}}) == {gid(open_a), gid(protected_b)}
    assert run({"status": {"inList": ["RESPONDED", "RESOLVED"]}}) == {gid(responded)}
    assert run({"store": gid(b)}) == {gid(protected_b)}
    assert run({"store": gid(open_a)}) == set()  # an ID of another type matches nothing
    assert run({"order": gid(open_a.order)}) == {gid(open_a)}
    assert run({"protected": True}) == {gid(protected_b)}
    assert run({"reason": {"exact": "DAMAGED"}}) == {gid(open_a)}
    assert run({"reason": {"inList": ["NOT_RECEIVED"]}}) == {gid(protected_b), gid(responded)}
    window = {"gte": (protected_b.respond_by - SECOND).isoformat()}
    assert run({"respondBy": window}) == {gid(protected_b)}
    naive = gql(client, DISPUTES, {"filters": {"respondBy": {"lte": "2026-03-01T00:00:00"}}})
    assert error_codes(naive) == [("invalid", "respondBy")]


def test_disputes_come_most_urgent_first_and_sort_by_either_moment(client):
    admin = f.superuser()
    late = f.dispute(f.order(status="shipped", at=f.T0 + 5 * DAY))
    early = f.dispute(f.order(status="shipped", at=f.T0))

    default = listed(gql(client, DISPUTES, user=admin))
    newest = listed(gql(client, DISPUTES, {"order": {"openedAt": "DESC"}}, user=admin))
    urgent = listed(gql(client, DISPUTES, {"order": {"respondBy": "ASC"}}, user=admin))

    assert default == urgent == [gid(early), gid(late)]
    assert newest == [gid(late), gid(early)]


@pytest.mark.parametrize(
    ("arguments", "field"), [("first: -1", "first"), ("first: 101", "first"), ("last: -2", "last")]
)
def test_bad_page_arguments_are_invalid_not_a_crash(client, arguments, field):
    d = f.dispute()
    top = gql(client, f"{{ disputes({arguments}) {{ totalCount }} }}", user=f.superuser())
    nested = gql(
        client,
        f'{{ node(id: "{gid(d.order)}") {{ ... on Order {{ disputes({arguments}) '
        "{ totalCount } } } }",
    )

    assert error_codes(top) == [("invalid", field)]
    assert error_codes(nested) == [("invalid", field)]


# --- the cost of a page does not grow with the page ---


def some_disputes(n: int, store=None) -> None:
    """Disputes in every state, built through the services, until there are ``n`` (in
    ``store`` when given)."""
    states = iter(STATES * n)
    while Dispute.objects.count() < n:
        dispute_in(next(states), **({"account": store} if store else {}))


@pytest.mark.parametrize("viewer", ["superuser", "support", "seller"])
def test_listing_disputes_costs_the_same_queries_for_5_and_20(client, viewer):
    def count(n: int, user) -> int:
        some_disputes(n, store=user.store)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, LISTING)
        assert "errors" not in body, body["errors"]
        assert len(body["data"]["disputes"]["edges"]) == n
        return len(queries)

    user = {
        "superuser": f.superuser,
        "support": lambda: f.staff("support"),
        "seller": lambda: f.seller(f.store()),
    }[viewer]()
    client.force_login(user)
    five, twenty = count(5, user), count(20, user)
    assert five == twenty
    # session + user, the permission cache (staff only: 2), the disputes with their refunds and
    # the total count, their orders, their stores, their timelines: 6 (8 for staff)
    assert twenty <= 8


def test_listing_orders_with_their_disputes_costs_the_same_for_5_and_20(client):
    query = """{ orders(first: 100) { edges { node {
        orderNumber disputes(first: 3) { totalCount edges { node { status autoAction } } }
    } } } }"""

    def count(n: int) -> int:
        some_disputes(n)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, query)
        assert "errors" not in body, body["errors"]
        edges = body["data"]["orders"]["edges"]
        assert sum(e["node"]["disputes"]["totalCount"] for e in edges) == n
        return len(queries)

    client.force_login(f.superuser())
    five, twenty = count(5), count(20)

    assert five == twenty
    # session + user, the orders, their disputes (with each order's count): 4
    assert twenty <= 4
