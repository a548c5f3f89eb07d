"""The promotion wallet in the admin: movements are read-only and recorded through
``payouts.promotion`` (bank-transfer top-ups and adjustments by finance), thresholds change
through the service, arrears episodes and notices are read-only lists."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Notice
from backoffice.deadlines import run_all
from payouts.models import ArrearsEpisode, LedgerEntry, PromotionMovement, PromotionWallet
from payouts.promotion import (
    promotion_charge,
    promotion_set_threshold,
    promotion_top_up,
    wallet_balance,
)
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
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def charge(store, amount: str, at=f.T0) -> PromotionMovement:
    return promotion_charge(store_id=store.pk, actor=None, amount=amount, at=at)


def frozen_for_arrears(owed: str = "1234.56"):
    store = f.store()
    charge(store, owed, at=f.T0)
    run_all(f.T0 + 4 * DAY)
    store.refresh_from_db()
    assert (store.status, store.freeze_reason) == ("frozen", "arrears")
    return store


def movements() -> list[tuple]:
    return list(PromotionMovement.objects.values_list("store", "kind", "amount", "reference"))


def entry(store, **data) -> dict:
    return {"store": store.pk, "kind": "top_up", "idempotency_key": "k1", **data}


# --- recording by hand: finance ---


def test_finance_records_a_bank_transfer_top_up_and_the_arrears_clear(client):
    # given a store frozen for CNY 1,234.56 of arrears
    store = frozen_for_arrears("1234.56")
    finance = f.staff("finance")
    client.force_login(finance)

    # when finance records the bank transfer that pays them
    form = client.get(url(PromotionMovement, "add"))
    response = post(
        client,
        url(PromotionMovement, "add"),
        entry(store, amount="1234.56", reference="ICBC-20260306-0042"),
    )

    # then the top-up is recorded under finance's name, the arrears are cleared and the arrears
    # hold lifted: the store is active again
    assert form.status_code == 200 and "offline bank transfer" in form.text
    movement = PromotionMovement.objects.get(reference="ICBC-20260306-0042")
    assert response.status_code == 302 and response.url == url(
        PromotionMovement, "change", movement.pk
    )
    assert (movement.kind, movement.method, movement.amount, movement.actor) == (
        "top_up",
        "bank_transfer",
        D("1234.56"),
        finance,
    )
    assert wallet_balance(store.pk) == D("0.00") and store.arrears_owed == 0
    assert ArrearsEpisode.objects.get(store=store).cleared_at == movement.at
    assert texts(response)[-1] == (
        f"{store} owes no arrears any more: its arrears hold is lifted and it is active again."
    )
    page = client.get(url(PromotionMovement, "change", movement.pk))
    assert "CNY +1,234.56" in page.text and f"promotion:{movement.pk}" in page.text
    store.refresh_from_db()
    assert store.status == "active"


def test_a_partial_top_up_says_what_is_still_owed(client):
    store = frozen_for_arrears("500.00")
    client.force_login(f.staff("finance"))

    response = post(
        client, url(PromotionMovement, "add"), entry(store, amount="200.00", reference="T-1")
    )

    assert response.status_code == 302
    assert texts(response)[-1] == f"{store} is still in arrears: CNY 300.00 owed."
    assert store.arrears_owed == D("300.00")


def test_submitting_the_same_form_twice_records_one_top_up(client):
    store = f.store()
    client.force_login(f.staff("finance"))
    data = entry(store, amount="100.00", reference="BANK-1", idempotency_key="form-1")

    first = post(client, url(PromotionMovement, "add"), data)
    second = post(client, url(PromotionMovement, "add"), data)

    assert first.status_code == second.status_code == 302
    assert PromotionMovement.objects.count() == 1 and wallet_balance(store.pk) == D("100.00")


def test_finance_records_an_adjustment_with_its_reason(client):
    store = f.store()
    charge(store, "30.00")
    client.force_login(f.staff("finance"))

    response = post(
        client,
        url(PromotionMovement, "add"),
        entry(store, kind="adjustment", amount="-12.50", note="ad clicks billed twice"),
    )

    assert response.status_code == 302
    movement = PromotionMovement.objects.get(kind="adjustment")
    assert (movement.amount, movement.note, movement.method) == (
        D("-12.50"),
        "ad clicks billed twice",
        "",
    )
    assert movement.reference == "admin-adjustment:k1"
    assert wallet_balance(store.pk) == D("-42.50")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "100.00"}, "reference", "Give the bank's reference of the transfer."),
        ({"amount": "-5", "reference": "B"}, "amount", "The amount must be greater than zero."),
        ({"amount": "1.005", "reference": "B"}, "amount", "2 decimals"),
        ({"kind": "adjustment", "amount": "5", "note": " "}, "note", "Say why"),
        ({"kind": "adjustment", "amount": "0", "note": "x"}, "amount", "must not be zero"),
    ],
)
def test_refusals_show_on_the_form_and_record_nothing(client, data, field, message):
    store = f.store()
    client.force_login(f.staff("finance"))

    response = post(client, url(PromotionMovement, "add"), entry(store, **data))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field]), errors
    assert movements() == [] and LedgerEntry.objects.count() == 0


def test_a_reference_used_for_another_movement_is_refused_on_the_form(client):
    store = f.store()
    client.force_login(f.staff("finance"))
    post(client, url(PromotionMovement, "add"), entry(store, amount="10", reference="DUP"))

    response = post(
        client,
        url(PromotionMovement, "add"),
        entry(store, amount="20", reference="DUP", idempotency_key="k2"),
    )

    assert response.status_code == 200
    assert "was used for another movement" in " ".join(response.context["form"].errors["reference"])
    assert wallet_balance(store.pk) == D("10.00")


def test_a_closed_store_takes_no_top_up(client):
    store = f.store(status="closed")
    client.force_login(f.staff("finance"))

    response = post(client, url(PromotionMovement, "add"), entry(store, amount="10", reference="X"))

    assert response.status_code == 200
    assert "takes no top-ups" in " ".join(response.context["form"].non_field_errors())
    assert movements() == []


# --- who may ---


def test_support_cannot_see_or_record_movements(client):
    store = frozen_for_arrears("50.00")
    client.force_login(f.staff("support"))

    add = client.get(url(PromotionMovement, "add"))
    posted = post(client, url(PromotionMovement, "add"), entry(store, amount="50", reference="S"))
    listing = client.get(url(PromotionMovement, "changelist"))

    assert (add.status_code, posted.status_code, listing.status_code) == (403, 403, 403)
    assert len(movements()) == 1 and store.arrears_owed == D("50.00")


def test_risk_sees_movements_but_cannot_record_them(client):
    store = f.store()
    charge(store, "10.00")
    client.force_login(f.staff("risk"))

    listing = client.get(url(PromotionMovement, "changelist"))
    add = client.get(url(PromotionMovement, "add"))

    assert listing.status_code == 200 and "CNY -10.00" in listing.text
    assert url(PromotionMovement, "add") not in listing.text
    assert add.status_code == 403


def test_movements_are_never_changed_or_deleted(client):
    client.force_login(f.superuser())
    movement = charge(f.store(), "10.00")

    page = client.get(url(PromotionMovement, "change", movement.pk))
    change = post(client, url(PromotionMovement, "change", movement.pk), {"amount": "1"})
    delete = post(client, url(PromotionMovement, "delete", movement.pk), {"post": "yes"})

    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert (change.status_code, delete.status_code) == (403, 403)
    movement.refresh_from_db()
    assert movement.amount == D("-10.00")


# --- lists ---


def test_movement_list_shows_signed_cny_and_filters_and_searches(client):
    client.force_login(f.staff("finance"))
    store = f.store(name="Lotus Lamps")
    promotion_charge(store_id=store.pk, actor=None, amount="25.00", reference="ADS-0301", at=f.T0)
    other = f.store(name="Other")
    charge(other, "1.00")
    changelist = url(PromotionMovement, "changelist")

    for query, shown, hidden in (
        ("", "CNY -25.00", None),
        ("?q=ADS-0301", "CNY -25.00", "CNY -1.00"),
        ("?q=lotus", "ADS-0301", "CNY -1.00"),
        (f"?q={store.platform_store_id}", "ADS-0301", "CNY -1.00"),
        ("?kind__exact=charge", "ADS-0301", None),
        ("?kind__exact=top_up", None, "ADS-0301"),
        ("?method__exact=bank_transfer", None, "ADS-0301"),
        (f"?store__id__exact={other.pk}", "CNY -1.00", "ADS-0301"),
        ("?at__year=2026&at__month=3", "ADS-0301", None),
    ):
        response = client.get(changelist + query)
        assert response.status_code == 200, query
        if shown:
            assert shown in response.text, query
        if hidden:
            assert hidden not in response.text, query


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_movement_and_arrears_lists_query_counts_do_not_grow_with_rows(client):
    client.force_login(f.staff("finance"))
    pages = [url(m, "changelist") for m in (PromotionMovement, ArrearsEpisode, PromotionWallet)]

    def add(n: int) -> None:
        for _ in range(n):
            store = f.store()
            promotion_set_threshold(store_id=store.pk, actor=None, threshold="5")
            charge(store, "3.00")

    add(2)
    [queries(client, page) for page in pages]  # warm the per-process caches
    few = [queries(client, page) for page in pages]
    add(8)

    assert [queries(client, page) for page in pages] == few


def test_arrears_episodes_are_listed_read_only_for_support(client):
    client.force_login(f.staff("support"))
    open_one = frozen_for_arrears("80.00")
    cleared = f.store(name="Paid Back")
    charge(cleared, "5.00", at=f.T0)
    promotion_top_up(
        store_id=cleared.pk, actor=None, amount="5", method="alipay", at=f.T0 + 2 * DAY
    )
    changelist = url(ArrearsEpisode, "changelist")

    everything = client.get(changelist)
    still_open = client.get(changelist + "?open=yes")
    page = client.get(url(ArrearsEpisode, "change", ArrearsEpisode.objects.get(store=cleared).pk))

    assert everything.status_code == 200 and "CNY 80.00" in everything.text
    assert "Paid Back" in everything.text and "2.0 days" in everything.text
    assert [e.store for e in still_open.context["cl"].result_list] == [open_one]
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert client.get(url(ArrearsEpisode, "add")).status_code == 403


# --- the low-balance threshold ---


def test_finance_changes_a_threshold_through_the_service_and_the_notice_follows(client):
    store = f.store()
    promotion_set_threshold(store_id=store.pk, actor=None, threshold="100")
    client.force_login(f.staff("finance"))
    wallet_url = url(PromotionWallet, "change", store.pk)
    action = reverse("admin:payouts_promotionwallet_transition", args=[store.pk, "set_threshold"])

    page = client.get(wallet_url)
    form = client.get(action)
    bad = post(client, action, {"threshold": "-1", "_apply": "1"})
    done = post(client, action, {"threshold": "500.00", "_apply": "1"})
    charge(store, "1.00")  # -1.00 < 500: a notice

    assert page.status_code == 200 and "CNY 100.00" in page.text
    assert form.status_code == 200 and 'value="100.00"' in form.text
    assert "must not be negative" in str(bad.context["form"].errors["threshold"])
    assert 'value="-1"' in bad.text  # what was typed comes back
    assert texts(done)[-1] == f"Change threshold: done for Promotion wallet of {store}."
    assert PromotionWallet.objects.get(store=store).low_balance_threshold == D("500.00")
    assert Notice.objects.filter(store=store, kind="low_balance").count() == 1


def test_a_threshold_for_a_store_without_a_wallet_is_added_through_the_service(client):
    store = f.store()
    client.force_login(f.staff("finance"))

    response = post(client, url(PromotionWallet, "add"), {"store": store.pk, "threshold": "250"})

    assert response.status_code == 302
    assert PromotionWallet.objects.get(store=store).low_balance_threshold == D("250.00")


def test_risk_cannot_change_thresholds(client):
    store = f.store()
    promotion_set_threshold(store_id=store.pk, actor=None, threshold="100")
    client.force_login(f.staff("risk"))
    action = reverse("admin:payouts_promotionwallet_transition", args=[store.pk, "set_threshold"])

    response = post(client, action, {"threshold": "1", "_apply": "1"})

    assert response.status_code == 403
    assert PromotionWallet.objects.get(store=store).low_balance_threshold == D("100.00")


# --- notices ---


def test_notice_list_renders_with_filters_for_support(client):
    client.force_login(f.staff("support"))
    frozen = frozen_for_arrears("10.00")
    other = f.store(name="Quiet Store")
    promotion_set_threshold(store_id=other.pk, actor=None, threshold="50")
    charge(other, "1.00")
    changelist = url(Notice, "changelist")

    listing = client.get(changelist)
    freezes = client.get(changelist + "?kind__exact=freeze")
    of_store = client.get(changelist + f"?store__id__exact={other.pk}")
    notice = Notice.objects.get(store=frozen)
    page = client.get(url(Notice, "change", notice.pk))

    assert listing.status_code == 200
    assert (
        "Your store is frozen" in listing.text and "Your promotion balance is low" in listing.text
    )
    assert "Your store is frozen" in freezes.text and "balance is low" not in freezes.text
    assert "balance is low" in of_store.text and "Your store is frozen" not in of_store.text
    assert page.status_code == 200 and "Unpaid promotion arrears" in page.text
    assert 'name="_save"' not in page.text
    assert client.get(url(Notice, "add")).status_code == 403
