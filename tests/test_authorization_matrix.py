"""Who may run what: every role against every query and mutation of the schema, on store A's
and store B's data.

The tables below are the README's "Roles" section written out. Every query and mutation of the
schema must have a row (a new one without a row fails ``test_every_operation_has_a_row``).
A mutation is "allowed" when it does what was asked; a refusal is ``permission_denied`` or
``not_found``, and a seller asking about another store's object always gets ``not_found`` (it
cannot tell it from one that does not exist). No response to a seller of store A ever holds a
global id, a name or an amount of store B.

The data (two stores, each with an order and a dispute in every state a mutation needs) is
built once for the module; each call runs in a savepoint that is rolled back, so every call sees
the same data.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import SellerAccount
from accounts.services import api_token_create
from backoffice.composition.schema import schema
from backoffice.composition.webhooks import endpoint_create
from disputes.services import dispute_accept_proposal, dispute_escalate, dispute_respond
from orders.services import order_record_rating
from payouts.promotion import promotion_top_up
from payouts.services import exchange_rate_set, payout_request
from tests import factories as f
from tests.gql import gid, gql

STAFF = ("support", "risk", "finance", "importer", "integration")
SELLERS = ("seller_a", "seller_a_token", "seller_b")
ROLES = ("anonymous", *SELLERS, *STAFF, "superuser")
SELLER_OWN = {"seller_a": "a", "seller_a_token": "a", "seller_b": "b"}

# --- who may run each mutation (besides superusers; a seller only on its own store) ---------

SELLER = "seller"  # the store's own seller users
MUTATIONS: dict[str, set[str]] = {
    "sellerAccountCreate": {"risk", "importer"},
    "sellerAccountFreeze": {"risk"},
    "sellerAccountUnfreeze": {"risk"},
    "sellerAccountClose": {"risk"},
    # the store's and the order's plain fields, as the admin's change pages (sellers never)
    "storeUpdate": {"risk"},
    "orderUpdate": set(),  # orders.change_order: no role holds it (superusers)
    "apiTokenCreate": {SELLER, *STAFF},  # every signed-in user, for itself
    "apiTokenRevoke": {SELLER},  # the token's own user (the seller's token here)
    "orderCreate": {SELLER, "importer"},
    "orderMarkPaid": {"support", "importer"},
    "orderShip": {SELLER, "support", "importer"},
    "orderConfirmReceipt": {"support", "importer"},
    "orderCancel": {SELLER, "support", "importer"},
    "orderSendPaymentReminder": {SELLER, "support"},
    "orderRecordRating": {"integration"},
    # the importer holds the dispute moves for imported rows, but without disputes.view_dispute
    # it finds no dispute through the API (not_found); it opens them on orders it can see
    "disputeOpen": {"support", "importer"},
    "disputeRespond": {SELLER, "support"},
    "disputeAcceptProposal": {"support"},
    "disputeEscalate": {SELLER, "support"},
    "disputeResolve": {"risk"},
    "disputeWithdraw": {"support"},
    "disputeConfirmReturn": {SELLER, "support"},
    "earlyPayoutSet": {"risk", "finance"},
    "payoutRequest": {SELLER, "finance"},
    "payoutMarkPaid": {"finance"},
    "payoutMarkFailed": {"finance"},
    "exchangeRateSet": {"finance", "importer"},
    "promotionTopUp": {SELLER, "finance", "importer"},
    "promotionCharge": {"finance", "importer"},
    "promotionAdjust": {"finance", "importer"},
    "promotionSetThreshold": {SELLER, "finance"},
    # webhooks: staff given backoffice.*_webhookendpoint (no role holds them) and superusers
    "webhookEndpointCreate": set(),
    "webhookEndpointUpdate": set(),
    "webhookEndpointDelete": set(),
    "webhookDeliveryRetry": set(),
}

# --- what each query shows: "all" (both stores), "own" (the seller's store), "none" --------

ALL, OWN, NONE = "all", "own", "none"
QUERY_SCOPE: dict[str, dict[str, str]] = {
    # sellers see their own store; every staff member sees every store and order
    "sellerAccounts": {"seller": OWN, "staff": ALL},
    "orders": {"seller": OWN, "staff": ALL},
    "node": {"seller": OWN, "staff": ALL},
    # disputes and money: staff need the matching view permission
    "disputes": {"seller": OWN, "support": ALL, "risk": ALL},
    "payouts": {"seller": OWN, "support": ALL, "finance": ALL},
    "ledgerEntries": {"seller": OWN, "risk": ALL, "finance": ALL},
    # your own tokens (superusers see every token) and yourself only; rates are platform data
    "apiTokens": {"seller": OWN, "staff": NONE, "superuser": ALL},
    "me": {"seller": OWN, "staff": NONE, "superuser": NONE},
    "exchangeRates": {"seller": NONE, "staff": NONE, "superuser": NONE},
    "webhookEndpoints": {"seller": NONE, "staff": NONE, "superuser": ALL},
    # closed stores' debts for finance: neither store here is closed, so nobody sees a store
    # (tests/payouts/test_debt_collection.py shows finance the list and others nothing)
    "receivables": {"seller": NONE, "staff": NONE, "superuser": NONE},
}

QUERIES: dict[str, str] = {
    "sellerAccounts": """{ sellerAccounts(first: 50) { edges { node { id name platformStoreId
        status history { by } balances { escrow { amount } available { amount } }
        promotion { balance { amount } lowBalanceThreshold { amount } }
        promotionMovements(first: 20) { edges { node { id amount { amount } recordedBy } } }
        notices(first: 20) { edges { node { id title body } } }
        earlyPayout { eligible reason decisions { reason decidedBy } } } } } }""",
    "orders": """{ orders(first: 50) { edges { node { id orderNumber buyerName
        amount { amount } store { id name } history { by note }
        paymentReminders(first: 5) { edges { node { id sentBy message } } } } } } }""",
    "disputes": """{ disputes(first: 50) { edges { node { id description
        requestedRefund { amount } order { id orderNumber } store { id name }
        timeline { by note amount { amount } } } } } }""",
    "payouts": """{ payouts(first: 50) { edges { node { id amount { amount }
        store { id name } requestedBy history { by } } } } }""",
    "ledgerEntries": """{ ledgerEntries(first: 100) { edges { node { id amount { amount }
        store { id name } order { id orderNumber } posting { reference memo } } } } }""",
    "apiTokens": "{ apiTokens(first: 50) { edges { node { id name prefix } } } }",
    "me": "{ me { username roles store { id name } } }",
    "exchangeRates": "{ exchangeRates(first: 50) { edges { node { id rateToCny setBy } } } }",
    "webhookEndpoints": """{ webhookEndpoints(first: 50) { edges { node { id url storeId
        deliveries(first: 5) { edges { node { id eventType } } } } } } }""",
    "receivables": "{ receivables(first: 50) { edges { node { id name debt { amount } } } } }",
    "node": "",  # asked per object below
}
NODE = """query($id: ID!) { node(id: $id) { id
  ... on Order { orderNumber buyerName amount { amount } store { name } }
  ... on Dispute { description }
  ... on SellerAccount { name platformStoreId }
  ... on Payout { amount { amount } } } }"""


def operations(kind: str) -> set[str]:
    graphql_type = getattr(schema._schema, f"{kind}_type")
    return set(graphql_type.fields)


# --- the session's own mutations: about the caller, never about a store -------------------
# What each role gets with a wrong password / old password, a made-up reset link: the session
# mutations refuse bearer-token requests (a token is not a session), and none of them reads or
# changes a store. tests/accounts/test_login.py and test_password.py hold their happy paths.
SESSION = ("anonymous", "seller_a", "seller_b", *STAFF, "superuser")
ACCOUNT_MUTATIONS: dict[str, tuple[str, dict[str, str]]] = {
    "login": (
        'login(input: {username: "mx-support", password: "wrong"})',
        {"seller_a_token": "denied", **dict.fromkeys(SESSION, "denied")},
    ),
    "logout": (
        "logout",
        {"seller_a_token": "denied", **dict.fromkeys(SESSION, "ok")},
    ),
    "passwordChange": (
        'passwordChange(input: {oldPassword: "wrong", newPassword: "Another-pass-9"})',
        {
            "anonymous": "denied",
            "seller_a_token": "denied",
            **dict.fromkeys(SESSION[1:], "invalid"),
        },
    ),
    "passwordResetRequest": (
        'passwordResetRequest(input: {email: "nobody@example.com"})',
        dict.fromkeys(ROLES, "ok"),
    ),
    "passwordResetConfirm": (
        'passwordResetConfirm(input: {uid: "MQ", token: "x-y", newPassword: "Another-pass-9"})',
        dict.fromkeys(ROLES, "invalid"),
    ),
}


def test_every_operation_has_a_row():
    assert operations("query") == set(QUERIES) == set(QUERY_SCOPE)
    assert operations("mutation") == set(MUTATIONS) | set(ACCOUNT_MUTATIONS)
    assert not set(MUTATIONS) & set(ACCOUNT_MUTATIONS)


@pytest.mark.parametrize("name", sorted(ACCOUNT_MUTATIONS))
def test_each_session_mutation_answers_each_role_as_the_table_says(world, name):
    call_text, want = ACCOUNT_MUTATIONS[name]
    query = (
        f"mutation {{ {call_text} {{ __typename ... on OperationInfo "
        "{ messages { code field message } } } }"
    )
    got = {}
    for role in ROLES:
        body = call(world, role, query)
        assert "errors" not in body, (role, body)
        payload = body["data"][name]
        codes = [m["code"] for m in payload.get("messages", [])]
        result = outcome(payload["__typename"], codes)
        got[role] = "invalid" if codes and set(codes) == {"invalid"} else result
        assert not _seen(world, json.dumps(body)), (role, body)
    assert got == want


# --- the data, once per module --------------------------------------------------------------


@dataclass
class Side:
    """One store and its objects, each in the state a mutation needs."""

    store: SellerAccount
    objects: dict[str, Any] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # what must never reach the other seller


@dataclass
class World:
    sides: dict[str, Side]
    users: dict[str, Any]
    tokens: dict[str, str]
    clients: dict[str, Client]


def _side(key: str, now: Any) -> Side:
    at = now - timedelta(days=6)
    # store B's strings and amounts are distinctive, so a leak is found by a plain search
    store = f.store(name=f"Store {key.upper()} Zephyr{key}", platform_store_id=f"77{ord(key)}901")
    amount = "100.00" if key == "a" else "4321.09"

    def order(status: str, **kwargs: Any) -> Any:
        buyer = f"Buyer Quillon{key}"
        return f.order(store, status=status, amount=amount, at=at, buyer_name=buyer, **kwargs)

    objects = {
        "unpaid": order("unpaid"),
        "paid": order("paid"),
        "shipped": order("shipped"),
        "completed": order("completed"),
        "open": f.dispute(order("shipped")),
        "proposed": f.dispute(order("shipped")),
        "arbitration": f.dispute(order("shipped")),
        "returning": f.dispute(order("shipped", protected=True), reason="damaged"),
        "frozen": f.store(status="frozen", name=f"Frozen {key} Zephyr{key}"),
    }
    for name in ("proposed", "arbitration", "returning"):
        dispute_respond(
            dispute_id=objects[name].pk, actor=None, action="propose", amount="1.00", at=now
        )
    dispute_escalate(dispute_id=objects["arbitration"].pk, actor=None, at=now)
    dispute_accept_proposal(
        dispute_id=objects["returning"].pk, actor=None, return_required=True, at=now
    )
    order_record_rating(order_id=objects["completed"].pk, actor=None, rating=5, at=now)
    promotion_top_up(store_id=store.pk, actor=None, amount="250.00", method="alipay")
    objects["webhook"] = endpoint_create(
        actor=None, url=f"http://127.0.0.1:9/{key}", store_id=store.pk
    )
    objects["payout"] = payout_request(store_id=store.pk, actor=None, amount="7.00")
    objects["delivery"] = objects["webhook"].deliveries.first()
    side = Side(store=store, objects=objects)
    return side


def _users(world_sides: dict[str, Side]) -> tuple[dict[str, Any], dict[str, str]]:
    users: dict[str, Any] = {role: f.staff(role, username=f"mx-{role}") for role in STAFF}
    users["superuser"] = f.superuser()
    users["seller_a"] = f.seller(world_sides["a"].store, username="mx-seller-a")
    users["seller_b"] = f.seller(world_sides["b"].store, username="mx-seller-b-Zephyrb")
    tokens = {}
    for key in ("a", "b"):
        token, plaintext = api_token_create(actor=users[f"seller_{key}"], name=f"tok {key}")
        world_sides[key].objects["token"] = token
        tokens[key] = plaintext
    users["seller_a_token"] = users["seller_a"]
    return users, tokens


def _secrets(side: Side) -> set[str]:
    """Every global id, name and amount of ``side`` that the other store's seller must not
    read."""
    found = {gid(side.store), side.store.name, side.store.platform_store_id}
    for obj in side.objects.values():
        found.add(gid(obj))
        for attr in ("order_number", "buyer_name", "name"):
            value = getattr(obj, attr, "")
            if value:
                found.add(str(value))
    if side.store.name.endswith("Zephyrb"):
        found.add("4321.09")  # store B's amounts are its own; store A's (100.00) are not
    return found


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    with django_db_blocker.unblock(), transaction.atomic():
        now = timezone.now()
        exchange_rate_set(actor=None, day=now.date(), rate="7.100000")
        sides = {key: _side(key, now) for key in ("a", "b")}
        users, tokens = _users(sides)
        for side in sides.values():
            side.secrets = _secrets(side)
        yield World(sides=sides, users=users, tokens=tokens, clients={})
        transaction.set_rollback(True)


def call(
    world: World, role: str, query: str, variables: dict | None = None, *, keep: bool = False
) -> dict:
    """``query`` as ``role``, rolled back afterwards (unless ``keep``)."""
    client = Client(enforce_csrf_checks=True)
    kwargs: dict[str, Any] = {}
    if role == "seller_a_token":
        kwargs["token"] = world.tokens["a"]
    elif role != "anonymous":
        kwargs["user"] = world.users[role]
    with transaction.atomic():
        body = gql(client, query, variables, **kwargs)
        transaction.set_rollback(not keep)
    return body


# --- mutations ------------------------------------------------------------------------------

Input = Callable[["Side"], dict[str, Any]]


def _with_id(key: str, **extra: Any) -> Input:
    return lambda side: {"id": gid(side.objects[key] if key != "store" else side.store), **extra}


INPUTS: dict[str, Input] = {
    "sellerAccountCreate": lambda side: {
        "storeId": "99" + side.store.platform_store_id,
        "name": "New",
        "settlementCurrency": "USD",
    },
    "sellerAccountFreeze": _with_id("store", reason="RISK", note="x"),
    "sellerAccountUnfreeze": _with_id("frozen", note="x"),
    "sellerAccountClose": _with_id("store", reason="RISK", note="x"),
    "storeUpdate": _with_id("store", name="Renamed", commissionRate="0.0600", note="x"),
    "orderUpdate": _with_id("unpaid", buyerName="Renamed", note="x"),
    "apiTokenCreate": lambda side: {"name": "matrix"},
    "apiTokenRevoke": _with_id("token"),
    "orderCreate": lambda side: {
        "storeId": gid(side.store),
        "orderNumber": "5" + side.store.platform_store_id,
        "amount": "12.00",
        "buyerName": "X",
        "buyerCountry": "BR",
        "protected": False,
        "productInfo": "",
    },
    "orderMarkPaid": _with_id("unpaid", note="", paymentMethod="CREDIT_CARD"),
    "orderShip": _with_id("paid", carrier="Cainiao", trackingNumber="LP9CN", note=""),
    "orderConfirmReceipt": _with_id("shipped", note=""),
    "orderCancel": _with_id("unpaid", reason="OUT_OF_STOCK", delistProduct=False, note=""),
    "orderSendPaymentReminder": _with_id("unpaid", message=""),
    "orderRecordRating": _with_id("completed", rating=4),
    "disputeOpen": _with_id(
        "shipped", reason="NOT_RECEIVED", requestedRefund="1.00", description=""
    ),
    "disputeRespond": _with_id("open", action="REJECT", note="", returnRequired=False),
    "disputeAcceptProposal": _with_id("proposed", note="", returnRequired=False),
    "disputeEscalate": _with_id("proposed", note=""),
    "disputeResolve": _with_id(
        "arbitration", amount="1.00", fault="SELLER", note="", returnRequired=False
    ),
    "disputeWithdraw": _with_id("open", note=""),
    "disputeConfirmReturn": _with_id("returning", note=""),
    "earlyPayoutSet": _with_id("store", eligible=True, reserveRate="0.10", reason=""),
    "payoutRequest": _with_id("store", amount="1.00", currency="USD"),
    "payoutMarkPaid": _with_id("payout", note=""),
    "payoutMarkFailed": _with_id("payout", reason="bounced"),
    "exchangeRateSet": lambda side: {"date": "2026-01-01", "rate": "7.000000", "currency": "USD"},
    "promotionTopUp": _with_id("store", amount="5.00", method="ALIPAY"),
    "promotionCharge": _with_id("store", amount="5.00"),
    "promotionAdjust": _with_id("store", amount="5.00", note="x"),
    "promotionSetThreshold": _with_id("store", threshold="5.00"),
    "webhookEndpointCreate": lambda side: {
        "url": "http://127.0.0.1:9/hook",
        "storeId": gid(side.store),
    },
    "webhookEndpointUpdate": _with_id("webhook", description="x"),
    "webhookEndpointDelete": _with_id("webhook"),
    "webhookDeliveryRetry": _with_id("delivery"),
}
STORELESS = {"sellerAccountCreate", "apiTokenCreate", "exchangeRateSet"}


def run_mutation(world: World, role: str, name: str, side_key: str) -> tuple[str, list[str]]:
    """``(typename, codes)``: what ``role`` got for ``name`` on store ``side_key``'s object."""
    type_name = name[0].upper() + name[1:] + "Input"
    query = (
        f"mutation($input: {type_name}!) {{ {name}(input: $input) {{ __typename "
        "... on OperationInfo { messages { code field message } } } }"
    )
    body = call(world, role, query, {"input": INPUTS[name](world.sides[side_key])})
    if body.get("errors"):
        return "error", [e.get("extensions", {}).get("code") for e in body["errors"]]
    payload = body["data"][name]
    codes = [m["code"] for m in payload.get("messages", [])]
    return payload["__typename"], codes


def expected_mutation(role: str, name: str, side_key: str) -> str:
    """``ok``, ``denied`` (permission_denied or not_found) or ``not_found``."""
    allowed = MUTATIONS[name]
    if role == "superuser":
        return "ok"
    if role in SELLER_OWN:
        if name in STORELESS:
            return "ok" if SELLER in allowed else "denied"
        if SELLER_OWN[role] != side_key:
            return "not_found"
        return "ok" if SELLER in allowed else "denied"
    return "ok" if role in allowed else "denied"


def outcome(typename: str, codes: list[str]) -> str:
    if typename not in {"OperationInfo", "error"}:
        return "ok"
    if codes and set(codes) <= {"not_found"}:
        return "not_found"
    if codes and set(codes) <= {"permission_denied", "not_found"}:
        return "denied"
    return f"other:{codes}"


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_is_allowed_exactly_where_the_role_table_says(world, name):
    wrong = []
    for role in ROLES:
        for side_key in ("a",) if name in STORELESS else ("a", "b"):
            want = expected_mutation(role, name, side_key)
            typename, codes = run_mutation(world, role, name, side_key)
            got = outcome(typename, codes)
            matches = got == want or (want == "denied" and got == "not_found")
            if not matches:
                wrong.append((role, side_key, want, got))
    assert wrong == [], wrong


# --- queries --------------------------------------------------------------------------------


def scope_of(role: str, name: str) -> str:
    table = QUERY_SCOPE[name]
    if role == "anonymous":
        return NONE
    if role in SELLER_OWN:
        return table.get("seller", NONE)
    if role == "superuser":
        return table.get("superuser", ALL)
    return table.get(role, table.get("staff", NONE))


def _seen(world: World, text: str) -> set[str]:
    """The stores whose secrets appear in ``text``."""
    return {key for key, side in world.sides.items() if any(s in text for s in side.secrets)}


def _query_text(world: World, role: str, name: str) -> str:
    if name != "node":
        body = call(world, role, QUERIES[name])
        assert "errors" not in body, body
        return json.dumps(body)
    texts = []
    for side in world.sides.values():
        for obj in (side.store, side.objects["unpaid"], side.objects["open"]):
            body = call(world, role, NODE, {"id": gid(obj)})
            assert "errors" not in body, body
            texts.append(json.dumps(body))
    return "".join(texts)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_shows_each_role_exactly_its_stores(world, name):
    wrong = []
    for role in ROLES:
        text = _query_text(world, role, name)
        seen = _seen(world, text)
        scope = scope_of(role, name)
        own = SELLER_OWN.get(role)
        if scope == ALL:
            want = {"a", "b"}
        elif scope == OWN and own:
            want = {own}
        else:
            want = set()
        if seen != want:
            wrong.append((role, sorted(want), sorted(seen)))
    assert wrong == [], wrong


def test_a_seller_never_reads_the_other_stores_data_anywhere(world):
    """Every query and every mutation, as seller A (session and token) and seller B."""
    for role in SELLERS:
        other = "b" if SELLER_OWN[role] == "a" else "a"
        secrets = world.sides[other].secrets
        texts = [_query_text(world, role, name) for name in QUERIES]
        for name in MUTATIONS:
            for side_key in ("a", "b"):
                type_name = name[0].upper() + name[1:] + "Input"
                query = (
                    f"mutation($input: {type_name}!) {{ {name}(input: $input) {{ __typename "
                    "... on OperationInfo { messages { code field message } } } }"
                )
                texts.append(
                    json.dumps(
                        call(world, role, query, {"input": INPUTS[name](world.sides[side_key])})
                    )
                )
        leaks = sorted({s for s in secrets for text in texts if s in text})
        assert leaks == [], (role, leaks)


def test_the_fixture_data_is_what_the_tables_assume(world):
    side = world.sides["a"]
    assert side.objects["payout"].status == "requested"
    assert Decimal(side.objects["payout"].amount) == Decimal("7.00")
