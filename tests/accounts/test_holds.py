"""A store frozen for several reasons at once: one hold per reason, lifting one leaves the
others, and "why frozen" lists each (issue 13)."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import AccountTransition, SellerAccount, StoreHold
from accounts.services import seller_account_close, seller_account_freeze
from backoffice.deadlines import run_all
from backoffice.unit_of_work import unit_of_work
from payouts.models import PromotionMovement
from payouts.promotion import promotion_charge, promotion_top_up
from tests import factories as f
from tests.gql import codes, gid, gql, mutate
from tests.payouts.helpers import D

DAY = timedelta(days=1)

WHY = """query($id: ID!) { node(id: $id) { ... on SellerAccount {
  status freezeReason
  freezeInfo { reason since holds { reason reasonLabel since by note owed { amount currency }
                                    liftedBy } }
} } }"""


def why(client, store, user) -> dict:
    body = gql(client, WHY, {"id": gid(store)}, user=user)
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]


def in_arrears_and_frozen(amount: str = "300.00") -> SellerAccount:
    """A store the arrears job froze (reason arrears) at T0 + 4 days."""
    store = f.store()
    promotion_charge(store_id=store.pk, actor=None, amount=amount, at=f.T0)
    run_all(f.T0 + 4 * DAY)
    store.refresh_from_db()
    assert store.status == "frozen"
    return store


def test_a_risk_review_on_a_store_frozen_for_arrears_adds_a_second_hold(client):
    store = in_arrears_and_frozen()
    risk, seller = f.staff("risk", username="rita"), f.seller(store)

    frozen = mutate(
        client,
        "sellerAccountFreeze",
        {"id": gid(store), "reason": "RISK", "note": "chargebacks"},
        user=risk,
    )

    assert frozen["status"] == "FROZEN"
    assert frozen["history"][-1]["from"] == frozen["history"][-1]["to"] == "FROZEN"
    staff_view = why(client, store, risk)
    assert staff_view["freezeReason"] == "ARREARS"  # the oldest hold
    holds = staff_view["freezeInfo"]["holds"]
    assert [(h["reason"], h["by"], h["note"]) for h in holds] == [
        ("ARREARS", None, "automatic: promotion arrears unpaid for more than 3 days"),
        ("RISK", "rita", "chargebacks"),
    ]
    assert holds[0]["owed"] == {"amount": "300.00", "currency": "CNY"}
    assert "CNY 300.00" in holds[0]["liftedBy"]
    assert holds[1]["owed"] is None and "risk team" in holds[1]["liftedBy"]
    # a seller reads the staff member as a role, never a username
    assert [h["by"] for h in why(client, store, seller)["freezeInfo"]["holds"]] == [None, "risk"]


def test_unfreezing_by_risk_lifts_the_risk_hold_only_and_the_top_up_the_arrears_hold(client):
    store = in_arrears_and_frozen()
    risk = f.staff("risk")
    mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "RISK"}, user=risk)

    lifted = mutate(
        client, "sellerAccountUnfreeze", {"id": gid(store), "note": "review done"}, user=risk
    )

    assert lifted["status"] == "FROZEN"  # still owes the arrears
    assert [h["reason"] for h in why(client, store, risk)["freezeInfo"]["holds"]] == ["ARREARS"]
    refused = mutate(client, "sellerAccountUnfreeze", {"id": gid(store)}, user=risk)
    assert codes(refused) == [("invalid_transition", None)]
    assert "CNY 300.00" in refused["messages"][0]["message"]

    paid = mutate(
        client,
        "promotionTopUp",
        {"id": gid(store), "amount": "300.00", "method": "ALIPAY"},
        user=f.seller(store),
    )

    assert paid["store"]["status"] == "ACTIVE"
    assert why(client, store, risk)["freezeInfo"] is None
    holds = StoreHold.objects.filter(store=store).order_by("placed_at", "id")
    assert [(h.reason, h.lifted_by, h.lift_note) for h in holds] == [
        ("arrears", None, "automatic: promotion arrears paid"),
        ("risk", risk, "review done"),
    ]
    assert list(
        AccountTransition.objects.filter(selleraccount=store).values_list("source", "target")
    ) == [
        ("active", "frozen"),
        ("frozen", "frozen"),
        ("frozen", "frozen"),
        ("frozen", "active"),
    ]


def test_paying_the_arrears_first_leaves_the_store_frozen_for_the_risk_review(client):
    store = in_arrears_and_frozen("50.00")
    risk = f.staff("risk")
    mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "RISK"}, user=risk)

    paid = mutate(
        client,
        "promotionTopUp",
        {"id": gid(store), "amount": "50.00", "method": "ALIPAY"},
        user=f.seller(store),
    )

    assert paid["store"]["status"] == "FROZEN"
    view = why(client, store, risk)
    assert (view["freezeReason"], [h["reason"] for h in view["freezeInfo"]["holds"]]) == (
        "RISK",
        ["RISK"],
    )
    assert mutate(client, "sellerAccountUnfreeze", {"id": gid(store)}, user=risk)["status"] == (
        "ACTIVE"
    )


def test_one_hold_per_reason_and_a_choice_when_several_can_be_lifted(client):
    store = f.store(status="frozen")  # a risk hold
    risk = f.staff("risk")

    again = mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "RISK"}, user=risk)
    mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "COMPLIANCE"}, user=risk)
    which = mutate(client, "sellerAccountUnfreeze", {"id": gid(store)}, user=risk)
    not_held = mutate(
        client, "sellerAccountUnfreeze", {"id": gid(store), "reason": "ARREARS"}, user=risk
    )
    compliance = mutate(
        client, "sellerAccountUnfreeze", {"id": gid(store), "reason": "COMPLIANCE"}, user=risk
    )

    assert codes(again) == [("invalid_transition", None)]
    assert "already frozen for this reason (Risk review)" in again["messages"][0]["message"]
    assert codes(which) == [("invalid", "reason")]
    assert codes(not_held) == [("invalid_transition", None)]
    assert compliance["status"] == "FROZEN"
    assert StoreHold.objects.filter(store=store, lifted_at__isnull=True).get().reason == "risk"


def test_the_arrears_job_adds_its_hold_to_a_store_already_frozen_for_risk():
    store = f.store()
    promotion_charge(store_id=store.pk, actor=None, amount="10.00", at=f.T0)
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk", at=f.T0 + DAY)

    assert run_all(f.T0 + 4 * DAY)["payouts.arrears_freeze"] == 1
    assert run_all(f.T0 + 5 * DAY)["payouts.arrears_freeze"] == 0  # held once

    active = StoreHold.objects.filter(store=store, lifted_at__isnull=True)
    assert sorted(active.values_list("reason", flat=True)) == ["arrears", "risk"]


def test_closing_a_frozen_store_ends_its_holds():
    store = in_arrears_and_frozen()

    seller_account_close(account_id=store.pk, actor=None, reason="risk")

    assert not StoreHold.objects.filter(store=store, lifted_at__isnull=True).exists()
    assert StoreHold.objects.get(store=store).lift_note == "store closed"


def test_the_store_page_lists_each_hold_with_who_and_what_lifts_it(client):
    store = in_arrears_and_frozen("12.50")
    risk = f.staff("risk", username="rita")
    mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "RISK"}, user=risk)
    client.force_login(risk)

    page = client.get(f"/admin/accounts/selleraccount/{store.pk}/change/")
    listing = client.get("/admin/accounts/selleraccount/")

    text = page.text
    assert text.count('class="store-hold"') == 2
    assert 'class="freeze-reason">Unpaid promotion arrears<' in text
    assert 'class="freeze-reason">Risk review<' in text
    assert 'class="freeze-by">system<' in text and 'class="freeze-by">rita<' in text
    assert 'class="freeze-owed">CNY 12.50<' in text
    assert "Unpaid promotion arrears, Risk review" in listing.text
    assert D("12.50") == store.arrears_owed


# --- the arrears hold waits for arrears (issue 14: a random run of the stateful ledger test) ---


def test_an_arrears_hold_on_a_store_that_owes_nothing_is_refused(client):
    """The sequence the random run found: a store held for a risk review, with money in its
    wallet, was given an arrears hold by hand; a top-up repeated at the same moment (the same
    reference: it moves nothing) then left an arrears hold on a store that owed nothing."""
    store = f.store()
    promotion_top_up(store_id=store.pk, actor=None, amount="5.00", method="alipay", at=f.T0)
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk", at=f.T0)
    risk = f.staff("risk")

    refused = mutate(
        client, "sellerAccountFreeze", {"id": gid(store), "reason": "ARREARS"}, user=risk
    )
    again = promotion_top_up(store_id=store.pk, actor=None, amount="5.00", method="alipay", at=f.T0)

    assert codes(refused) == [("nothing_owed", None)]
    assert "owes no promotion arrears" in refused["messages"][0]["message"]
    assert again.pk == PromotionMovement.objects.get(store=store).pk  # nothing moved twice
    active = StoreHold.objects.filter(store=store, lifted_at__isnull=True)
    assert list(active.values_list("reason", flat=True)) == ["risk"]
    assert AccountTransition.objects.filter(selleraccount=store).count() == 1


def test_staff_may_place_the_arrears_hold_before_the_grace_period_on_a_store_that_owes():
    store = f.store()
    promotion_charge(store_id=store.pk, actor=None, amount="10.00", at=f.T0)

    seller_account_freeze(account_id=store.pk, actor=None, reason="arrears", at=f.T0 + DAY)
    promotion_top_up(
        store_id=store.pk, actor=None, amount="10.00", method="alipay", at=f.T0 + 2 * DAY
    )

    store.refresh_from_db()
    assert store.status == "active"
    assert StoreHold.objects.get(store=store).lift_note == "automatic: promotion arrears paid"


def test_inside_a_unit_of_work_the_wallet_counts_postings_not_yet_written():
    """An import's or a deadline job's batch writes its postings at the end (a store's
    balances are read once, then kept in memory): the second top-up that pays the arrears
    lifts the arrears hold within the batch (its guard reads the wallet through the ledger,
    not the running totals that still lack it), and a second charge counts in what an arrears
    hold waits for."""
    paid = in_arrears_and_frozen("300.00")
    owing = f.store()
    at = f.T0 + 5 * DAY

    with unit_of_work():
        for amount in ("100.00", "200.00"):
            promotion_top_up(store_id=paid.pk, actor=None, amount=amount, method="alipay", at=at)
        for amount in ("20.00", "30.00"):
            promotion_charge(store_id=owing.pk, actor=None, amount=amount, at=at)
        assert SellerAccount.objects.get(pk=owing.pk).arrears_owed == Decimal("50.00")
        seller_account_freeze(account_id=owing.pk, actor=None, reason="arrears", at=at)

    paid.refresh_from_db()
    assert paid.status == "active"
    active = StoreHold.objects.filter(store=owing, lifted_at__isnull=True)
    assert list(active.values_list("reason", flat=True)) == ["arrears"]
