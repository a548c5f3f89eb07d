"""Debts are collectable (issue 13): a closed store's promotion arrears are set off against
its available balance, prepaid promotion money is returned to it, what is left is a receivable
for finance; payouts are held while a store owes or is frozen for a risk reason; a store
settled in CNY is paid in CNY. Conversions round half up on the cent (ties tested)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.services import seller_account_close
from backoffice import clock
from backoffice.deadlines import run_all
from payouts.ledger import balance
from payouts.models import Account, ArrearsEpisode, Payout, Posting, PromotionMovement
from payouts.promotion import promotion_charge, promotion_top_up
from payouts.services import exchange_rate_set, payout_request
from tests import factories as f
from tests.gql import codes, gid, gql, mutate
from tests.payouts.helpers import D, expect
from tests.payouts.test_admin import post, url

DAY = timedelta(days=1)


def rate_today(rate: str) -> None:
    exchange_rate_set(actor=None, day=clock.now().date(), rate=rate)


def store_with(available: str, *, wallet: str, currency: str = "USD"):
    """A store with ``available`` USD and a promotion wallet at ``wallet`` CNY."""
    store = f.store(settlement_currency=currency)
    if D(available):
        f.order(store, status="completed", amount=available)
    wallet_amount = D(wallet)
    if wallet_amount > 0:
        promotion_top_up(store_id=store.pk, actor=None, amount=wallet, method="alipay", at=f.T0)
    elif wallet_amount < 0:
        promotion_charge(store_id=store.pk, actor=None, amount=str(-wallet_amount), at=f.T0)
    return store


def close(client, store) -> dict:
    return mutate(
        client, "sellerAccountClose", {"id": gid(store), "reason": "RISK"}, user=f.superuser()
    )


def wallet(store):
    return balance(store_id=store.pk, account=Account.PROMOTION, currency="CNY")


def legs(kind: str) -> list[tuple[str, str, D]]:
    posting = Posting.objects.get(kind=kind)
    return sorted((e.account, e.currency, e.amount) for e in posting.entries.all())


RECEIVABLES = """{ receivables(first: 10) { totalCount edges { node {
  name closedAt promotionArrears { amount currency } debt { amount currency } } } } }"""


# --- set-off of a closed store's arrears ---


def test_closing_sets_the_arrears_off_against_available_at_the_days_rate_half_up(client):
    # CNY 100.04 at 8 CNY per USD is USD 12.505: half up, USD 12.51 (half to even: 12.50)
    store = store_with("50.00", wallet="-100.04")
    rate_today("8")

    assert close(client, store)["status"] == "CLOSED"

    expect(store, available="37.49")
    assert wallet(store) == D("0.00")
    assert legs("promotion_set_off") == [
        ("available", "USD", D("-12.51")),
        ("fx", "CNY", D("-100.04")),
        ("fx", "USD", D("12.51")),
        ("promotion", "CNY", D("100.04")),
    ]
    movement = PromotionMovement.objects.get(kind="set_off")
    assert movement.amount == D("100.04") and movement.postings.get().kind == "promotion_set_off"
    assert ArrearsEpisode.objects.get(store=store).cleared_at is not None
    assert gql(client, RECEIVABLES, user=f.staff("finance"))["data"]["receivables"] == {
        "totalCount": 0,
        "edges": [],
    }
    assert run_all(clock.now() + DAY)["payouts.closed_store_settlement"] == 0  # idempotent
    assert Posting.objects.filter(kind="promotion_set_off").count() == 1


def test_what_the_set_off_cannot_cover_is_a_receivable_until_money_comes_back(client):
    store = store_with("10.00", wallet="-100.00")
    payout = payout_request(store_id=store.pk, actor=None, amount="10.00")
    rate_today("7.125")
    close(client, store)
    finance = f.staff("finance")

    listed = gql(client, RECEIVABLES, user=finance)["data"]["receivables"]
    assert [e["node"]["promotionArrears"] for e in listed["edges"]] == [
        {"amount": "100.00", "currency": "CNY"}
    ]
    assert gql(client, RECEIVABLES, user=f.seller(store))["data"]["receivables"]["totalCount"] == 0
    assert (
        gql(client, RECEIVABLES, user=f.staff("support"))["data"]["receivables"]["totalCount"] == 0
    )
    client.force_login(finance)
    page = client.get("/admin/payouts/receivable/")
    assert page.status_code == 200 and "CNY 100.00" in page.text

    # the payout bounces: its USD 10.00 returns, the daily job sets it off (USD 10 = CNY 71.25)
    failed = mutate(
        client, "payoutMarkFailed", {"id": gid(payout), "reason": "closed account"}, user=finance
    )
    assert failed["status"] == "FAILED"
    assert run_all(clock.now() + timedelta(minutes=1))["payouts.closed_store_settlement"] == 1

    expect(store, available="0.00")
    assert wallet(store) == D("-28.75")
    node = gql(client, RECEIVABLES, user=finance)["data"]["receivables"]["edges"][0]["node"]
    assert node["promotionArrears"] == {"amount": "28.75", "currency": "CNY"}
    assert node["debt"] == {"amount": "0.00", "currency": "USD"}


def test_without_a_rate_for_the_day_nothing_is_converted_until_there_is_one(client):
    store = store_with("50.00", wallet="-71.25")

    close(client, store)
    expect(store, available="50.00")
    assert wallet(store) == D("-71.25")

    tomorrow = clock.now() + DAY
    exchange_rate_set(actor=None, day=tomorrow.date(), rate="7.125")
    assert run_all(tomorrow)["payouts.closed_store_settlement"] == 1
    expect(store, available="40.00")
    assert wallet(store) == D("0.00")


# --- prepaid promotion money of a closed store ---


def test_prepaid_promotion_money_returns_to_available_converted_half_up(client):
    # CNY 100.05 at 10 CNY per USD is USD 10.005: half up, USD 10.01
    store = store_with("0", wallet="100.05")
    rate_today("10")

    close(client, store)

    expect(store, available="10.01")
    assert wallet(store) == D("0.00")
    assert legs("promotion_return") == [
        ("available", "USD", D("10.01")),
        ("fx", "CNY", D("100.05")),
        ("fx", "USD", D("-10.01")),
        ("promotion", "CNY", D("-100.05")),
    ]
    assert PromotionMovement.objects.get(kind="closure_return").amount == D("-100.05")
    assert balance(currency="CNY") == 0 and balance(currency="USD") == 0


# --- payouts held while the store owes or is frozen for a risk reason ---

PAYOUT = """query($id: ID!) { node(id: $id) { ... on Payout {
  status heldReason availableTransitions { name allowed reason code } } } }"""


def payout_view(client, payout, user) -> dict:
    return gql(client, PAYOUT, {"id": gid(payout)}, user=user)["data"]["node"]


def test_a_payout_is_held_while_the_store_owes_arrears_and_payable_once_paid(client):
    store = store_with("100.00", wallet="0")
    payout = payout_request(store_id=store.pk, actor=None, amount="60.00")
    promotion_charge(store_id=store.pk, actor=None, amount="25.00")
    finance = f.staff("finance")

    refused = mutate(client, "payoutMarkPaid", {"id": gid(payout)}, user=finance)

    assert codes(refused) == [("invalid_transition", None)]
    message = refused["messages"][0]["message"]
    assert "the store owes CNY 25.00 of promotion arrears" in message
    view = payout_view(client, payout, finance)
    assert view["heldReason"] == message
    assert {t["name"]: t["allowed"] for t in view["availableTransitions"]}["mark_paid"] is False
    assert Payout.objects.get(pk=payout.pk).status == "requested"
    assert balance(account=Account.PAID_OUT) == 0

    promotion_top_up(store_id=store.pk, actor=None, amount="25.00", method="alipay")
    assert payout_view(client, payout, finance)["heldReason"] is None
    paid = mutate(client, "payoutMarkPaid", {"id": gid(payout)}, user=finance)
    assert paid["status"] == "PAID"
    assert balance(account=Account.PAID_OUT) == D("60.00")


def test_a_payout_is_held_while_the_store_is_frozen_for_risk_and_the_admin_says_why(client):
    store = store_with("100.00", wallet="0")
    payout = payout_request(store_id=store.pk, actor=None, amount="60.00")
    risk, finance = f.staff("risk"), f.staff("finance")
    mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "RISK"}, user=risk)
    client.force_login(finance)

    page = client.get(f"/admin/payouts/payout/{payout.pk}/change/")
    listing = client.get("/admin/payouts/payout/")
    refused = post(
        client,
        url(Payout, "transition", payout.pk, "mark_paid"),
        {"_apply": "1", "_confirm": "1"},
        follow=True,
    )

    reason = "The payout is held: the store is frozen (Risk review)."
    assert reason in page.text and reason in listing.text
    assert reason in refused.text
    assert Payout.objects.get(pk=payout.pk).status == "requested"

    mutate(client, "sellerAccountUnfreeze", {"id": gid(store)}, user=risk)
    assert mutate(client, "payoutMarkPaid", {"id": gid(payout)}, user=finance)["status"] == "PAID"


@override_settings(PAYOUT_HOLD_FREEZE_REASONS=("risk",))
def test_only_the_configured_freeze_reasons_hold_payouts(client):
    store = store_with("100.00", wallet="0")
    payout = payout_request(store_id=store.pk, actor=None, amount="60.00")
    risk = f.staff("risk")
    mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "COMPLIANCE"}, user=risk)

    assert payout_view(client, payout, f.staff("finance"))["heldReason"] is None


# --- settlement currency ---


def test_a_store_settled_in_cny_is_paid_in_cny_by_default_rounded_half_up(client):
    # USD 1.00 at 7.125 is CNY 7.125: half up, CNY 7.13
    store = store_with("100.00", wallet="0", currency="CNY")
    rate_today("7.125")
    seller = f.seller(store)

    payout = mutate(client, "payoutRequest", {"id": gid(store), "amount": "1.00"}, user=seller)
    in_usd = mutate(
        client,
        "payoutRequest",
        {"id": gid(store), "amount": "1.00", "currency": "USD"},
        user=seller,
    )

    assert (payout["currency"], payout["payoutAmount"]) == (
        "CNY",
        {"amount": "7.13", "currency": "CNY"},
    )
    assert codes(in_usd) == [("invalid", "currency")]
    assert "settled in CNY" in in_usd["messages"][0]["message"]
    expect(store, available="99.00")
    assert Payout.objects.count() == 1


@pytest.mark.parametrize(("allowed", "status"), [(True, "REQUESTED"), (False, None)])
def test_a_usd_payout_of_a_cny_store_only_where_the_platform_allows_it(client, allowed, status):
    store = store_with("100.00", wallet="0", currency="CNY")

    with override_settings(PAYOUT_ALLOW_USD_FOR_CNY_STORES=allowed):
        payload = mutate(
            client,
            "payoutRequest",
            {"id": gid(store), "amount": "10.00", "currency": "USD"},
            user=f.seller(store),
        )

    assert payload.get("status") == status
    if allowed:
        assert payload["payoutAmount"] == {"amount": "10.00", "currency": "USD"}


def test_a_usd_store_is_still_paid_in_usd_by_default(client):
    store = store_with("100.00", wallet="0")
    payout = mutate(
        client, "payoutRequest", {"id": gid(store), "amount": "10.00"}, user=f.seller(store)
    )
    assert (payout["currency"], payout["rate"]) == ("USD", None)


def test_the_receivables_page_costs_the_same_queries_for_one_store_or_many(client):
    """What each store owes is annotated on the page's one query (payouts.arrears.owed in
    SQL), not read per store."""
    finance = f.staff("finance")

    def listed() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            body = gql(client, RECEIVABLES, user=finance)
        return body["data"]["receivables"]["totalCount"], len(queries)

    def close_owing(n: int) -> None:
        for _ in range(n):
            store = store_with("0", wallet="-10.00")
            seller_account_close(account_id=store.pk, actor=None, reason="risk")

    listed()  # the first request also reads what is cached afterwards (permissions)
    close_owing(1)
    one, one_queries = listed()
    close_owing(4)
    many, many_queries = listed()

    assert (one, many) == (1, 5)
    assert one_queries == many_queries
