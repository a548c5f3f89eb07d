"""The orders GraphQL API: transitions, scoping, reads, filters and bad input."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, PaymentReminder
from orders.services import order_send_payment_reminder
from tests import factories as f
from tests.gql import codes, error_codes, gid, gql, mutate

STATES = ["unpaid", "paid", "shipped", "completed", "cancelled", "refunded", "disputed"]

# mutation -> (extra input, the states it may start from)
EDGES = {
    "orderMarkPaid": ({"paymentMethod": "CREDIT_CARD"}, {"unpaid"}),
    "orderShip": ({"carrier": "Cainiao", "trackingNumber": "LP002CN"}, {"paid"}),
    "orderConfirmReceipt": ({}, {"shipped"}),
    "orderCancel": ({"reason": "BUYER_CANCEL"}, {"unpaid", "paid"}),
}
TARGET = {
    ("orderMarkPaid", "unpaid"): "PAID",
    ("orderShip", "paid"): "SHIPPED",
    ("orderConfirmReceipt", "shipped"): "COMPLETED",
    ("orderCancel", "unpaid"): "CANCELLED",
    ("orderCancel", "paid"): "REFUNDED",
}
FORBIDDEN = [(m, s) for m, (_, sources) in EDGES.items() for s in STATES if s not in sources]

ORDERS = """
query($first: Int, $after: String, $filters: OrderFilter, $order: OrderSort) {
  orders(first: $first, after: $after, filters: $filters, order: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { orderNumber status amount { amount currency } } }
  }
}
"""

LISTING = """
{
  orders(first: 100) {
    totalCount
    edges { node {
      id orderNumber status placedAt paymentMethod nextReminderAt
      amount { amount currency } productTotal { amount }
      parcels { carrier trackingNumber } originalAmount { amount currency } conversionRate
      store { id name status history { from to by at } availableTransitions { name allowed } }
      history { from to transition by at note }
      availableTransitions { name allowed reason code }
      paymentReminders(first: 2) { totalCount edges { node { sentAt sentBy } } }
    } }
  }
}
"""


def snapshot(order: Order) -> tuple:
    """What a refused mutation must leave untouched."""
    order = Order.objects.get(pk=order.pk)
    return order.status, order.history.count(), order.updated_at


def numbers(body: dict) -> list[str]:
    return [e["node"]["orderNumber"] for e in body["data"]["orders"]["edges"]]


# --- transitions ---


@pytest.mark.parametrize(("mutation", "state"), FORBIDDEN)
def test_a_forbidden_edge_is_invalid_transition_and_changes_nothing(client, mutation, state):
    order = f.order(status=state)
    before = snapshot(order)

    payload = mutate(client, mutation, {"id": gid(order), **EDGES[mutation][0]}, user=f.superuser())

    assert codes(payload) == [("invalid_transition", None)]
    assert snapshot(order) == before


@pytest.mark.parametrize(("mutation", "state"), list(TARGET))
def test_an_allowed_edge_moves_the_state_and_records_the_actor(client, mutation, state):
    admin = f.superuser()
    order = f.order(status=state)
    rows = order.history.count()

    payload = mutate(client, mutation, {"id": gid(order), **EDGES[mutation][0]}, user=admin)

    assert payload["__typename"] == "Order"
    assert payload["status"] == TARGET[mutation, state]
    assert payload["history"][-1]["by"] == admin.username
    assert payload["history"][-1]["from"] == state.upper()
    assert order.history.count() == rows + 1
    assert Order.objects.get(pk=order.pk).status == TARGET[mutation, state].lower()


def test_order_create_makes_an_unpaid_order_in_the_store(client):
    store = f.store()
    payload = mutate(
        client,
        "orderCreate",
        {
            "storeId": gid(store),
            "orderNumber": "8100000000000001",
            "amount": "12.5",
            "buyerName": "Ana",
            "buyerCountry": "BR",
            "placedAt": "2026-03-01T10:00:00Z",
        },
        user=f.superuser(),
    )

    assert payload["__typename"] == "Order"
    assert payload["status"] == "UNPAID"
    order = Order.objects.get(order_number="8100000000000001")
    assert (order.store_id, str(order.amount)) == (store.pk, "12.50")


def test_payment_reminder_is_sent_once_per_interval(client):
    support = f.staff("support")
    order = f.order()

    first = mutate(client, "orderSendPaymentReminder", {"id": gid(order)}, user=support)
    again = mutate(client, "orderSendPaymentReminder", {"id": gid(order)}, user=support)

    assert first["__typename"] == "PaymentReminder"
    assert first["sentBy"] == support.username
    assert first["order"]["nextReminderAt"] is not None
    assert codes(again) == [("too_soon", None)]
    assert PaymentReminder.objects.filter(order=order).count() == 1


# --- scoping: a seller sees and changes its own store only ---


@pytest.fixture
def two_stores():
    mine, theirs = f.store(name="Mine"), f.store(name="Theirs")
    return f.seller(mine), mine, theirs


def test_a_seller_lists_only_its_own_orders(client, two_stores):
    seller, mine, theirs = two_stores
    own = f.order(mine)
    f.order(theirs)

    body = gql(client, ORDERS, user=seller)

    assert body["data"]["orders"]["totalCount"] == 1
    assert numbers(body) == [own.order_number]


def test_node_returns_null_for_another_stores_order(client, two_stores):
    seller, mine, theirs = two_stores
    query = "query($id: ID!) { node(id: $id) { id ... on Order { orderNumber } } }"

    other = gql(client, query, {"id": gid(f.order(theirs))}, user=seller)
    own = gql(client, query, {"id": gid(f.order(mine))}, user=seller)

    assert other == {"data": {"node": None}}
    assert own["data"]["node"]["orderNumber"]


@pytest.mark.parametrize(("mutation", "state"), [(m, sorted(s)[0]) for m, (_, s) in EDGES.items()])
def test_a_seller_cannot_change_another_stores_order(client, two_stores, mutation, state):
    seller, _mine, theirs = two_stores
    order = f.order(theirs, status=state)
    before = snapshot(order)

    payload = mutate(client, mutation, {"id": gid(order), **EDGES[mutation][0]}, user=seller)

    assert codes(payload) == [("not_found", "id")]
    assert snapshot(order) == before


def test_a_seller_cannot_remind_or_create_for_another_store(client, two_stores):
    seller, _mine, theirs = two_stores
    order = f.order(theirs)

    reminder = mutate(client, "orderSendPaymentReminder", {"id": gid(order)}, user=seller)
    created = mutate(
        client,
        "orderCreate",
        {"storeId": gid(theirs), "orderNumber": "8100000000000002", "amount": "10"},
        user=seller,
    )

    assert codes(reminder) == [("not_found", "id")]
    assert codes(created) == [("not_found", "storeId")]
    assert not PaymentReminder.objects.exists()
    assert not Order.objects.filter(order_number="8100000000000002").exists()


@pytest.mark.parametrize(("mutation", "state"), [("orderShip", "paid"), ("orderCancel", "unpaid")])
def test_a_seller_ships_and_cancels_its_own_orders(client, two_stores, mutation, state):
    seller, mine, _theirs = two_stores
    order = f.order(mine, status=state)

    payload = mutate(client, mutation, {"id": gid(order), **EDGES[mutation][0]}, user=seller)

    assert payload["status"] == TARGET[mutation, state]
    assert payload["history"][-1]["by"] == seller.username


@pytest.mark.parametrize(
    ("mutation", "state"), [("orderMarkPaid", "unpaid"), ("orderConfirmReceipt", "shipped")]
)
def test_a_seller_cannot_mark_paid_or_confirm_its_own_orders(client, two_stores, mutation, state):
    seller, mine, _theirs = two_stores
    order = f.order(mine, status=state)
    before = snapshot(order)

    payload = mutate(client, mutation, {"id": gid(order), **EDGES[mutation][0]}, user=seller)

    assert codes(payload) == [("permission_denied", None)]
    assert snapshot(order) == before


# --- reads ---


def test_available_transitions_explain_what_is_refused(client, two_stores):
    seller, mine, _theirs = two_stores
    order = f.order(mine)
    query = """query($id: ID!) { node(id: $id) { ... on Order {
        availableTransitions { name allowed reason code }
    } } }"""

    as_admin = gql(client, query, {"id": gid(order)}, user=f.superuser())
    as_seller = gql(client, query, {"id": gid(order)}, user=seller)

    admin = {t["name"]: t for t in as_admin["data"]["node"]["availableTransitions"]}
    sell = {t["name"]: t for t in as_seller["data"]["node"]["availableTransitions"]}
    assert admin["pay"] == {"name": "pay", "allowed": True, "reason": None, "code": None}
    assert admin["ship"]["allowed"] is False
    assert admin["ship"]["code"] == "invalid_transition"
    assert "unpaid" in admin["ship"]["reason"].lower()
    assert sell["pay"]["code"] == "permission_denied"
    assert sell["pay"]["reason"]
    assert sell["cancel"]["allowed"] is True


def test_money_is_rendered_with_two_decimals(client):
    f.order(amount="7", product_total=None)
    body = gql(
        client,
        "{ orders { edges { node { amount { amount currency } productTotal { amount } } } } }",
        user=f.superuser(),
    )

    node = body["data"]["orders"]["edges"][0]["node"]
    assert node == {"amount": {"amount": "7.00", "currency": "USD"}, "productTotal": None}


def test_filters_by_status_store_time_and_number(client):
    admin = f.superuser()
    a, b = f.store(), f.store()
    unpaid = f.order(a, at=f.T0)
    paid = f.order(a, status="paid", at=f.T0 + timedelta(days=10))
    shipped = f.order(b, status="shipped", at=f.T0 + timedelta(days=20))

    def run(filters: dict) -> set[str]:
        body = gql(client, ORDERS, {"filters": filters}, user=admin)
        assert body["data"]["orders"]["totalCount"] == len(numbers(body))
        return set(numbers(body))

    assert run({"status": {"exact": "PAID"}}) == {paid.order_number}
    assert run({"status": {"inList": ["UNPAID", "SHIPPED"]}}) == {
        unpaid.order_number,
        shipped.order_number,
    }
    assert run({"store": gid(b)}) == {shipped.order_number}
    assert run({"store": gid(unpaid)}) == set()  # an ID of another type matches nothing
    window = {
        "gte": (f.T0 + timedelta(days=5)).isoformat(),
        "lte": (f.T0 + timedelta(days=15)).isoformat(),
    }
    assert run({"placedAt": window}) == {paid.order_number}
    assert run({"orderNumber": {"exact": paid.order_number}}) == {paid.order_number}
    assert run({"orderNumber": {"startsWith": "8"}}) == {
        unpaid.order_number,
        paid.order_number,
        shipped.order_number,
    }
    naive = gql(client, ORDERS, {"filters": {"placedAt": {"gte": "2026-03-01T00:00:00"}}})
    assert error_codes(naive) == [("invalid", "placedAt")]


def test_order_and_pages_are_stable(client):
    admin = f.superuser()
    orders = [f.order(amount=a) for a in ("30.00", "10.00", "20.00", "10.00")]

    by_amount = gql(client, ORDERS, {"order": {"amount": "ASC"}}, user=admin)
    first = gql(client, ORDERS, {"order": {"amount": "DESC"}, "first": 2}, user=admin)
    cursor = first["data"]["orders"]["pageInfo"]["endCursor"]
    rest = gql(
        client, ORDERS, {"order": {"amount": "DESC"}, "first": 2, "after": cursor}, user=admin
    )

    amounts = [e["node"]["amount"]["amount"] for e in by_amount["data"]["orders"]["edges"]]
    assert amounts == ["10.00", "10.00", "20.00", "30.00"]
    assert first["data"]["orders"]["totalCount"] == 4
    assert set(numbers(first)) | set(numbers(rest)) == {o.order_number for o in orders}
    assert rest["data"]["orders"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("viewer", ["superuser", "support", "seller"])
def test_listing_orders_costs_the_same_queries_for_10_and_100(client, viewer):
    store = f.store()
    user = {"superuser": f.superuser, "support": lambda: f.staff("support")}.get(
        viewer, lambda: f.seller(store)
    )()

    def count(n: int) -> int:
        states = iter(STATES * 20)
        while Order.objects.count() < n:
            order = f.order(store, status=next(states))
            if order.status == "unpaid":
                order_send_payment_reminder(order_id=order.pk, actor=None)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, LISTING)
        assert len(body["data"]["orders"]["edges"]) == n
        return len(queries)

    client.force_login(user)
    ten, hundred = count(10), count(100)

    assert ten == hundred
    # session + user, the permission cache (staff only), orders, their history, the stores,
    # the stores' history and active holds (their transitions' guards), the reminders
    assert hundred <= 10


# --- bad input: a clean error with a code and the field, never a 500 ---


def create_input(store, **fields) -> dict:
    return {"storeId": gid(store), "orderNumber": "8100000000000009", "amount": "10", **fields}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-5"),
        ("amount", "1.005"),
        ("amount", "0"),
        ("shippingCost", "0.001"),
        ("placedAt", "2026-03-01T10:00:00"),
        ("orderNumber", "ABC"),
    ],
)
def test_order_create_refuses_bad_values_with_the_field(client, field, value):
    payload = mutate(
        client, "orderCreate", create_input(f.store(), **{field: value}), user=f.superuser()
    )

    assert codes(payload) == [("invalid", field)]
    assert not Order.objects.exists()


@pytest.mark.parametrize("value", ["abc", "1,5", ""])
def test_a_malformed_amount_is_invalid_amount(client, value):
    query = "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { __typename } }"
    body = gql(client, query, {"input": create_input(f.store(), amount=value)}, user=f.superuser())

    assert error_codes(body) == [("invalid", "amount")]
    assert body["data"] is None
    assert not Order.objects.exists()


def test_an_unknown_cancel_reason_is_invalid_reason(client):
    order = f.order()
    before = snapshot(order)
    query = "mutation($input: OrderCancelInput!) { orderCancel(input: $input) { __typename } }"
    literal = "mutation($id: ID!) { orderCancel(input: {id: $id, reason: LOST}) { __typename } }"

    as_variable = gql(
        client, query, {"input": {"id": gid(order), "reason": "lost"}}, user=f.superuser()
    )
    as_literal = gql(client, literal, {"id": gid(order)})

    assert error_codes(as_variable) == [("invalid", "reason")]
    assert error_codes(as_literal) == [("invalid", "reason")]
    assert snapshot(order) == before


@pytest.mark.parametrize("bad_id", ["xx", "T3JkZXI6YWJj", "U2VsbGVyQWNjb3VudDox", "T3JkZXI6OTk5"])
def test_an_id_that_names_no_order_is_not_found(client, bad_id):
    f.store()  # SellerAccount:1 exists, but it is not an order
    payload = mutate(client, "orderConfirmReceipt", {"id": bad_id}, user=f.superuser())

    assert codes(payload) == [("not_found", "id")]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ("first: -1", "first"),
        ("last: -3", "last"),
        ("first: 101", "first"),
        ('after: "YXJyYXljb25uZWN0aW9uOi01"', "after"),
        ('before: "nonsense"', "before"),
    ],
)
def test_bad_page_arguments_are_invalid_not_a_crash(client, arguments, field):
    f.order()
    top = gql(client, f"{{ orders({arguments}) {{ totalCount }} }}", user=f.superuser())
    nested = gql(
        client,
        f"{{ orders {{ edges {{ node {{ paymentReminders({arguments}) {{ totalCount }} }} }} }} }}",
    )

    assert error_codes(top) == [("invalid", field)]
    assert error_codes(nested) == [("invalid", field)]


# --- parcels and orders priced in CNY ---

PRICING = """
query($id: ID!) { node(id: $id) { ... on Order {
  carrier trackingNumber parcels { carrier trackingNumber }
  amount { amount currency } originalAmount { amount currency } conversionRate
} } }
"""


def test_an_order_shows_every_parcel_and_its_cny_price(client):
    # given a shipped order as the platform's CNY export leaves it: two parcels, CN¥ 1,234.56
    # held as USD 171.94 at 7.18
    order = f.order(status="shipped", amount="171.94")
    Order.objects.filter(pk=order.pk).update(
        parcels=[
            {"carrier": "Cainiao", "tracking_number": "LP001CN"},
            {"carrier": "YunExpress", "tracking_number": "YT2600000002"},
        ],
        original_amount=Decimal("1234.56"),
        original_currency="CNY",
        conversion_rate=Decimal("7.18"),
    )

    body = gql(client, PRICING, {"id": gid(order)}, user=f.seller(order.store))

    assert body["data"]["node"] == {
        "carrier": "Cainiao",
        "trackingNumber": "LP001CN",
        "parcels": [
            {"carrier": "Cainiao", "trackingNumber": "LP001CN"},
            {"carrier": "YunExpress", "trackingNumber": "YT2600000002"},
        ],
        "amount": {"amount": "171.94", "currency": "USD"},
        "originalAmount": {"amount": "1234.56", "currency": "CNY"},
        "conversionRate": "7.180000",
    }


def test_a_usd_order_has_no_original_price_and_no_parcels_before_shipping(client):
    order = f.order(status="paid", amount="23.10")

    body = gql(client, PRICING, {"id": gid(order)}, user=f.superuser())

    assert body["data"]["node"] == {
        "carrier": "",
        "trackingNumber": "",
        "parcels": [],
        "amount": {"amount": "23.10", "currency": "USD"},
        "originalAmount": None,
        "conversionRate": None,
    }
