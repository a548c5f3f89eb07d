"""The money admin: the ledger is read-only, payouts, rates and early-payout terms move only
through the services, and the money pages keep their query counts bounded."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import SellerAccount
from accounts.services import seller_account_freeze
from backoffice import clock
from backoffice.deadlines import run_all
from orders.models import Order
from payouts.ledger import balance, store_balances
from payouts.models import (
    Account,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    LedgerEntry,
    Payout,
    Posting,
    ReserveHold,
)
from payouts.services import early_payout_set, exchange_rate_set, payout_request, refund
from tests import factories as f
from tests.payouts.helpers import D

DAY = timedelta(days=1)


def post(client: Client, url: str, data: dict | None = None, **kwargs) -> HttpResponse:
    """POST with the CSRF token, as the browser does (the test client enforces CSRF)."""
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, **kwargs)


def texts(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(model: type, view: str, *args) -> str:
    return reverse(f"admin:payouts_{model._meta.model_name}_{view}", args=args)


def buttons(response: HttpResponse) -> dict[str, bool]:
    return {b.name: b.allowed for b in response.context["object_buttons"]}


def funded_store(amount: str = "100.00") -> SellerAccount:
    """A store with ``amount`` available (one completed order)."""
    return f.order(status="completed", amount=amount).store


def ledger_size() -> tuple[int, int]:
    return Posting.objects.count(), LedgerEntry.objects.count()


def payout_snapshot(payout: Payout) -> tuple[str, int, tuple[int, int]]:
    payout.refresh_from_db()
    return payout.status, payout.history.count(), ledger_size()


# --- the ledger: read-only ---


@pytest.mark.parametrize("role", ["finance", None])  # None: a superuser
def test_ledger_entries_and_postings_cannot_be_added_changed_or_deleted(client, role):
    # given money on the ledger and finance staff (or a superuser)
    client.force_login(f.staff(role) if role else f.superuser())
    f.order(status="paid", amount="100.00")
    entry, posting = LedgerEntry.objects.first(), Posting.objects.first()
    before = list(LedgerEntry.objects.values_list("id", "account", "amount"))

    for model, obj in ((LedgerEntry, entry), (Posting, posting)):
        # when they try to add, change or delete through the admin
        page = client.get(url(model, "change", obj.pk))
        changelist = client.get(url(model, "changelist"))
        add = client.get(url(model, "add"))
        change = post(client, url(model, "change", obj.pk), {"amount": "1", "reference": "x"})
        delete = post(client, url(model, "delete", obj.pk), {"post": "yes"})

        # then every write is refused and the pages offer none
        assert page.status_code == 200 and changelist.status_code == 200
        assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
        assert 'name="_save"' not in page.text and "deletelink" not in page.text
        assert "delete_selected" not in changelist.text
        assert url(model, "add") not in changelist.text
    assert list(LedgerEntry.objects.values_list("id", "account", "amount")) == before


def test_ledger_entry_list_renders_with_filters_search_and_dates(client):
    client.force_login(f.staff("finance"))
    order = f.order(status="shipped", amount="100.00")
    refund(order, amount=D("30.00"), at=f.T0 + 9 * DAY, reference="r1")
    store = order.store

    for query, expected in (
        ("", "USD +100.00"),
        (f"?q={order.order_number}", "USD -30.00"),
        (f"?q={store.name}", "USD +100.00"),
        (f"?q={store.platform_store_id}", "USD +100.00"),
        (f"?q=order:{order.pk}:payment", "USD -100.00"),
        ("?account__exact=escrow", "USD -30.00"),
        ("?currency__exact=USD", "USD +100.00"),
        ("?posting__kind__exact=refund", "USD +30.00"),
        (f"?store__id__exact={store.pk}", "USD +100.00"),
        ("?at__year=2026&at__month=3", "USD +100.00"),
    ):
        response = client.get(url(LedgerEntry, "changelist") + query)
        assert response.status_code == 200, query
        assert expected in response.text, query
    only_refunds = client.get(url(LedgerEntry, "changelist") + "?posting__kind__exact=refund")
    assert "USD +100.00" not in only_refunds.text


def test_posting_page_shows_its_legs_and_links_to_the_order_and_refund(client):
    client.force_login(f.staff("finance"))
    order = f.order(status="shipped", amount="100.00")
    record = refund(order, amount=D("30.00"), at=f.T0 + 9 * DAY, reference="r2")
    posting = Posting.objects.get(refund=record)

    page = client.get(url(Posting, "change", posting.pk))
    postings = client.get(url(Posting, "changelist") + "?kind__exact=refund")

    assert page.status_code == 200
    assert "USD -30.00" in page.text and "USD +30.00" in page.text
    assert reverse("admin:orders_order_change", args=[order.pk]) in page.text
    assert url(type(record), "change", record.pk) in page.text
    assert postings.status_code == 200 and posting.reference in postings.text


# --- payouts ---


def test_finance_marks_payouts_paid_and_failed_and_money_moves(client):
    # given a store with USD 100 available and two payout requests (60 and 30)
    officer = f.staff("finance")
    client.force_login(officer)
    store = funded_store("100.00")
    first = payout_request(store_id=store.pk, actor=None, amount="60.00")
    second = payout_request(store_id=store.pk, actor=None, amount="30.00")
    assert store_balances(store.pk)["available"] == D("10.00")

    # when finance opens the first and marks it paid with a bank reference
    page = client.get(url(Payout, "change", first.pk))
    form = client.get(url(Payout, "transition", first.pk, "mark_paid"))
    paid = post(
        client,
        url(Payout, "transition", first.pk, "mark_paid"),
        {"note": "bank ref 778", "_apply": "1", "_confirm": "1"},
    )

    # then the payout is paid by the service, the money left the platform, history says who
    assert buttons(page) == {"mark_paid": True, "mark_failed": True}
    assert form.status_code == 200 and 'name="_apply"' in form.text
    assert texts(paid) == [f"Mark paid: done for Payout {first.pk} (USD 60.00). It is now paid."]
    first.refresh_from_db()
    assert first.status == "paid"
    assert balance(account=Account.PAID_OUT) == D("60.00")
    assert balance(account=Account.PAYOUT_CLEARING) == D("30.00")
    row = first.history.get()
    assert (row.actor, row.target, row.note) == (officer, "paid", "bank ref 778")

    # when the second fails: the reason is required, then the money returns to available
    no_reason = post(client, url(Payout, "transition", second.pk, "mark_failed"), {"_apply": "1"})
    failed = post(
        client,
        url(Payout, "transition", second.pk, "mark_failed"),
        {"reason": "beneficiary account closed", "_apply": "1"},
    )

    assert no_reason.status_code == 200 and "This field is required." in no_reason.text
    assert texts(failed)[-1].endswith("It is now failed.")
    second.refresh_from_db()
    assert (second.status, second.failure_reason) == ("failed", "beneficiary account closed")
    assert store_balances(store.pk)["available"] == D("40.00")
    assert balance(account=Account.PAYOUT_CLEARING) == D("0.00")
    history = client.get(url(Payout, "change", second.pk))
    assert "Requested → Failed" in history.text and officer.username in history.text
    assert f"payout:{second.pk}:failed" in history.text  # its ledger postings


def test_marking_a_paid_payout_failed_is_refused_with_the_reason_and_changes_nothing(client):
    client.force_login(f.staff("finance"))
    store = funded_store()
    payout = payout_request(store_id=store.pk, actor=None, amount="50.00")
    post(
        client,
        url(Payout, "transition", payout.pk, "mark_paid"),
        {"_apply": "1", "_confirm": "1"},
    )
    before, balances = payout_snapshot(payout), store_balances(store.pk)

    page = client.get(url(Payout, "change", payout.pk))
    response = post(
        client,
        url(Payout, "transition", payout.pk, "mark_failed"),
        {"reason": "changed my mind", "_apply": "1"},
    )

    assert buttons(page) == {"mark_paid": False, "mark_failed": False}
    assert "Not possible while the payout is Paid." in page.text
    assert response.status_code == 302
    assert texts(response) == ["Not possible while the payout is Paid."]
    assert payout_snapshot(payout) == before
    assert store_balances(store.pk) == balances


def test_support_sees_payouts_but_cannot_settle_them(client):
    client.force_login(f.staff("support"))
    payout = payout_request(store_id=funded_store().pk, actor=None, amount="10.00")
    before = payout_snapshot(payout)

    page = client.get(url(Payout, "change", payout.pk))
    changelist = client.get(url(Payout, "changelist"))
    forged = post(client, url(Payout, "transition", payout.pk, "mark_paid"), {"_apply": "1"})
    bulk = post(
        client,
        url(Payout, "changelist"),
        {"action": "bulk_mark_paid", "_selected_action": [payout.pk], "index": "0"},
    )
    add = client.get(url(Payout, "add"))

    assert page.status_code == 200 and page.context["object_buttons"] == []
    assert changelist.status_code == 200 and "bulk_mark_paid" not in changelist.text
    assert texts(forged) == ["You do not have permission to do this."]
    assert bulk.status_code == 200  # the action is not offered: "no action selected"
    assert add.status_code == 403
    assert payout_snapshot(payout) == before


def test_bulk_mark_paid_settles_requested_payouts_and_reports_the_others(client):
    client.force_login(f.staff("finance"))
    store = funded_store()
    requested = [payout_request(store_id=store.pk, actor=None, amount="10.00") for _ in range(2)]
    failed = payout_request(store_id=store.pk, actor=None, amount="5.00")
    post(
        client,
        url(Payout, "transition", failed.pk, "mark_failed"),
        {"reason": "bounced", "_apply": "1"},
    )

    response = post(
        client,
        url(Payout, "changelist"),
        {
            "action": "bulk_mark_paid",
            "_selected_action": [p.pk for p in (*requested, failed)],
            "index": "0",
            "_confirm": "1",
        },
    )

    assert texts(response)[-2:] == [
        "Mark paid: 2 done, 1 refused.",
        f"Payout {failed.pk} (USD 5.00): Not possible while the payout is Failed.",
    ]
    assert sorted(Payout.objects.values_list("status", flat=True)) == ["failed", "paid", "paid"]
    assert balance(account=Account.PAID_OUT) == D("20.00")
    assert store_balances(store.pk)["available"] == D("80.00")


def payout_form(store: SellerAccount, amount: str, currency: str = "USD", key: str = "") -> dict:
    return {"store": store.pk, "amount": amount, "currency": currency, "idempotency_key": key}


@pytest.mark.parametrize(
    ("setup", "data", "field", "message"),
    [
        ("empty", ("10.00", "USD"), "amount", "Only USD 0.00 is available."),
        ("funded", ("100.01", "USD"), "amount", "Only USD 100.00 is available."),
        ("funded", ("1.001", "USD"), "amount", "At most 2 decimals."),
        ("funded", ("10.00", "CNY"), "currency", "No USD/CNY exchange rate is recorded for"),
        ("frozen", ("10.00", "USD"), None, "The store is frozen (Risk review)"),
    ],
)
def test_payout_request_form_shows_the_services_refusal_and_creates_nothing(
    client, setup, data, field, message
):
    client.force_login(f.staff("finance"))
    store = funded_store() if setup != "empty" else f.store()
    if setup == "frozen":
        seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    before = ledger_size()

    response = post(client, url(Payout, "add"), payout_form(store, *data, key="k-1"))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field or "__all__"]), errors
    assert message in response.text
    assert not Payout.objects.exists()
    assert ledger_size() == before


def test_payout_request_form_creates_once_per_form(client):
    officer = f.staff("finance")
    client.force_login(officer)
    store = funded_store()
    exchange_rate_set(actor=None, day=clock.now().date(), rate="7.2")

    page = client.get(url(Payout, "add"))
    key = page.context["form"]["idempotency_key"].value()
    first = post(client, url(Payout, "add"), payout_form(store, "10.00", "CNY", key))
    again = post(client, url(Payout, "add"), payout_form(store, "10.00", "CNY", key))

    payout = Payout.objects.get()
    assert page.status_code == 200 and len(key) == 32
    assert first.status_code == 302 and first.url == url(Payout, "change", payout.pk)
    assert again.status_code == 302 and again.url == first.url  # a double submit: one payout
    assert (payout.status, payout.requested_by, payout.rate) == ("requested", officer, D("7.2"))
    assert payout.payout_amount == D("72.00")
    assert store_balances(store.pk)["available"] == D("90.00")


def test_reusing_a_submitted_payout_form_for_another_amount_is_refused(client):
    client.force_login(f.staff("finance"))
    store = funded_store()
    post(client, url(Payout, "add"), payout_form(store, "10.00", key="same-form"))

    response = post(client, url(Payout, "add"), payout_form(store, "11.00", key="same-form"))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "idempotencyKey: This idempotency key was used with a different request."
    ]
    assert Payout.objects.count() == 1
    assert store_balances(store.pk)["available"] == D("90.00")


def test_payout_list_renders_with_filters_and_search(client):
    client.force_login(f.staff("finance"))
    store = funded_store()
    payout_request(store_id=store.pk, actor=None, amount="12.34")

    for query in (
        "",
        "?status__exact=requested",
        "?currency__exact=USD",
        f"?store__id__exact={store.pk}",
        f"?q={store.platform_store_id}",
        f"?q={store.name}",
    ):
        response = client.get(url(Payout, "changelist") + query)
        assert response.status_code == 200, query
        assert "USD 12.34" in response.text, query


# --- exchange rates ---


def test_exchange_rates_are_added_and_changed_through_the_service(client):
    officer = f.staff("finance")
    client.force_login(officer)

    page = client.get(url(ExchangeRate, "add"))
    zero = post(client, url(ExchangeRate, "add"), {"day": "2026-03-01", "rate": "0"})
    too_fine = post(client, url(ExchangeRate, "add"), {"day": "2026-03-01", "rate": "7.1234567"})
    no_day = post(client, url(ExchangeRate, "add"), {"rate": "7.18"})
    good = post(client, url(ExchangeRate, "add"), {"day": "2026-03-01", "rate": "7.1825"})

    assert page.status_code == 200
    assert zero.status_code == too_fine.status_code == 200
    assert zero.context["form"].errors["rate"] == ["The rate must be from 5 to 10 CNY per USD."]
    assert too_fine.context["form"].errors["rate"] == ["At most 6 decimals."]
    assert no_day.status_code == 200 and "day" in no_day.context["form"].errors
    row = ExchangeRate.objects.get()
    assert good.status_code == 302 and good.url == url(ExchangeRate, "change", row.pk)
    assert (str(row.date), row.rate_to_cny, row.set_by) == ("2026-03-01", D("7.1825"), officer)

    # the row's page is read-only with a "Change rate" button that runs the service again
    detail = client.get(url(ExchangeRate, "change", row.pk))
    raw = post(client, url(ExchangeRate, "change", row.pk), {"rate_to_cny": "1"})
    changed = post(
        client,
        url(ExchangeRate, "transition", row.pk, "change_rate"),
        {"rate": "7.2", "_apply": "1"},
    )
    assert buttons(detail) == {"change_rate": True} and 'name="_save"' not in detail.text
    assert raw.status_code == 403
    assert texts(changed)[-1].startswith("Change rate: done")
    row.refresh_from_db()
    assert row.rate_to_cny == D("7.2") and ExchangeRate.objects.count() == 1

    dates = client.get(url(ExchangeRate, "changelist") + "?date__year=2026&date__month=3")
    assert dates.status_code == 200 and "7.2" in dates.text


def test_support_cannot_see_or_set_exchange_rates(client):
    client.force_login(f.staff("support"))

    response = post(client, url(ExchangeRate, "add"), {"day": "2026-03-01", "rate": "7.18"})

    assert response.status_code == 403
    assert client.get(url(ExchangeRate, "changelist")).status_code == 403
    assert not ExchangeRate.objects.exists()


# --- early payout ---


def test_changing_early_payout_terms_records_a_decision_by_the_user(client):
    # given an eligible store (the platform's evaluation) and a risk officer
    officer = f.staff("risk")
    client.force_login(officer)
    store = f.store()
    early_payout_set(
        store_id=store.pk,
        actor=None,
        eligible=True,
        reserve_rate="0.10",
        source="evaluation",
        at=f.T0,
    )

    # when the officer withdraws eligibility with the "Change terms" form
    page = client.get(url(EarlyPayoutTerms, "change", store.pk))
    form = client.get(url(EarlyPayoutTerms, "transition", store.pk, "set_terms"))
    bad = post(
        client,
        url(EarlyPayoutTerms, "transition", store.pk, "set_terms"),
        {"reserve_rate": "1.5", "reason": "x", "_apply": "1"},
    )
    done = post(
        client,
        url(EarlyPayoutTerms, "transition", store.pk, "set_terms"),
        {"reserve_rate": "0.15", "reason": "dispute rate above 5 %", "_apply": "1"},
    )

    # then the service recorded it as the officer's decision
    assert buttons(page) == {"set_terms": True} and 'name="_save"' not in page.text
    assert form.context["form"].initial == {"eligible": True, "reserve_rate": D("0.1000")}
    assert bad.status_code == 200 and "reserve_rate" in bad.context["form"].errors
    assert done.status_code == 302
    terms = EarlyPayoutTerms.objects.get(store=store)
    assert (terms.eligible, terms.reserve_rate) == (False, D("0.15"))
    decision = EarlyPayoutDecision.objects.first()
    assert (decision.decided_by, decision.source, decision.eligible) == (officer, "override", False)
    assert decision.reason == "dispute rate above 5 %"
    assert EarlyPayoutDecision.objects.count() == 2
    page = client.get(url(EarlyPayoutTerms, "change", store.pk))
    assert "dispute rate above 5 %" in page.text and officer.username in page.text
    decisions = client.get(url(EarlyPayoutDecision, "changelist") + "?source__exact=override")
    assert decisions.status_code == 200 and "dispute rate above 5 %" in decisions.text


def test_early_payout_terms_are_set_for_a_new_store_through_the_add_form(client):
    officer = f.staff("finance")
    client.force_login(officer)
    store = f.store()

    bad = post(
        client,
        url(EarlyPayoutTerms, "add"),
        {"store": store.pk, "eligible": "on", "reserve_rate": "0.12345", "reason": "r"},
    )
    good = post(
        client,
        url(EarlyPayoutTerms, "add"),
        {"store": store.pk, "eligible": "on", "reserve_rate": "0.1", "reason": "good record"},
    )

    assert bad.status_code == 200 and "reserve_rate" in bad.context["form"].errors
    assert good.status_code == 302 and good.url == url(EarlyPayoutTerms, "change", store.pk)
    assert EarlyPayoutDecision.objects.get().decided_by == officer


def test_support_cannot_change_early_payout_terms(client):
    client.force_login(f.staff("support"))
    store = f.store()
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.1")

    response = post(
        client,
        url(EarlyPayoutTerms, "transition", store.pk, "set_terms"),
        {"reserve_rate": "0", "reason": "x", "_apply": "1"},
    )

    assert response.status_code == 403
    assert EarlyPayoutTerms.objects.get(store=store).eligible


# --- the reserve and refunds ---


def early_paid_store(amount: str = "100.00") -> tuple[SellerAccount, Order]:
    """An eligible store (reserve 10 %) whose shipped order was paid out early."""
    store = f.store()
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.10", at=f.T0)
    order = f.order(store, status="shipped", amount=amount)
    run_all(order.shipped_at + 3 * DAY)
    return store, order


def test_deposit_inquiry_lists_each_hold_with_what_is_left_of_it(client):
    # given an early payout (reserve 10.00), a payout of everything available, then a refund
    # that the waterfall takes from the reserve
    client.force_login(f.staff("risk"))
    store, order = early_paid_store("100.00")
    payout_request(store_id=store.pk, actor=None, amount="90.00")
    refund(order, amount=D("4.00"), at=order.shipped_at + 5 * DAY, reference="from-reserve")
    _, other = early_paid_store("50.00")

    listing = client.get(url(ReserveHold, "changelist"))
    held = client.get(url(ReserveHold, "changelist") + "?released=no&q=" + order.order_number)
    released = client.get(url(ReserveHold, "changelist") + "?released=yes")
    page = client.get(url(ReserveHold, "change", ReserveHold.objects.get(order=order).pk))

    assert listing.status_code == 200 and "Deposit inquiry" in listing.text
    assert "USD 10.00" in listing.text and "USD 6.00" in listing.text
    assert "USD 5.00" in listing.text  # the other store's hold, untouched
    assert order.order_number in held.text and other.order_number not in held.text
    assert order.order_number not in released.text
    assert page.status_code == 200 and "USD 6.00" in page.text
    assert store_balances(store.pk)["reserve"] == D("6.00")


def test_refund_list_shows_where_the_money_came_from(client):
    client.force_login(f.staff("support"))
    store, order = early_paid_store("100.00")
    payout_request(store_id=store.pk, actor=None, amount="85.00")
    refund(order, amount=D("40.00"), at=order.shipped_at + 5 * DAY, reference="waterfall")

    response = client.get(url(type(order.refunds.get()), "changelist"))

    assert response.status_code == 200
    # available 5.00, then the reserve 10.00, the rest 25.00 becomes debt
    for text in ("USD 40.00", "USD 5.00", "USD 10.00", "USD 25.00", order.order_number):
        assert text in response.text


# --- money on the store and order pages ---


def test_store_page_shows_balances_reserve_schedule_and_links(client):
    officer = f.staff("finance")
    client.force_login(officer)
    store, order = early_paid_store("100.00")
    payout_request(store_id=store.pk, actor=None, amount="30.00")
    f.order(store, status="paid", amount="25.00")  # in escrow
    page_url = reverse("admin:accounts_selleraccount_details", args=[store.pk])

    page = client.get(page_url)

    assert page.status_code == 200
    text = page.text
    for label, value in (
        ("escrow", "USD 25.00"),
        ("available", "USD 60.00"),
        ("reserve", "USD 10.00"),
        ("promotion", "CNY 0.00"),
        ("debt", "USD 0.00"),
    ):
        assert f'class="balance-{label}">{value}<' in text, label
    assert "Eligible since 2026-03-01, reserve 10.00 %" in text
    assert order.order_number in text and "not scheduled" in text
    ledger = reverse("admin:payouts_ledgerentry_changelist") + f"?store__id__exact={store.pk}"
    payouts = reverse("admin:payouts_payout_changelist") + f"?store__id__exact={store.pk}"
    links = re.findall(r'href="(/admin/payouts/[a-z]+/\?store__id__exact=\d+)"', text)
    # the six money lists, and the wallet box's promotion movements (the health box links to
    # the decisions again)
    assert ledger in links and payouts in links and len(set(links)) == 7
    assert all(client.get(link).status_code == 200 for link in links)  # still finance here
    # support sees the store but not its money
    client.force_login(f.staff("support"))
    support_page = client.get(page_url)
    assert support_page.status_code == 200 and "balance-available" not in support_page.text
    assert client.get(ledger).status_code == 403


def test_order_page_shows_escrow_refunds_and_postings(client):
    client.force_login(f.staff("finance"))
    order = f.order(status="shipped", amount="100.00")
    refund(order, amount=D("30.00"), at=f.T0 + 9 * DAY, reference="partial")
    page_url = reverse("admin:orders_order_change", args=[order.pk])

    page = client.get(page_url)
    client.force_login(f.staff("support"))
    support = client.get(page_url)

    assert page.status_code == 200
    assert "USD 70.00" in page.text  # still held in escrow
    assert "USD 30.00" in page.text and "From escrow" in page.text  # the refund
    assert f"order:{order.pk}:payment" in page.text and "refund:" in page.text  # postings
    assert "Escrow USD -30.00" in page.text
    assert f"?order__id__exact={order.pk}" in page.text
    # support sees the refund but not the ledger
    assert "From escrow" in support.text
    assert f"order:{order.pk}:payment" not in support.text and "USD 70.00" not in support.text


# --- query counts ---


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_ledger_entry_and_posting_lists_query_count_does_not_grow_with_rows(client):
    client.force_login(f.staff("finance"))
    entries, postings = url(LedgerEntry, "changelist"), url(Posting, "changelist")
    for _ in range(5):
        f.order(status="paid")  # two entries each
    queries(client, entries)  # warm Django's per-process caches (content types) first
    ten = (queries(client, entries), queries(client, postings))

    for _ in range(15):
        f.order(status="paid")
    forty = (queries(client, entries), queries(client, postings))

    assert LedgerEntry.objects.count() == 40
    assert ten == forty


def test_payout_list_query_count_does_not_grow_with_rows(client):
    client.force_login(f.staff("finance"))
    changelist = url(Payout, "changelist")

    def add(n: int) -> None:
        for _ in range(n):
            payout_request(store_id=funded_store("10.00").pk, actor=None, amount="1.00")

    add(10)
    queries(client, changelist)  # warm up
    ten = queries(client, changelist)
    add(30)
    forty = queries(client, changelist)

    assert Payout.objects.count() == 40
    assert ten == forty


def test_deposit_inquiry_and_store_page_query_counts_do_not_grow_with_holds(client):
    client.force_login(f.staff("finance"))
    store = f.store()
    early_payout_set(store_id=store.pk, actor=None, eligible=True, reserve_rate="0.10", at=f.T0)
    store_page = reverse("admin:accounts_selleraccount_change", args=[store.pk])
    details = reverse("admin:accounts_selleraccount_details", args=[store.pk])
    holds = url(ReserveHold, "changelist")

    def hold(n: int) -> None:
        orders = [f.order(store, status="shipped", amount="10.00") for _ in range(n)]
        run_all(max(o.shipped_at for o in orders) + 3 * DAY)

    hold(1)
    queries(client, store_page), queries(client, details)  # warm up
    few = (queries(client, store_page), queries(client, details), queries(client, holds))
    hold(9)
    many = (queries(client, store_page), queries(client, details), queries(client, holds))

    assert ReserveHold.objects.filter(store=store).count() == 10
    assert few == many


def test_every_money_page_renders_for_finance(client):
    client.force_login(f.staff("finance"))
    store, order = early_paid_store()
    payout = payout_request(store_id=store.pk, actor=None, amount="5.00")
    exchange_rate_set(actor=None, day=f.T0.date(), rate="7.18")
    record = refund(order, amount=Decimal("1.00"), at=f.T0 + 9 * DAY, reference="any")

    for model, pk in (
        (LedgerEntry, LedgerEntry.objects.first().pk),
        (Posting, Posting.objects.first().pk),
        (Payout, payout.pk),
        (ExchangeRate, ExchangeRate.objects.get().pk),
        (EarlyPayoutTerms, store.pk),
        (EarlyPayoutDecision, EarlyPayoutDecision.objects.get().pk),
        (ReserveHold, ReserveHold.objects.get().pk),
        (type(record), record.pk),
    ):
        assert client.get(url(model, "changelist")).status_code == 200, model
        assert client.get(url(model, "change", pk)).status_code == 200, model
    assert client.get(reverse("admin:app_list", args=["payouts"])).status_code == 200
