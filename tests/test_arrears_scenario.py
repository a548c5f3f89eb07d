"""The arrears policy from the outside: time moves only through ``run_deadlines --now`` (and the
clock the GraphQL calls run at); everything else is a GraphQL call by the person who would make
it: risk staff open the stores and unfreeze them, the sellers sell, ship, top up and withdraw,
support records payments and receipts, finance sets early payout and posts the ad system's
charges. Only the users are made directly (the API creates no users), and the GraphQL calls
run at a clock the test sets to the moment it passes to ``run_deadlines``.

Store A runs into arrears, is frozen after the grace period, cannot withdraw, cannot be
unfrozen until it pays, tops up, is unfrozen by risk staff and withdraws. Store B is paid early
(with a 10 % reserve) on two orders shipped on different days, then runs into arrears that it
never pays: it is frozen, then closed after ARREARS_CLOSE_DAYS, and the reserve of each order
is released 180 days after that order shipped.
"""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from strawberry import relay

from accounts.models import User
from accounts.notices import send_due_emails
from tests import factories as f
from tests.gql import codes, gql, mutate

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
D0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")

STORE = """
query($id: ID!) { node(id: $id) { ... on SellerAccount {
  status freezeReason frozenAt closedAt
  freezeInfo { reason reasonLabel since owed { amount currency } liftedBy }
  promotion { balance { amount currency } arrearsOwed { amount currency } inArrearsSince }
  balances { available { amount } reserve { amount } }
  arrearsHistory { edges { node { startedAt clearedAt peak { amount currency } } } }
  notices { edges { node { kind title body createdAt emailedTo } } }
  reserveSchedule { edges { node {
    order { orderNumber shippedAt } held { amount } releaseAt released
  } } }
} } }
"""


class Scenario:
    """The clock and the people of the scenario."""

    def __init__(self, client, time_machine, capture) -> None:
        self.client, self.time_machine, self.capture = client, time_machine, capture
        self.risk = f.staff("risk")
        self.support = f.staff("support")
        self.finance = f.staff("finance")

    def at(self, moment: datetime) -> None:
        """Move the clock (the GraphQL calls that follow happen at ``moment``)."""
        self.time_machine.move_to(moment, tick=False)

    def run_deadlines(self, moment: datetime) -> dict[str, int]:
        """``manage.py run_deadlines --now moment`` (its e-mails sent as on commit)."""
        self.at(moment)
        out = StringIO()
        with self.capture(execute=True):
            call_command("run_deadlines", "--now", moment.isoformat(), stdout=out)
        lines = out.getvalue().splitlines()[1:]
        return {name: int(count) for name, count in (line.split(": ") for line in lines)}

    def do(self, mutation: str, user, /, **input) -> dict:
        with self.capture(execute=True):
            return mutate(self.client, mutation, input, user=user)

    def ok(self, mutation: str, user, /, **input) -> dict:
        payload = self.do(mutation, user, **input)
        assert payload["__typename"] != "OperationInfo", payload
        return payload

    def view(self, store_id: str, user) -> dict:
        body = gql(self.client, STORE, {"id": store_id}, user=user)
        assert "errors" not in body, body["errors"]
        return body["data"]["node"]

    def open_store(self, name: str, email: str) -> tuple[str, User]:
        store = self.ok(
            "sellerAccountCreate",
            self.risk,
            storeId=name,
            name=name,
            openedAt=(D0 - 400 * DAY).isoformat(),
        )
        seller = User.objects.create_user(
            username=f"seller-{name}", password="pw", email=email, store_id=_pk(store["id"])
        )
        return store["id"], seller

    def sell(self, store_id: str, seller: User, number: str, amount: str) -> str:
        """An order placed and paid now; returns its global ID."""
        order = self.ok("orderCreate", seller, storeId=store_id, orderNumber=number, amount=amount)
        self.ok("orderMarkPaid", self.support, id=order["id"], paymentMethod="CREDIT_CARD")
        return order["id"]

    def ship(self, order_id: str, seller: User) -> None:
        self.ok("orderShip", seller, id=order_id, carrier="Cainiao", trackingNumber="LP1")


def _pk(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


def nodes(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def scenario(client, time_machine, django_capture_on_commit_callbacks) -> Scenario:
    time_machine.move_to(D0, tick=False)
    return Scenario(client, time_machine, django_capture_on_commit_callbacks)


def test_arrears_freeze_block_payouts_until_paid_and_close_a_store_that_never_pays(scenario):
    s = scenario
    grace, close_days = settings.ARREARS_GRACE_DAYS, settings.ARREARS_CLOSE_DAYS

    # --- two stores; B is made eligible for early payout by finance (10 % reserve) ---
    a, seller_a = s.open_store("7001", "a@shop.example")
    b, seller_b = s.open_store("7002", "b@shop.example")
    s.ok("earlyPayoutSet", s.finance, id=b, eligible=True, reserveRate="0.10", reason="vetted")

    # A sells one order that completes: its money is available.
    a1 = s.sell(a, seller_a, "8100000000000001", "100.00")
    s.ship(a1, seller_a)
    s.ok("orderConfirmReceipt", s.support, id=a1)
    assert s.view(a, seller_a)["balances"]["available"] == {"amount": "100.00"}

    # B sells two orders, shipped on different days, released early by run_deadlines.
    b1, b2 = (
        s.sell(b, seller_b, "8200000000000001", "100.00"),
        s.sell(b, seller_b, "8200000000000002", "50.00"),
    )
    s.at(D0 + DAY)
    s.ship(b1, seller_b)
    s.at(D0 + 2 * DAY)
    s.ship(b2, seller_b)
    assert s.run_deadlines(D0 + 4 * DAY)["payouts.early_release"] == 1
    assert s.run_deadlines(D0 + 5 * DAY)["payouts.early_release"] == 1
    view = s.view(b, seller_b)
    assert view["balances"] == {"available": {"amount": "135.00"}, "reserve": {"amount": "15.00"}}
    holds = {h["order"]["orderNumber"]: h for h in nodes(view["reserveSchedule"])}
    assert {n: (h["held"]["amount"], h["releaseAt"]) for n, h in holds.items()} == {
        "8200000000000001": ("10.00", None),
        "8200000000000002": ("5.00", None),
    }

    # --- the ad system's charges (posted by finance) take both wallets below zero ---
    s.at(D0 + 5 * DAY)
    s.ok("promotionTopUp", seller_a, id=a, amount="200.00", method="ALIPAY", reference="ALI-1")
    charged = D0 + 6 * DAY
    s.at(charged)
    charge_a = s.ok("promotionCharge", s.finance, id=a, amount="500.00", day="2026-03-07")
    assert charge_a["amount"] == {"amount": "-500.00", "currency": "CNY"}
    assert charge_a["store"]["promotion"]["arrearsOwed"] == {"amount": "300.00"}
    s.ok("promotionCharge", s.finance, id=b, amount="800.00", reference="ADS-B-0307")

    # --- grace period: nothing at its last second, both frozen one second later ---
    assert s.run_deadlines(charged + grace * DAY)["payouts.arrears_freeze"] == 0
    frozen_at = charged + grace * DAY + SECOND
    assert s.run_deadlines(frozen_at)["payouts.arrears_freeze"] == 2

    view = s.view(a, seller_a)
    assert (view["status"], view["freezeReason"], moment(view["frozenAt"])) == (
        "FROZEN",
        "ARREARS",
        frozen_at,
    )
    info = view["freezeInfo"]
    assert (info["reason"], info["reasonLabel"], moment(info["since"])) == (
        "ARREARS",
        "Unpaid promotion arrears",
        frozen_at,
    )
    assert info["owed"] == {"amount": "300.00", "currency": "CNY"}
    assert "CNY 300.00" in info["liftedBy"]
    assert view["promotion"]["arrearsOwed"] == {"amount": "300.00", "currency": "CNY"}
    assert moment(view["promotion"]["inArrearsSince"]) == charged

    # A frozen store cannot withdraw, takes no ad charges, and is not unfrozen while it owes.
    s.at(frozen_at + DAY)
    refused = s.do("payoutRequest", seller_a, id=a, amount="50.00")
    assert codes(refused) == [("invalid_transition", None)]
    refused = s.do("promotionCharge", s.finance, id=a, amount="1.00")
    assert codes(refused) == [("invalid_transition", None)]
    refused = s.do("sellerAccountUnfreeze", s.risk, id=a, note="seller asked")
    assert codes(refused) == [("invalid_transition", None)]
    assert "CNY 300.00" in refused["messages"][0]["message"]

    # The seller tops up what it owes: that lifts the arrears hold (the store's only one), so
    # the store is active again and the payout goes through.
    paid = s.ok("promotionTopUp", seller_a, id=a, amount="300.00", method="ALIPAY")
    assert paid["store"]["promotion"]["balance"] == {"amount": "0.00", "currency": "CNY"}
    assert paid["store"]["promotion"]["inArrearsSince"] is None
    assert s.view(a, seller_a)["freezeInfo"] is None
    assert s.view(a, seller_a)["status"] == "ACTIVE"
    payout = s.ok("payoutRequest", seller_a, id=a, amount="50.00")
    assert (payout["status"], payout["amount"]) == (
        "REQUESTED",
        {"amount": "50.00", "currency": "USD"},
    )

    view = s.view(a, s.risk)
    assert view["freezeInfo"] is None
    assert [(e["clearedAt"] is not None, e["peak"]) for e in nodes(view["arrearsHistory"])] == [
        (True, {"amount": "300.00", "currency": "CNY"})
    ]
    notices = nodes(view["notices"])
    assert [n["kind"] for n in notices] == ["UNFREEZE", "FREEZE"]  # newest first
    assert all(n["emailedTo"] == ["a@shop.example"] for n in notices)  # staff see the addresses
    assert "Unpaid promotion arrears" in notices[1]["body"]

    # --- B never pays: still frozen at the close limit, closed one second after it ---
    limit = charged + close_days * DAY
    assert s.run_deadlines(limit)["payouts.arrears_close"] == 0
    assert s.view(b, seller_b)["status"] == "FROZEN"
    assert s.run_deadlines(limit + SECOND)["payouts.arrears_close"] == 1

    view = s.view(b, seller_b)
    assert (view["status"], moment(view["closedAt"])) == ("CLOSED", limit + SECOND)
    assert view["freezeInfo"] is None  # closed, not frozen
    assert view["promotion"]["arrearsOwed"] == {"amount": "800.00", "currency": "CNY"}
    assert [e["clearedAt"] for e in nodes(view["arrearsHistory"])] == [None]
    holds = nodes(view["reserveSchedule"])
    assert len(holds) == 2
    for hold in holds:
        shipped = moment(hold["order"]["shippedAt"])
        assert moment(hold["releaseAt"]) == shipped + 180 * DAY
        assert hold["released"] is False
    assert {moment(h["order"]["shippedAt"]) for h in holds} == {D0 + DAY, D0 + 2 * DAY}

    kinds = [n["kind"] for n in nodes(view["notices"])]
    assert kinds[0] == "CLOSE" and "FREEZE" in kinds
    assert all(n["emailedTo"] is None for n in nodes(view["notices"]))  # not for sellers

    # Each store's users were e-mailed its freeze, and B its closure (by the e-mail job, which
    # sends what earlier jobs, of this run too, left pending).
    assert send_due_emails(limit + SECOND) >= 1
    sent = [(m.to, m.subject) for m in mail.outbox]
    assert (["a@shop.example"], "[7001] Your store is frozen") in sent
    assert (["a@shop.example"], "[7001] Your store is active again") in sent
    assert (["b@shop.example"], "[7002] Your store is frozen") in sent
    assert (["b@shop.example"], "[7002] Your store is closed") in sent

    # 180 days after each shipment the runner releases each order's reserve to the store.
    assert s.run_deadlines(D0 + DAY + 180 * DAY)["payouts.reserve_release"] == 1
    assert s.run_deadlines(D0 + 2 * DAY + 180 * DAY)["payouts.reserve_release"] == 1
    view = s.view(b, seller_b)
    assert view["balances"] == {"available": {"amount": "150.00"}, "reserve": {"amount": "0.00"}}
