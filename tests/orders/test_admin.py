"""The orders admin: buttons and bulk actions run the services; nothing else changes state."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order, PaymentReminder, Product
from orders.services import order_send_payment_reminder
from tests import factories as f


def post(client: Client, url: str, data: dict | None = None, **kwargs) -> HttpResponse:
    """POST with the CSRF token, as the browser does (the test client enforces CSRF)."""
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, **kwargs)


def texts(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def transition_url(order: Order, name: str) -> str:
    return reverse("admin:orders_order_transition", args=[order.pk, name])


def change_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


FIELD_CHANGES = "backoffice-fieldchange-content_type-object_id"  # the generic inline's prefix
# The read-only inlines of the order page (history, disputes, reminders, refunds, ledger
# postings) post their empty management forms, as the browser does.
INLINE_MANAGEMENT_FORMS = {
    f"{prefix}-{name}": "0"
    for prefix in (
        "lines",
        "history",
        FIELD_CHANGES,
        "disputes",
        "payment_reminders",
        "refunds",
        "postings",
    )
    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def snapshot(order: Order) -> tuple[str, int]:
    order.refresh_from_db()
    return order.status, order.history.count()


def test_support_sees_buttons_ships_and_the_history_shows_it(client):
    # given a support agent and a paid order
    agent = f.staff("support")
    order = f.order(status="paid")
    client.force_login(agent)

    # when the agent opens the order
    page = client.get(change_url(order))

    # then allowed transitions are enabled and refused ones disabled with their reason
    assert page.status_code == 200
    buttons = {b.name: b for b in page.context["object_buttons"]}
    assert list(buttons) == ["pay", "ship", "confirm", "cancel"]
    assert buttons["ship"].allowed and buttons["cancel"].allowed
    assert not buttons["confirm"].allowed
    assert buttons["confirm"].reason == "Not possible while the order is Paid."
    assert 'title="Not possible while the order is Paid."' in page.text
    assert "disabled" in page.text

    # when the agent ships with a carrier and a tracking number
    response = post(
        client,
        transition_url(order, "ship"),
        {"carrier": "Cainiao", "tracking_number": "LP999CN", "_apply": "1"},
    )

    # then the order is shipped through the service, audited under the agent's name
    assert response.status_code == 302 and response.url == change_url(order)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "Cainiao", "LP999CN")
    assert texts(response) == [f"Ship: done for Order {order.order_number}. It is now shipped."]
    row = order.history.get(transition="ship")
    assert (row.actor, row.source, row.target) == (agent, "paid", "shipped")
    page = client.get(change_url(order))
    assert "Paid → Shipped" in page.text and agent.username in page.text
    assert "Cainiao LP999CN" in page.text


def test_a_refused_transition_shows_its_reason_and_changes_nothing(client):
    client.force_login(f.staff("support"))
    order = f.order(status="unpaid")
    before = snapshot(order)

    response = post(client, transition_url(order, "confirm"))

    assert response.status_code == 302
    assert texts(response) == ["Not possible while the order is Unpaid."]
    assert snapshot(order) == before


def test_a_user_without_the_permission_is_refused_by_the_service(client):
    # finance may view orders but not move them: no buttons, and a forged post is refused
    client.force_login(f.staff("finance"))
    order = f.order(status="paid")
    before = snapshot(order)

    page = client.get(change_url(order))
    response = post(
        client,
        transition_url(order, "ship"),
        {"carrier": "Cainiao", "tracking_number": "LP1", "_apply": "1"},
    )

    assert page.context["object_buttons"] == []
    assert texts(response) == ["You do not have permission to do this."]
    assert snapshot(order) == before


def test_unknown_or_unlisted_transition_names_are_404(client):
    client.force_login(f.superuser())
    order = f.order(status="paid")

    assert post(client, transition_url(order, "explode")).status_code == 404
    # a real transition that the admin does not offer (disputes own it)
    assert post(client, transition_url(order, "open_dispute")).status_code == 404
    assert snapshot(order) == ("paid", 1)


def test_get_shows_the_form_and_changes_nothing(client):
    client.force_login(f.staff("support"))
    order = f.order(status="paid")
    before = snapshot(order)

    response = client.get(transition_url(order, "ship"))

    assert response.status_code == 200
    assert "Tracking number" in response.text and 'name="_apply"' in response.text
    assert snapshot(order) == before


def test_the_button_post_without_input_shows_the_form_then_errors_keep_it(client):
    client.force_login(f.staff("support"))
    order = f.order(status="paid")
    before = snapshot(order)

    shown = post(client, transition_url(order, "ship"))
    invalid = post(client, transition_url(order, "ship"), {"carrier": "Cainiao", "_apply": "1"})

    assert shown.status_code == 200 and "Carrier" in shown.text
    assert invalid.status_code == 200 and "This field is required." in invalid.text
    assert snapshot(order) == before


def test_get_of_a_refused_transition_explains_and_redirects(client):
    client.force_login(f.staff("support"))
    order = f.order(status="unpaid")

    response = client.get(transition_url(order, "ship"))

    assert response.status_code == 302
    assert texts(response) == ["Not possible while the order is Unpaid."]


def test_posting_without_csrf_token_is_forbidden(client):
    client.force_login(f.staff("support"))
    order = f.order(status="paid")

    response = client.post(transition_url(order, "confirm"))

    assert response.status_code == 403
    assert snapshot(order) == ("paid", 1)


def test_cancel_out_of_stock_refunds_and_delists_the_product(client):
    agent = f.staff("support")
    client.force_login(agent)
    account = f.store()
    product = Product.objects.create(store=account, sku="SKU1", title="Lamp")
    order = f.order(account, status="paid", product_id=product.pk)

    response = post(
        client,
        transition_url(order, "cancel"),
        {
            "reason": "out_of_stock",
            "delist_product": "on",
            "note": "supplier gone",
            "_apply": "1",
            "_confirm": "1",  # cancelling a paid order moves money: confirmed
        },
    )

    order.refresh_from_db()
    product.refresh_from_db()
    assert (order.status, order.end_reason) == ("refunded", "out_of_stock")
    assert not product.listed
    assert order.history.get(transition="cancel").note == "supplier gone"
    assert texts(response) == [f"Cancel: done for Order {order.order_number}. It is now refunded."]


def test_cancel_form_errors_from_the_service_change_nothing(client):
    client.force_login(f.staff("support"))
    order = f.order(status="paid")
    before = snapshot(order)

    response = post(
        client,
        transition_url(order, "cancel"),
        {"reason": "buyer_cancel", "delist_product": "on", "note": "asked", "_apply": "1"},
    )
    refused = post(
        client,
        transition_url(order, "cancel"),
        {
            "reason": "buyer_cancel",
            "delist_product": "on",
            "note": "asked",
            "_apply": "1",
            "_confirm": "1",
        },
    )

    # the confirmation first; confirmed, the refusal comes back beside its field, input kept
    assert response.context["effect"]
    form = refused.context["form"]
    assert form.errors["delist_product"] == [
        "Only an out-of-stock cancellation delists the product."
    ]
    assert form["note"].value() == "asked"
    assert snapshot(order) == before


def test_payment_reminder_button_sends_once_per_interval(client):
    agent = f.staff("support")
    client.force_login(agent)
    order = f.order(status="unpaid")

    page = client.get(change_url(order))
    first = post(client, transition_url(order, "send_payment_reminder"))
    second_page = client.get(change_url(order))
    second = post(client, transition_url(order, "send_payment_reminder"))

    assert {b.name: b.allowed for b in page.context["object_buttons"]}["send_payment_reminder"]
    assert texts(first) == [f"Send payment reminder: done for Order {order.order_number}."]
    reminder = PaymentReminder.objects.get(order=order)
    assert reminder.sent_by == agent and order.order_number in reminder.message
    refused = {b.name: b for b in second_page.context["object_buttons"]}["send_payment_reminder"]
    assert not refused.allowed and "next one can go at" in refused.reason
    assert "less than 24 hours ago" in texts(second)[0]
    assert PaymentReminder.objects.filter(order=order).count() == 1


def test_no_reminder_button_for_paid_orders(client):
    client.force_login(f.staff("support"))
    order = f.order(status="paid")

    page = client.get(change_url(order))

    assert "send_payment_reminder" not in {b.name for b in page.context["object_buttons"]}


def changelist_action(client: Client, action: str, orders: list[Order]) -> HttpResponse:
    """Run a bulk action; one that moves money is posted as confirmed, with a note."""
    return post(
        client,
        reverse("admin:orders_order_changelist"),
        {
            "action": action,
            "_selected_action": [o.pk for o in orders],
            "index": "0",
            "_confirm": "1",
            "note": "the buyer asked by e-mail",
        },
    )


def test_bulk_mark_paid_moves_allowed_orders_and_reports_the_others(client):
    client.force_login(f.staff("support"))
    unpaid = [f.order(status="unpaid") for _ in range(2)]
    shipped = f.order(status="shipped")
    untouched = f.order(status="unpaid")

    response = changelist_action(client, "bulk_pay", [*unpaid, shipped])

    assert response.status_code == 302
    assert texts(response) == [
        "Mark paid: 2 done, 1 refused.",
        f"Order {shipped.order_number}: Not possible while the order is Shipped.",
    ]
    assert [snapshot(o)[0] for o in unpaid] == ["paid", "paid"]
    assert snapshot(shipped) == ("shipped", 2)
    assert snapshot(untouched) == ("unpaid", 0)


def test_bulk_cancel_for_buyer_request_and_confirm(client):
    client.force_login(f.staff("support"))
    unpaid, paid, completed = (f.order(status=s) for s in ("unpaid", "paid", "completed"))
    shipped = f.order(status="shipped")

    cancel = changelist_action(client, "bulk_cancel", [unpaid, paid, completed])
    confirm = changelist_action(client, "bulk_confirm", [shipped])

    assert [snapshot(o)[0] for o in (unpaid, paid, completed)] == [
        "cancelled",
        "refunded",
        "completed",
    ]
    assert texts(cancel)[:2] == [
        "Cancel: 2 done, 1 refused.",
        f"Order {completed.order_number}: Not possible while the order is Completed.",
    ]
    assert snapshot(shipped)[0] == "completed"
    assert "Confirm receipt: 1 done, 0 refused." in texts(confirm)


def test_bulk_payment_reminders_report_recent_ones(client):
    agent = f.staff("support")
    client.force_login(agent)
    fresh, recent = f.order(status="unpaid"), f.order(status="unpaid")
    order_send_payment_reminder(order_id=recent.pk, actor=None)

    response = changelist_action(client, "bulk_send_payment_reminder", [fresh, recent])

    messages = texts(response)
    assert messages[0] == "Send payment reminder: 1 done, 1 refused."
    assert messages[1].startswith(f"Order {recent.order_number}: A reminder was sent less than")
    assert PaymentReminder.objects.filter(order=fresh, sent_by=agent).count() == 1
    assert PaymentReminder.objects.filter(order=recent).count() == 1


def test_bulk_actions_need_the_permission(client):
    client.force_login(f.staff("finance"))
    order = f.order(status="unpaid")

    page = client.get(reverse("admin:orders_order_changelist"))
    response = changelist_action(client, "bulk_pay", [order])

    assert "bulk_pay" not in page.text
    # not offered, so not run: finance's only action here is the export
    assert response.status_code == 302 and texts(response) == ["No action selected."]
    assert snapshot(order) == ("unpaid", 0)


def test_changelist_with_search_filters_and_date_hierarchy_renders(client):
    client.force_login(f.staff("support"))
    order = f.order(status="shipped")
    url = reverse("admin:orders_order_changelist")

    for query in (
        "",
        f"?q={order.order_number}",
        "?q=Ana",
        "?q=LP001CN",
        f"?q={order.store.platform_store_id}",
        f"?status__exact=shipped&protected__exact=0&payment_method__exact=credit_card"
        f"&store__id__exact={order.store_id}",
        "?placed_at__year=2026&placed_at__month=3",
    ):
        response = client.get(url + query)
        assert response.status_code == 200, query
        assert order.order_number in response.text, query


def test_date_hierarchy_offers_the_periods_that_have_orders(client):
    """The hierarchy's periods are counted (backoffice/admin_periods.py), not truncated row by
    row: the same links as Django's, at every level, and none for an empty period."""
    client.force_login(f.staff("support"))
    store = f.store()
    for year, month, day in ((2025, 12, 30), (2026, 3, 1), (2026, 3, 31), (2026, 5, 2)):
        f.order(store, at=datetime(year, month, day, 12, tzinfo=UTC))
    url = reverse("admin:orders_order_changelist")

    years = client.get(url).text
    months = client.get(url + "?placed_at__year=2026").text
    days = client.get(url + "?placed_at__year=2026&placed_at__month=3").text

    assert "placed_at__year=2025" in years and "placed_at__year=2026" in years
    assert "placed_at__year=2024" not in years
    assert "placed_at__month=3" in months and "placed_at__month=5" in months
    assert "placed_at__month=4" not in months and "placed_at__month=12" not in months
    assert "placed_at__day=1" in days and "placed_at__day=31" in days
    assert "placed_at__day=2" not in days and "placed_at__day=30" not in days


def changelist_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:orders_order_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_rows(client):
    client.force_login(f.staff("support"))
    for _ in range(10):
        f.order(status="paid")
    ten = changelist_queries(client)

    for _ in range(40):
        f.order(status="paid")
    fifty = changelist_queries(client)

    assert Order.objects.count() == 50
    assert ten == fifty


def test_change_page_query_count_does_not_grow_with_history(client):
    client.force_login(f.staff("support"))
    short, long = f.order(status="paid"), f.order(status="completed")

    def queries(order: Order) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(change_url(order)).status_code == 200
        return len(captured)

    queries(short)  # warm Django's per-process caches (content types) first
    assert queries(short) == queries(long)


def test_status_is_never_a_form_field_and_edits_save_only_changed_fields(client):
    admin_user = f.superuser()
    client.force_login(admin_user)
    order = f.order(status="paid")
    page = client.get(change_url(order))
    # a concurrent transition after the page was loaded must survive the edit
    Order.objects.filter(pk=order.pk).update(status="shipped", shipped_at=order.paid_at)

    response = post(
        client,
        change_url(order),
        {
            "buyer_name": "Ana Lima",
            "buyer_country": "BR",
            "product": "",
            "product_info": "",
            "status": "cancelled",
            **INLINE_MANAGEMENT_FORMS,
        },
    )

    assert "status" not in page.context["adminform"].form.fields
    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert (order.buyer_name, order.status) == ("Ana Lima", "shipped")


def test_product_must_belong_to_the_orders_store(client):
    client.force_login(f.superuser())
    order = f.order(status="paid")
    other = Product.objects.create(store=f.store(), sku="X", title="Other store's")

    response = post(
        client,
        change_url(order),
        {
            "buyer_name": "Ana",
            "buyer_country": "BR",
            "product": other.pk,
            "product_info": "",
            **INLINE_MANAGEMENT_FORMS,
        },
    )

    assert response.status_code == 200
    assert "Choose a product of this order" in response.text
    order.refresh_from_db()
    assert order.product_id is None


def test_add_creates_the_order_through_the_service(client):
    client.force_login(f.superuser())
    account = f.store()
    url = reverse("admin:orders_order_add")

    page = client.get(url)
    bad = post(client, url, {"store": account.pk, "order_number": "12AB", "amount": "10.00"})
    good = post(
        client,
        url,
        {
            "store": account.pk,
            "order_number": "1234567",
            "amount": "25.50",
            "buyer_name": "Ana",
            "placed_at_0": "2026-03-01",
            "placed_at_1": "10:00:00",
        },
    )

    assert page.status_code == 200
    assert bad.status_code == 200 and "The order number is a string of up to 20 digits" in bad.text
    order = Order.objects.get(order_number="1234567")
    assert good.status_code == 302 and good.url == change_url(order)
    assert (order.status, str(order.amount), order.store) == ("unpaid", "25.50", account)
    assert order.placed_at == f.T0 - timedelta(hours=2)


def test_add_into_a_closed_store_is_refused(client):
    client.force_login(f.superuser())
    closed = f.store(status="closed")

    response = post(
        client,
        reverse("admin:orders_order_add"),
        {"store": closed.pk, "order_number": "77", "amount": "5"},
    )

    assert response.status_code == 200 and "A closed store takes no new orders." in response.text
    assert not Order.objects.filter(order_number="77").exists()


def test_support_cannot_add_or_delete_orders(client):
    client.force_login(f.staff("support"))
    order = f.order()

    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    assert client.get(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403


def test_payment_reminder_and_product_admins_render(client):
    client.force_login(f.staff("support"))
    order = f.order(status="unpaid")
    order_send_payment_reminder(order_id=order.pk, actor=None)
    Product.objects.create(store=order.store, sku="S1", title="Mug")

    reminders = client.get(
        reverse("admin:orders_paymentreminder_changelist") + "?q=" + order.order_number
    )
    products = client.get(reverse("admin:orders_product_changelist") + "?q=Mug")

    assert reminders.status_code == 200 and order.order_number in reminders.text
    assert products.status_code == 200 and "Mug" in products.text


# --- parcels and orders priced in CNY ---

PARCELS = [
    {"carrier": "Cainiao", "tracking_number": "LP001CN"},
    {"carrier": "YunExpress", "tracking_number": "YT2600000002"},
]


def cny_order_in_two_parcels() -> Order:
    """A shipped order as the platform's CNY export leaves it: two parcels, priced CN¥ 1,234.56
    and held in USD at 7.18."""
    order = f.order(status="shipped", amount="171.94")
    Order.objects.filter(pk=order.pk).update(
        parcels=PARCELS,
        original_amount=Decimal("1234.56"),
        original_currency="CNY",
        conversion_rate=Decimal("7.18"),
    )
    order.refresh_from_db()
    return order


def test_the_order_page_shows_every_parcel_and_the_cny_price():
    client = Client()
    client.force_login(f.staff("support"))
    order = cny_order_in_two_parcels()

    page = client.get(change_url(order))

    assert page.status_code == 200
    assert "Cainiao: LP001CN<br>YunExpress: YT2600000002" in page.text
    assert "USD 171.94 (CN¥ 1,234.56 at 7.180000 CNY/USD)" in page.text


def test_the_order_page_of_a_usd_order_shows_its_amount_alone():
    client = Client()
    client.force_login(f.staff("support"))
    order = f.order(status="shipped", amount="23.10")

    page = client.get(change_url(order))

    assert "USD 23.10</div>" in page.text and "CNY/USD" not in page.text
    assert "Cainiao: LP001CN" in page.text


def test_the_order_list_finds_an_order_by_any_parcels_tracking_number():
    client = Client()
    client.force_login(f.staff("support"))
    order = cny_order_in_two_parcels()
    other = f.order(status="shipped")  # its one parcel is LP001CN, not YT2600000002

    found = client.get(reverse("admin:orders_order_changelist") + "?q=yt2600000002")

    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == [order]
    assert other.order_number not in found.text
