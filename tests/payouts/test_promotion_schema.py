"""GraphQL for the promotion wallet, arrears, store health, notices, the early-payout decisions
and ratings: the mutations (success, validation, permissions, idempotency), who sees what, and
query counts for a page of stores."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.utils.str_converters import to_camel_case

from accounts.models import SellerAccount
from accounts.services import seller_account_freeze
from backoffice.deadlines import run_all
from disputes.services import dispute_respond
from orders.services import order_record_rating
from payouts.health import store_health
from payouts.models import EarlyPayoutDecision, IdempotencyRecord, PromotionMovement
from payouts.promotion import (
    promotion_charge,
    promotion_set_threshold,
    promotion_top_up,
    wallet_balance,
)
from payouts.services import early_payout_set
from tests import factories as f
from tests.gql import codes, gid, gql, mutate

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
D = Decimal

STORE = """
query($id: ID!) { node(id: $id) { ... on SellerAccount {
  status
  promotion {
    balance { amount currency } arrearsOwed { amount currency } inArrearsSince
    lowBalanceThreshold { amount currency }
  }
  freezeInfo { reason reasonLabel since owed { amount currency } liftedBy }
  health {
    computedAt windowDays operatingDays orders disputes disputeRate refundedOrders refundRate
    ratedOrders positiveRate servicePoints arrearsEpisodes inArrears
  }
  arrearsHistory { totalCount edges { node { startedAt clearedAt peak { amount currency } } } }
  notices { totalCount edges { node { kind title body createdAt emailedTo } } }
  promotionMovements { totalCount edges { node {
    kind amount { amount currency } method reference note at recordedBy
  } } }
  earlyPayout {
    eligible reserveRate reason since source evaluatedAt
    decisions { eligible reserveRate reason source figures decidedAt decidedBy }
  }
} } }
"""

LISTING = """
{ sellerAccounts(first: 100) { edges { node {
  id status
  availableTransitions { name allowed reason code }
  promotion {
    balance { amount } arrearsOwed { amount } inArrearsSince lowBalanceThreshold { amount }
  }
  freezeInfo { reason since owed { amount } liftedBy }
  health { orders disputeRate refundRate positiveRate servicePoints arrearsEpisodes inArrears }
  arrearsHistory(first: 3) { totalCount edges { node { startedAt peak { amount } } } }
  notices(first: 3) { totalCount edges { node { kind title emailedTo } } }
  promotionMovements(first: 3) { totalCount edges { node { kind amount { amount } recordedBy } } }
  earlyPayout { eligible source evaluatedAt decisions(last: 2) { reason figures decidedBy } }
} } } }
"""


def view(client, store, user) -> dict:
    body = gql(client, STORE, {"id": gid(store)}, user=user)
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def nodes(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


def cny(amount: str) -> dict:
    return {"amount": amount, "currency": "CNY"}


def charge(store, amount, at=None, **kw):
    return promotion_charge(store_id=store.pk, actor=None, amount=amount, at=at, **kw)


def top_up(client, store, user, **input) -> dict:
    return mutate(client, "promotionTopUp", {"id": gid(store), **input}, user=user)


def staff_with(*perms: str):
    """A staff user holding exactly ``perms``."""
    user = f.staff()
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


# --- promotionTopUp ---


def test_a_seller_tops_up_its_wallet_by_alipay_and_the_top_up_pays_arrears_first(client):
    store = f.store()
    seller = f.seller(store)
    charge(store, "120.00")

    payload = top_up(client, store, seller, amount="150.5", method="ALIPAY", reference="ALI-77")

    assert payload["__typename"] == "PromotionMovement"
    assert (payload["kind"], payload["amount"], payload["method"], payload["reference"]) == (
        "TOP_UP",
        cny("150.50"),
        "ALIPAY",
        "ALI-77",
    )
    assert payload["recordedBy"] == seller.username
    assert payload["store"]["promotion"]["balance"] == cny("30.50")
    assert payload["store"]["promotion"]["arrearsOwed"] == {"amount": "0.00"}
    assert payload["store"]["promotion"]["inArrearsSince"] is None
    assert wallet_balance(store.pk) == D("30.50")


def test_offline_bank_transfers_are_recorded_by_finance_only(client):
    store = f.store()

    refused = top_up(client, store, f.seller(store), amount="10", method="BANK_TRANSFER")
    assert codes(refused) == [("permission_denied", None)]
    refused = top_up(client, store, f.staff("support"), amount="10", method="ALIPAY")
    assert codes(refused) == [("permission_denied", None)]

    done = top_up(client, store, f.staff("finance"), amount="10", method="BANK_TRANSFER")
    assert (done["method"], done["amount"]) == ("BANK_TRANSFER", cny("10.00"))
    assert PromotionMovement.objects.count() == 1


def test_a_seller_cannot_top_up_another_store(client):
    mine, theirs = f.store(), f.store()

    refused = top_up(client, theirs, f.seller(mine), amount="10", method="ALIPAY")

    assert codes(refused) == [("not_found", "id")]
    assert not PromotionMovement.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-5", "1.001"])
def test_a_bad_top_up_amount_is_invalid_amount(client, amount):
    store = f.store()

    refused = top_up(client, store, f.seller(store), amount=amount, method="ALIPAY")

    assert codes(refused) == [("invalid", "amount")]
    assert not PromotionMovement.objects.exists()


def test_a_closed_store_takes_no_top_up(client):
    store = f.store(status="closed")

    refused = top_up(client, store, f.staff("finance"), amount="10", method="ALIPAY")

    assert codes(refused) == [("invalid_transition", None)]


def test_top_up_references_and_idempotency_keys_never_move_money_twice(client):
    store = f.store()
    seller = f.seller(store)

    first = top_up(client, store, seller, amount="10", method="ALIPAY", reference="PAY-1")
    again = top_up(client, store, seller, amount="10", method="ALIPAY", reference="PAY-1")
    assert again["id"] == first["id"]
    conflict = top_up(client, store, seller, amount="11", method="ALIPAY", reference="PAY-1")
    assert codes(conflict) == [("idempotency_conflict", "reference")]

    keyed = top_up(client, store, seller, amount="5", method="CREDIT_CARD", idempotencyKey="k1")
    replay = top_up(client, store, seller, amount="5", method="CREDIT_CARD", idempotencyKey="k1")
    assert replay["id"] == keyed["id"]
    conflict = top_up(client, store, seller, amount="6", method="CREDIT_CARD", idempotencyKey="k1")
    assert codes(conflict) == [("idempotency_conflict", "idempotencyKey")]

    too_long = top_up(client, store, seller, amount="1", method="ALIPAY", reference="R" * 101)
    assert codes(too_long) == [("invalid", "reference")]

    assert PromotionMovement.objects.count() == 2
    assert IdempotencyRecord.objects.filter(operation="promotion_top_up").count() == 1
    assert wallet_balance(store.pk) == D("15.00")


# --- promotionCharge ---


def test_finance_posts_the_daily_ad_spend_and_it_may_open_arrears(client, time_machine):
    time_machine.move_to(f.T0, tick=False)
    store = f.store()
    finance = f.staff("finance")

    payload = mutate(client, "promotionCharge", {"id": gid(store), "amount": "80.00"}, user=finance)

    assert (payload["kind"], payload["amount"], payload["method"]) == (
        "CHARGE",
        cny("-80.00"),
        None,
    )
    wallet = payload["store"]["promotion"]
    assert (wallet["balance"], wallet["arrearsOwed"]) == (cny("-80.00"), {"amount": "80.00"})
    assert wallet["inArrearsSince"] == f.T0.isoformat()


def test_one_charge_per_store_and_day_when_the_day_is_given(client, time_machine):
    time_machine.move_to(f.T0, tick=False)
    store = f.store()
    finance = f.staff("finance")

    def post(amount: str, day: str) -> dict:
        input = {"id": gid(store), "amount": amount, "day": day}
        return mutate(client, "promotionCharge", input, user=finance)

    first = post("12.00", "2026-02-28")
    assert first["reference"] == f"ads:{store.pk}:2026-02-28"
    assert post("12.00", "2026-02-28")["id"] == first["id"]
    assert codes(post("13.00", "2026-02-28")) == [("idempotency_conflict", "reference")]
    assert post("13.00", "2026-03-01")["id"] != first["id"]
    assert codes(post("1.00", "2026-03-02")) == [("invalid", "day")]  # tomorrow
    assert wallet_balance(store.pk) == D("-25.00")


def test_charges_are_for_finance_and_refused_on_a_frozen_store(client):
    store = f.store()

    refused = mutate(
        client, "promotionCharge", {"id": gid(store), "amount": "1"}, user=f.seller(store)
    )
    assert codes(refused) == [("permission_denied", None)]
    refused = mutate(client, "promotionCharge", {"id": gid(store), "amount": "1"}, user=f.staff())
    assert codes(refused) == [("permission_denied", None)]
    refused = mutate(
        client, "promotionCharge", {"id": gid(store), "amount": "-1"}, user=f.staff("finance")
    )
    assert codes(refused) == [("invalid", "amount")]

    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    refused = mutate(
        client, "promotionCharge", {"id": gid(store), "amount": "1"}, user=f.staff("finance")
    )
    assert codes(refused) == [("invalid_transition", None)]
    assert "frozen" in refused["messages"][0]["message"]
    assert not PromotionMovement.objects.exists()


def test_charge_idempotency_keys(client):
    store = f.store()
    finance = f.staff("finance")
    input = {"id": gid(store), "amount": "3.00", "idempotencyKey": "spend-1"}

    first = mutate(client, "promotionCharge", input, user=finance)
    assert mutate(client, "promotionCharge", input, user=finance)["id"] == first["id"]
    conflict = mutate(client, "promotionCharge", {**input, "amount": "4.00"}, user=finance)
    assert codes(conflict) == [("idempotency_conflict", "idempotencyKey")]
    assert wallet_balance(store.pk) == D("-3.00")


# --- promotionAdjust ---


def test_finance_adjusts_a_wallet_with_a_reason(client):
    store = f.store()
    finance = f.staff("finance")
    input = {
        "id": gid(store),
        "amount": "-7.25",
        "note": "double-counted clicks",
        "reference": "ADJ-1",
    }

    payload = mutate(client, "promotionAdjust", input, user=finance)

    assert (payload["kind"], payload["amount"], payload["note"]) == (
        "ADJUSTMENT",
        cny("-7.25"),
        "double-counted clicks",
    )
    assert mutate(client, "promotionAdjust", input, user=finance)["id"] == payload["id"]
    keyed = {"id": gid(store), "amount": "2", "note": "goodwill", "idempotencyKey": "adj-2"}
    second = mutate(client, "promotionAdjust", keyed, user=finance)
    assert mutate(client, "promotionAdjust", keyed, user=finance)["id"] == second["id"]
    conflict = mutate(client, "promotionAdjust", {**keyed, "amount": "3"}, user=finance)
    assert codes(conflict) == [("idempotency_conflict", "idempotencyKey")]
    assert wallet_balance(store.pk) == D("-5.25")


def test_an_adjustment_needs_a_note_a_nonzero_amount_and_finance(client):
    store = f.store()
    finance = f.staff("finance")

    def adjust(user, **input) -> dict:
        return mutate(client, "promotionAdjust", {"id": gid(store), **input}, user=user)

    assert codes(adjust(finance, amount="5", note="  ")) == [("invalid", "note")]
    assert codes(adjust(finance, amount="0", note="x")) == [("invalid", "amount")]
    assert codes(adjust(f.seller(store), amount="5", note="x")) == [("permission_denied", None)]
    assert codes(adjust(f.staff("risk"), amount="5", note="x")) == [("permission_denied", None)]
    assert not PromotionMovement.objects.exists()


# --- promotionSetThreshold and the low-balance notice ---


def test_a_seller_sets_its_threshold_and_is_noticed_when_the_balance_falls_below(
    client, django_capture_on_commit_callbacks
):
    store = f.store()
    seller = f.seller(store)
    seller.email = "owner@shop.example"
    seller.save()

    payload = mutate(
        client, "promotionSetThreshold", {"id": gid(store), "threshold": "100"}, user=seller
    )
    assert payload["__typename"] == "SellerAccount"
    assert view(client, store, seller)["promotion"]["lowBalanceThreshold"] == cny("100.00")

    top_up(client, store, seller, amount="150", method="ALIPAY")
    with django_capture_on_commit_callbacks(execute=True):
        mutate(
            client, "promotionCharge", {"id": gid(store), "amount": "60"}, user=f.staff("finance")
        )

    notices = nodes(view(client, store, seller)["notices"])
    assert [(n["kind"], n["emailedTo"]) for n in notices] == [("LOW_BALANCE", None)]
    assert "CNY 90.00" in notices[0]["body"]
    as_finance = nodes(view(client, store, f.staff("finance"))["notices"])
    assert as_finance[0]["emailedTo"] == ["owner@shop.example"]


def test_threshold_validation_and_permissions(client):
    store = f.store()

    def set_threshold(user, value: str, target=store) -> dict:
        input = {"id": gid(target), "threshold": value}
        return mutate(client, "promotionSetThreshold", input, user=user)

    seller = f.seller(store)
    assert codes(set_threshold(seller, "-1")) == [("invalid", "threshold")]
    assert codes(set_threshold(seller, "0.001")) == [("invalid", "threshold")]
    assert codes(set_threshold(seller, "5", target=f.store())) == [("not_found", "id")]
    assert codes(set_threshold(f.staff("risk"), "5")) == [("permission_denied", None)]
    # the importer records movements but sets no thresholds
    assert codes(set_threshold(f.staff("importer"), "5")) == [("permission_denied", None)]
    assert set_threshold(f.staff("finance"), "0")["__typename"] == "SellerAccount"


# --- orderRecordRating ---


def test_the_integration_role_records_a_buyers_rating_of_a_completed_order(client):
    order = f.order(status="completed")
    integration = f.staff("integration")
    query = "id status rating ratedAt"

    def rate(user, rating: int, target=order) -> dict:
        body = gql(
            client,
            "mutation($input: OrderRecordRatingInput!) { orderRecordRating(input: $input) {"
            " __typename ... on OperationInfo { messages { kind message field code } }"
            f" ... on Order {{ {query} }} }} }}",
            {"input": {"id": gid(target), "rating": rating}},
            user=user,
        )
        assert "errors" not in body, body["errors"]
        return body["data"]["orderRecordRating"]

    done = rate(integration, 5)
    assert (done["rating"], done["status"]) == (5, "COMPLETED")
    assert done["ratedAt"] is not None
    assert codes(rate(integration, 6)) == [("invalid", "rating")]
    assert codes(rate(integration, 0)) == [("invalid", "rating")]
    assert codes(rate(f.seller(order.store), 1)) == [("permission_denied", None)]
    # ratings feed early-payout decisions: no person's role records them
    for role in ("support", "risk", "finance", "importer"):
        assert codes(rate(f.staff(role), 1)) == [("permission_denied", None)], role
    assert codes(rate(integration, 4, target=f.order(status="shipped"))) == [
        ("invalid_transition", None)
    ]
    order.refresh_from_db()
    assert order.rating == 5


# --- what a store's page shows, and to whom ---


def test_freeze_info_says_why_since_when_what_is_owed_and_what_lifts_it(client):
    store = f.store()
    charge(store, "1234.56", at=f.T0)
    run_all(f.T0 + 4 * DAY)
    seller = f.seller(store)

    info = view(client, store, seller)["freezeInfo"]

    assert info == {
        "reason": "ARREARS",
        "reasonLabel": "Unpaid promotion arrears",
        "since": (f.T0 + 4 * DAY).isoformat(),
        "owed": cny("1234.56"),
        "liftedBy": "A top-up of at least CNY 1,234.56 (it lifts this hold at once).",
    }
    query = """query($id: ID!) { node(id: $id) { ... on SellerAccount {
      availableTransitions { name allowed reason code } } } }"""
    body = gql(client, query, {"id": gid(store)}, user=f.staff("risk"))
    checks = {t["name"]: t for t in body["data"]["node"]["availableTransitions"]}
    assert (checks["unfreeze"]["allowed"], checks["unfreeze"]["code"]) == (
        False,
        "invalid_transition",
    )
    assert "CNY 1,234.56 is still owed" in checks["unfreeze"]["reason"]
    risky = f.store(status="frozen")
    info = view(client, risky, f.staff("risk"))["freezeInfo"]
    assert (info["reason"], info["owed"]) == ("RISK", None)
    assert "risk team" in info["liftedBy"]
    assert view(client, f.store(), f.superuser())["freezeInfo"] is None  # active: nothing


def test_a_seller_sees_its_own_store_only(client):
    mine, theirs = f.store(), f.store()
    charge(theirs, "5.00")
    seller = f.seller(mine)

    assert gql(client, STORE, {"id": gid(theirs)}, user=seller)["data"]["node"] is None
    own = view(client, mine, seller)
    assert own["promotion"]["balance"] == cny("0.00")
    assert own["health"]["servicePoints"] == 100
    assert own["arrearsHistory"]["totalCount"] == 0
    assert own["earlyPayout"]["decisions"] == []


@pytest.mark.parametrize(
    ("perms", "sees"),
    [
        (["payouts.view_promotionmovement"], {"promotion", "movements"}),
        (["payouts.view_arrearsepisode"], {"arrears"}),
        (["accounts.view_notice"], {"notices"}),
        (["accounts.view_selleraccount"], {"health"}),
        (["payouts.view_earlypayoutterms"], set()),  # the terms, not the decisions
        (["payouts.view_earlypayoutterms", "payouts.view_earlypayoutdecision"], {"decisions"}),
        ([], set()),
        (None, {"promotion", "movements", "arrears", "notices", "health", "decisions"}),
    ],
)
def test_staff_see_what_their_permissions_allow(client, perms, sees):
    store = f.store()
    charge(store, "5.00", at=f.T0)
    run_all(f.T0 + 4 * DAY)  # frozen (a notice), evaluated (a decision)
    user = f.superuser() if perms is None else staff_with(*perms)

    page = view(client, store, user)

    shown = {
        "promotion": page["promotion"] is not None,
        "movements": page["promotionMovements"]["totalCount"] > 0,
        "arrears": page["arrearsHistory"]["totalCount"] > 0,
        "notices": page["notices"]["totalCount"] > 0,
        "health": page["health"] is not None,
        "decisions": bool(page["earlyPayout"] and page["earlyPayout"]["decisions"]),
    }
    assert {name for name, visible in shown.items() if visible} == sees
    assert page["freezeInfo"]["owed"] == cny("5.00")  # whoever sees the store sees why


def test_movements_newest_first_with_filters(client, time_machine):
    store = f.store()
    seller = f.seller(store)
    promotion_top_up(
        store_id=store.pk, actor=None, amount="50", method="credit_card", at=f.T0, reference="T1"
    )
    charge(store, "20.00", at=f.T0 + DAY, reference="C1")
    charge(store, "40.00", at=f.T0 + 2 * DAY, reference="C2")

    movements = nodes(view(client, store, seller)["promotionMovements"])
    assert [(m["reference"], m["amount"]["amount"]) for m in movements] == [
        ("C2", "-40.00"),
        ("C1", "-20.00"),
        ("T1", "50.00"),
    ]
    query = """query($id: ID!, $filters: PromotionMovementFilter) { node(id: $id) {
      ... on SellerAccount {
        promotionMovements(filters: $filters) { edges { node { reference } } }
      }
    } }"""
    body = gql(client, query, {"id": gid(store), "filters": {"kind": "TOP_UP"}}, user=seller)
    assert nodes(body["data"]["node"]["promotionMovements"]) == [{"reference": "T1"}]
    window = {"at": {"gte": (f.T0 + DAY).isoformat(), "lte": (f.T0 + DAY).isoformat()}}
    body = gql(client, query, {"id": gid(store), "filters": window}, user=seller)
    assert nodes(body["data"]["node"]["promotionMovements"]) == [{"reference": "C1"}]

    history = view(client, store, seller)["arrearsHistory"]
    assert nodes(history) == [
        {"startedAt": (f.T0 + 2 * DAY).isoformat(), "clearedAt": None, "peak": cny("10.00")}
    ]


# --- health ---


def busy_store():
    """Within the window ending at T0 + 30 days: 4 paid orders (one refunded, one disputed
    and refunded by the protection fund, two rated 5 and 2 stars), one arrears episode."""
    store = f.store()
    completed = [f.order(store, status="completed", at=f.T0) for _ in range(2)]
    order_record_rating(order_id=completed[0].pk, actor=None, rating=5, at=f.T0 + 5 * DAY)
    order_record_rating(order_id=completed[1].pk, actor=None, rating=2, at=f.T0 + 5 * DAY)
    f.order(store, status="refunded", at=f.T0)
    protected = f.order(store, status="shipped", at=f.T0, protected=True)
    dispute = f.dispute(protected, at=f.T0 + 4 * DAY)
    dispute_respond(dispute_id=dispute.pk, actor=None, action="accept", at=f.T0 + 5 * DAY)
    charge(store, "10.00", at=f.T0 + 6 * DAY)
    promotion_top_up(store_id=store.pk, actor=None, amount="10", method="alipay", at=f.T0 + 7 * DAY)
    return store


def test_health_is_computed_at_the_clock_as_the_evaluation_computes_it(client, time_machine):
    store = busy_store()
    now = f.T0 + 30 * DAY
    time_machine.move_to(now, tick=False)

    health = view(client, store, f.seller(store))["health"]

    assert health == {
        "computedAt": now.isoformat(),
        "windowDays": 90,
        "operatingDays": 430,
        "orders": 4,
        "disputes": 1,
        "disputeRate": "0.2500",
        "refundedOrders": 2,
        "refundRate": "0.5000",
        "ratedOrders": 2,
        "positiveRate": "0.5000",
        "servicePoints": 98,
        "arrearsEpisodes": 1,
        "inArrears": False,
    }
    # the evaluation's own computation gives the same figures
    computed = store_health(store, now=now)
    assert {to_camel_case(k): v for k, v in computed.figures().items()} == {
        **health,
        "computedAt": str(now),
        "windowDays": 90,
    }


def test_health_of_a_new_store_has_no_rates(client, time_machine):
    time_machine.move_to(f.T0, tick=False)
    store = f.store(opened_at=f.T0 - DAY)

    health = view(client, store, f.superuser())["health"]

    assert (health["operatingDays"], health["orders"]) == (1, 0)
    assert (health["disputeRate"], health["refundRate"], health["positiveRate"]) == (None,) * 3
    assert (health["servicePoints"], health["inArrears"]) == (100, False)


# --- early payout: who decided, when it was last evaluated, the decisions and their figures ---


def test_early_payout_shows_its_source_and_the_decisions_with_their_figures(client):
    store = f.store()
    run_all(f.T0)  # the daily evaluation: not eligible (no orders)
    finance = f.staff("finance")
    mutate(
        client,
        "earlyPayoutSet",
        {"id": gid(store), "eligible": True, "reserveRate": "0.10", "reason": "vetted"},
        user=finance,
    )

    early = view(client, store, finance)["earlyPayout"]

    assert (early["eligible"], early["source"], early["reason"]) == (True, "OVERRIDE", "vetted")
    assert early["evaluatedAt"] == f.T0.isoformat()
    override, evaluation = early["decisions"]
    assert (override["source"], override["decidedBy"], override["figures"]) == (
        "OVERRIDE",
        finance.username,
        {},
    )
    assert (evaluation["source"], evaluation["decidedBy"], evaluation["eligible"]) == (
        "EVALUATION",
        None,
        False,
    )
    assert evaluation["reserveRate"] == "0.0000"
    assert evaluation["reason"].startswith("Not eligible:")
    assert evaluation["figures"]["orders"] == 0
    assert evaluation["figures"]["computed_at"] == str(f.T0)
    assert evaluation["figures"] == EarlyPayoutDecision.objects.get(source="evaluation").figures

    query = """query($id: ID!) { node(id: $id) { ... on SellerAccount {
      earlyPayout { decisions(last: 1) { source } } } } }"""
    body = gql(client, query, {"id": gid(store)}, user=f.seller(store))
    assert body["data"]["node"]["earlyPayout"]["decisions"] == [{"source": "OVERRIDE"}]
    query = query.replace("last: 1", "last: 101")
    body = gql(client, query, {"id": gid(store)}, user=finance)
    assert body["errors"][0]["extensions"] == {"code": "invalid", "field": "last"}


def test_the_terms_of_a_store_never_evaluated(client):
    store = f.store()

    early = view(client, store, f.superuser())["earlyPayout"]

    assert (early["source"], early["evaluatedAt"], early["decisions"]) == (None, None, [])


# --- query counts ---


def populate(n: int) -> None:
    """Stores in every state of the wallet, with movements, notices, episodes, decisions."""
    kinds = ["active", "low", "arrears", "frozen_risk", "evaluated"]
    while SellerAccount.objects.count() < n:
        kind = kinds[SellerAccount.objects.count() % len(kinds)]
        store = f.store()
        f.seller(store)
        if kind == "low":
            promotion_set_threshold(store_id=store.pk, actor=None, threshold="100")
            promotion_top_up(store_id=store.pk, actor=None, amount="50", method="alipay")
        elif kind == "arrears":
            charge(store, "30.00", at=f.T0 - 10 * DAY)
        elif kind == "frozen_risk":
            seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
        else:
            early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.1")
            f.order(store, status="completed")
    run_all(f.T0)  # freezes the stores in arrears, evaluates the others


@pytest.mark.parametrize("viewer", ["superuser", "finance", "risk"])
def test_a_page_of_stores_with_wallet_health_notices_and_decisions_costs_the_same_for_5_and_20(
    client, viewer
):
    client.force_login(f.superuser() if viewer == "superuser" else f.staff(viewer))

    def count(n: int) -> int:
        populate(n)
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, LISTING)
        assert "errors" not in body, body["errors"]
        page = [e["node"] for e in body["data"]["sellerAccounts"]["edges"]]
        assert len(page) == n
        frozen = [p for p in page if p["freezeInfo"] and p["freezeInfo"]["reason"] == "ARREARS"]
        assert frozen and all(p["freezeInfo"]["owed"] == {"amount": "30.00"} for p in frozen)
        assert any(p["notices"]["totalCount"] for p in page)
        return len(queries)

    five, twenty = count(5), count(20)

    assert five == twenty
    # session, user, (staff: two permission loads), the page with its wallet, freeze, health
    # and terms columns, then one query each for active holds, episodes, notices, movements
    # and decisions
    assert twenty == (8 if viewer == "superuser" else 10)


def test_a_seller_page_of_its_store_costs_a_fixed_number_of_queries(client):
    populate(5)
    store = SellerAccount.objects.filter(status="frozen", freeze_reason="arrears").first()
    client.force_login(store.users.first())

    with CaptureQueriesContext(connection) as queries:
        body = gql(client, LISTING)

    assert [e["node"]["id"] for e in body["data"]["sellerAccounts"]["edges"]] == [gid(store)]
    assert len(queries) == 8  # with the store's active holds


def test_decisions_cost_a_query_only_when_asked(client):
    populate(5)
    client.force_login(f.superuser())

    def count(query: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert "errors" not in gql(client, query)
        return len(queries)

    without = LISTING.replace("decisions(last: 2) { reason figures decidedBy }", "")
    assert count(LISTING) == count(without) + 1
    bare = "{ sellerAccounts { edges { node { id } } } }"
    assert count(bare) == count(bare.replace("id", "id health { orders inArrears }"))
