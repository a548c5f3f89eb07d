"""English and Simplified Chinese: each person reads the back-office, the API's messages, import
errors and notice e-mails in their language; codes, states and exports do not change."""

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from procrastinate import testing
from procrastinate.contrib.django import app as queue_app

from accounts.models import SellerAccount, User
from accounts.notices import send_due_emails
from accounts.services import seller_account_freeze
from backoffice.money import display_money
from orders.models import Order
from tests import factories as f
from tests.gql import codes, gid, gql, mutate
from tests.imports.test_admin_import import signed_in as importer
from tests.imports.test_admin_import import upload
from tests.test_exports import export, rows

ZH = "zh-hans"


def speaking(user: User, language: str) -> User:
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()
    return user


def signed_in(user: User, **headers: str) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


# --- the admin ---


@pytest.mark.parametrize(
    ("language", "words", "absent"),
    [
        ("en", ["Orders", "Confirm receipt of selected orders", "Unpaid"], "订单"),
        (ZH, ["订单", "确认所选订单收货", "待付款", "卖家后台"], "Confirm receipt of selected"),
    ],
)
def test_the_admin_speaks_the_users_language(language, words, absent):
    f.order(status="unpaid")
    user = speaking(f.superuser(), language)

    page = signed_in(user).get(reverse("admin:orders_order_changelist"))

    assert page.status_code == 200
    assert page["Content-Language"] == language
    for word in words:
        assert word in page.text
    assert absent not in page.text


def test_without_a_saved_language_the_browser_chooses():
    user = f.superuser()

    chinese = signed_in(user, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8")
    english = signed_in(user, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert "卖家后台" in chinese.get(reverse("admin:index")).text
    assert "Seller back-office" in english.get(reverse("admin:index")).text


def test_the_switcher_saves_the_users_choice_over_the_browsers():
    user = f.superuser()
    client = signed_in(user, HTTP_ACCEPT_LANGUAGE="en")
    assert 'id="language-switcher"' in client.get(reverse("admin:index")).text

    response = client.post(reverse("set_language"), {"language": ZH, "next": "/admin/"})

    assert response.status_code == 302 and response.url == "/admin/"
    user.refresh_from_db()
    assert user.language == ZH
    again = signed_in(user, HTTP_ACCEPT_LANGUAGE="en")  # another browser, asking for English
    assert "卖家后台" in again.get(reverse("admin:index")).text


def test_the_switcher_refuses_an_unknown_language():
    user = f.superuser()

    signed_in(user).post(reverse("set_language"), {"language": "xx", "next": "/admin/"})

    user.refresh_from_db()
    assert user.language == ""


def test_money_and_dates_follow_the_locale_in_the_admin():
    order = f.order(status="unpaid", amount="1234.50")
    change = reverse("admin:orders_order_change", args=[order.pk])
    changelist = reverse("admin:orders_order_changelist")
    english, chinese = (
        signed_in(speaking(f.superuser(), "en")),
        signed_in(speaking(f.superuser(), ZH)),
    )
    placed = timezone.localtime(order.placed_at)
    chinese_date = f"{placed.year}年{placed.month}月{placed.day}日"

    assert "USD 1,234.50" in english.get(change).text  # English keeps the ISO code
    assert "US$1,234.50" in chinese.get(change).text
    assert chinese_date in chinese.get(changelist).text
    assert chinese_date not in english.get(changelist).text


def test_amounts_are_written_with_the_readers_signs():
    with translation.override(ZH):
        assert display_money(Decimal("-1860.4"), "CNY") == "-CN￥1,860.40"
        assert display_money(Decimal("12"), "USD", signed=True) == "+US$12.00"
    with translation.override("en"):
        assert display_money(Decimal("-1860.4"), "CNY") == "CNY -1,860.40"


def test_exports_keep_iso_times_and_plain_amounts_in_chinese():
    f.order(status="shipped", amount="1234.50")
    client = Client(enforce_csrf_checks=True)
    client.force_login(speaking(f.staff("finance"), ZH))

    (row,) = rows(export(client, Order, "csv"), "csv")

    assert row["Order Amount"] == "1234.50"
    assert row["Order Time (UTC)"] == "2026-03-01T12:00:00Z"
    assert row["Currency"] == "USD"


# --- GraphQL ---


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Not possible while the order is Unpaid."), (ZH, "订单处于“待付款”状态时不能执行。")],
)
def test_a_refused_transitions_reason_is_in_the_users_language(client, language, expected):
    order = f.order(status="unpaid")

    payload = mutate(
        client, "orderConfirmReceipt", {"id": gid(order)}, user=speaking(f.superuser(), language)
    )

    assert codes(payload) == [("invalid_transition", None)]  # the code never changes
    assert [m["message"] for m in payload["messages"]] == [expected]


def test_graphql_messages_follow_accept_language_when_the_user_chose_none(client):
    order = f.order(status="unpaid")
    user = f.superuser()

    chinese = mutate(
        Client(HTTP_ACCEPT_LANGUAGE="zh-Hans"),
        "orderConfirmReceipt",
        {"id": gid(order)},
        user=user,
    )
    english = mutate(
        Client(HTTP_ACCEPT_LANGUAGE="en"), "orderConfirmReceipt", {"id": gid(order)}, user=user
    )

    assert codes(chinese) == codes(english) == [("invalid_transition", None)]
    assert chinese["messages"][0]["message"] == "订单处于“待付款”状态时不能执行。"
    assert english["messages"][0]["message"] == "Not possible while the order is Unpaid."


# --- notices and their e-mails ---


def test_each_recipient_reads_the_notice_e_mail_in_their_language():
    store = f.store()
    zh = speaking(f.seller(store), ZH)
    en = speaking(f.seller(store), "en")
    fallback = f.seller(store)  # no language: the store's (none: LANGUAGE_CODE, English)
    for user, address in ((zh, "zh@example.com"), (en, "en@example.com"), (fallback, "x@e.com")):
        User.objects.filter(pk=user.pk).update(email=address)

    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    send_due_emails(timezone.now())

    sent = {message.to[0]: message for message in mail.outbox}
    assert sent["zh@example.com"].subject == f"[{store.name}] 您的店铺已被冻结"
    assert sent["zh@example.com"].body.startswith("原因\uff1a风控审核。直通车推广暂停")
    assert "风控团队的审核" in sent["zh@example.com"].body
    assert sent["en@example.com"].subject == f"[{store.name}] Your store is frozen"
    assert sent["en@example.com"].body.startswith("Reason: Risk review. Promotions stop")
    assert sent["x@e.com"].subject == f"[{store.name}] Your store is frozen"


def test_users_without_a_language_read_the_stores():
    store = f.store()
    SellerAccount.objects.filter(pk=store.pk).update(language=ZH)
    user = f.seller(store)
    User.objects.filter(pk=user.pk).update(email="owner@example.com")

    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    send_due_emails(timezone.now())

    (message,) = mail.outbox
    assert message.subject == f"[{store.name}] 您的店铺已被冻结"
    notice = store.notices.get()
    assert notice.title == "您的店铺已被冻结"  # as the store reads it
    assert notice.text_in("en")[0] == "Your store is frozen"


# --- imports ---


@pytest.mark.parametrize(
    ("language", "first_error", "verdict"),
    [
        ("en", "line 3: Order No.: scientific notation: digits lost", "nothing can be imported"),
        (ZH, "第 3 行\uff1aOrder No.\uff1a科学计数法\uff1a数字已丢失", "无法导入任何内容"),
    ],
)
def test_import_errors_are_in_the_uploaders_language(
    settings, tmp_path, language, first_error, verdict
):
    settings.MEDIA_ROOT = str(tmp_path)
    client = importer()
    uploader = User.objects.get(pk=client.session["_auth_user_id"])
    speaking(uploader, language)

    with queue_app.replace_connector(testing.InMemoryConnector()):
        page = upload(client, "orders-bad.csv")

    assert page.context["errors"][0] == first_error
    assert verdict in page.text


NOTICES = """{ sellerAccounts(first: 5) { edges { node {
    notices(first: 5) { edges { node { title } } } } } } }"""


@pytest.mark.parametrize(
    ("language", "title"), [("en", "Your store is frozen"), (ZH, "您的店铺已被冻结")]
)
def test_the_api_shows_a_notice_in_the_readers_language(client, language, title):
    store = f.store()
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")

    body = gql(client, NOTICES, user=speaking(f.seller(store), language))

    (account,) = body["data"]["sellerAccounts"]["edges"]
    assert [n["node"]["title"] for n in account["node"]["notices"]["edges"]] == [title]
