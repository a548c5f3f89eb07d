"""The store's page starts with a summary card; no HISTORY button contradicts its timeline."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import SellerAccount, User
from payouts.models import LedgerEntry
from tests import factories as f


def test_the_store_page_starts_with_a_summary_card(client: Client) -> None:
    store = f.store(name="Sunrise Gadgets")
    f.dispute(f.order(store, status="shipped"))
    client.force_login(f.staff("risk"))

    response = client.get(reverse("admin:accounts_selleraccount_change", args=[store.pk]))

    card = {key: str(value) for key, _label, value in response.context["summary_card"]}
    assert list(card) == [
        "status",
        "available",
        "escrow",
        "reserve",
        "owed",
        "open-disputes",
        "reserve-rate",
        "next-action",
    ]
    assert "USD 100.00" in card["escrow"] and ">1</a>" in card["open-disputes"]
    text = response.text
    assert text.index('id="summary-card"') < text.index('id="object-actions"')
    assert "historylink" not in text


def test_support_sees_the_card_without_balances(client: Client) -> None:
    store = f.store()
    client.force_login(f.staff("support"))

    response = client.get(reverse("admin:accounts_selleraccount_change", args=[store.pk]))

    keys = [key for key, _label, _value in response.context["summary_card"]]
    assert "available" not in keys and "status" in keys


# --- the details section: the longer panels, opened in place from the details page ---

ZH = "zh-hans"
EVERY_SECTION = ["holds", "health", "wallet", "notices", "money"]


def store_urls(store) -> tuple[str, str]:
    return (
        reverse("admin:accounts_selleraccount_change", args=[store.pk]),
        reverse("admin:accounts_selleraccount_details", args=[store.pk]),
    )


def sections(text: str) -> list[str]:
    return re.findall(r'<fieldset class="module aligned" data-section="([a-z]+)">', text)


@pytest.mark.parametrize(
    ("language", "summary", "titles"),
    [
        ("en", "Details: holds, health", ["Holds", "Health", "Promotion wallet", "Notices"]),
        (ZH, "详情：冻结项", ["冻结项", "店铺健康度", "直通车账户", "通知", "资金"]),  # noqa: RUF001
    ],
)
def test_the_store_page_opens_its_details_in_one_click(
    client: Client, language: str, summary: str, titles: list[str]
) -> None:
    store = f.store(name="Sunrise Gadgets")
    f.order(store, status="paid")
    user = f.superuser()
    User.objects.filter(pk=user.pk).update(language=language)
    client.force_login(user)
    change, details = store_urls(store)

    page = client.get(change)
    panels = client.get(details)

    assert page.status_code == 200 and panels.status_code == 200
    assert panels["Content-Language"] == language
    # the change page: a collapsed section that fetches the details page, with a plain link
    assert f'<details class="module store-details" id="store-details" data-src="{details}">' in (
        page.text
    )
    assert f'<a href="{details}">' in page.text and summary in page.text
    assert "backoffice/details.js" in page.text
    assert sections(page.text) == [] and "balance-escrow" not in page.text
    # the details page: every panel the change page used to show, under its translated title
    assert 'id="store-details-panels"' in panels.text
    assert sections(panels.text) == EVERY_SECTION
    for title in titles:
        assert f"<h2>{title}</h2>" in panels.text, title
    assert re.search(r'class="balance-escrow">[^<]*100\.00<', panels.text)
    assert f'<a href="{change}">{store}</a>' in panels.text  # back to the store


def test_the_details_show_each_viewer_the_panels_their_role_allows(client: Client) -> None:
    store = f.store()
    _change, details = store_urls(store)
    seen = {}
    for role in ("support", "risk", "finance"):
        client.force_login(f.staff(role))
        seen[role] = sections(client.get(details).text)

    assert "money" not in seen["support"] and "wallet" not in seen["support"]
    assert "money" in seen["finance"] and "money" in seen["risk"]
    assert all(keys[:2] == ["holds", "health"] for keys in seen.values())


def test_the_details_page_is_for_staff_who_may_see_the_store(client: Client) -> None:
    store = f.store()
    _change, details = store_urls(store)

    anonymous = client.get(details)
    client.force_login(f.seller(store))
    seller = client.get(details)
    client.force_login(f.staff())  # staff without a role
    no_role = client.get(details)
    client.force_login(f.superuser())
    missing = client.get(reverse("admin:accounts_selleraccount_details", args=[store.pk + 999]))

    assert anonymous.status_code == 302 and "/admin/login/" in anonymous.url
    assert seller.status_code == 302 and "/admin/login/" in seller.url
    assert no_role.status_code == 403
    assert missing.status_code == 404


def page_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_the_store_page_and_its_details_query_counts_do_not_grow_with_the_ledger(
    client: Client,
) -> None:
    store = f.store()
    client.force_login(f.superuser())  # every panel
    pages = store_urls(store)
    f.order(store, status="completed")
    [page_queries(client, p) for p in pages]  # warm Django's per-process caches
    few = [page_queries(client, p) for p in pages]

    for _ in range(10):
        f.order(store, status="completed")  # payment, release, commission: entries each
    many = [page_queries(client, p) for p in pages]

    assert LedgerEntry.objects.filter(store=store).count() >= 30
    assert few == many


# --- the history tables: Django's read-only inline cells, without the formsets ---


def django_inline_cells(inline_class: type, request, store) -> list[list[str]]:
    """The cells Django's inline machinery renders for ``inline_class`` on the store's page
    (what readonly_inline.html showed: ``AdminReadonlyField.contents``)."""
    model_admin = admin.site.get_model_admin(SellerAccount)
    inline = inline_class(SellerAccount, admin.site)
    formset = inline.get_formset(request, store)(
        instance=store, queryset=inline.get_queryset(request)
    )
    shown = helpers.InlineAdminFormSet(
        inline,
        formset,
        list(inline.get_fieldsets(request, store)),
        readonly_fields=list(inline.get_readonly_fields(request, store)),
        model_admin=model_admin,
        has_add_permission=False,
        has_change_permission=False,
        has_delete_permission=False,
        has_view_permission=True,
    )
    return [
        [str(field.contents()) for fieldset in form for line in fieldset for field in line]
        for form in shown
    ]


@pytest.mark.parametrize("language", ["en", ZH])
def test_the_history_tables_show_what_djangos_inlines_showed(language: str) -> None:
    from accounts.admin import AccountHistoryInline
    from accounts.services import seller_account_freeze, seller_account_update
    from backoffice.admin_transitions import FieldChangeInline

    rita = f.staff("risk", username="rita")
    store = f.store(name="Lotus Lamps")
    seller_account_freeze(account_id=store.pk, actor=rita, reason="risk", note="line 1\nline 2")
    seller_account_update(account_id=store.pk, actor=rita, name="Lotus <Lights>", note="renamed")
    store.refresh_from_db()
    request = RequestFactory().get("/admin/")
    request.user = f.superuser()
    model_admin = admin.site.get_model_admin(SellerAccount)

    with translation.override(language):
        tables = model_admin.inline_tables(request, store)
        ours = [[[str(cell) for _name, cell in row] for row in t.rows] for t in tables]
        django = [
            django_inline_cells(inline, request, store)
            for inline in (AccountHistoryInline, FieldChangeInline)
        ]

    assert [t.prefix for t in tables] == [
        "history",
        "backoffice-fieldchange-content_type-object_id",
    ]
    assert ours == django
    assert len(ours[0]) >= 1 and len(ours[1]) == 1
    assert "line 1<br>line 2" in ours[0][-1] and "Lotus &lt;Lights&gt;" in ours[1][0]
