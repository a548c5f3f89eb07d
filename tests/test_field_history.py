"""Field-level history: a person's change of a store's or an order's fields is recorded with
the old and new values and who, through the update services, and shown in GraphQL (`changes`)
and on the admin change page (issue 13)."""

from django.urls import reverse

from accounts.models import SellerAccount
from backoffice.models import FieldChange
from orders.models import Order, Product
from tests import factories as f
from tests.accounts.test_admin import INLINE_MANAGEMENT_FORMS as STORE_INLINES
from tests.accounts.test_admin import post
from tests.gql import gid, gql
from tests.orders.test_admin import INLINE_MANAGEMENT_FORMS as ORDER_INLINES

CHANGES = """query($id: ID!) { node(id: $id) {
  ... on SellerAccount { name changes { field old new by at note } }
  ... on Order { changes { field old new by } }
} }"""


def store_form(account: SellerAccount, **data: str) -> dict[str, str]:
    return {
        "name": account.name,
        "settlement_currency": account.settlement_currency,
        "opened_at_0": account.opened_at.strftime("%Y-%m-%d"),
        "opened_at_1": account.opened_at.strftime("%H:%M:%S"),
        "commission_rate": "" if account.commission_rate is None else str(account.commission_rate),
        **STORE_INLINES,
        **data,
    }


def store_url(account: SellerAccount) -> str:
    return reverse("admin:accounts_selleraccount_change", args=[account.pk])


def changes(client, obj, user) -> list[dict]:
    body = gql(client, CHANGES, {"id": gid(obj)}, user=user)
    assert "errors" not in body, body["errors"]
    return body["data"]["node"]["changes"]


def test_admin_save_of_a_store_name_records_old_new_and_who(client):
    officer = f.staff("risk", username="rita")
    account = f.store(name="Lotus Lamps", settlement_currency="USD")
    client.force_login(officer)

    response = post(
        client,
        store_url(account),
        store_form(account, name="Lotus Lights", settlement_currency="CNY"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert (account.name, account.settlement_currency) == ("Lotus Lights", "CNY")
    rows = FieldChange.objects.order_by("field")
    assert [(r.field, r.old_value, r.new_value, r.actor) for r in rows] == [
        ("name", "Lotus Lamps", "Lotus Lights", officer),
        ("settlement_currency", "USD", "CNY", officer),
    ]
    seen = changes(client, account, officer)
    assert [(c["field"], c["old"], c["new"], c["by"]) for c in seen] == [
        ("name", "Lotus Lamps", "Lotus Lights", "rita"),
        ("settlement_currency", "USD", "CNY", "rita"),
    ]
    page = client.get(store_url(account))
    assert "Lotus Lamps" in page.text and "field changes" in page.text.lower()


def test_a_save_without_changes_records_nothing(client):
    client.force_login(f.staff("risk"))
    account = f.store(name="Lotus Lamps")
    before = SellerAccount.objects.get(pk=account.pk).updated_at

    response = post(client, store_url(account), store_form(account))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert FieldChange.objects.count() == 0
    assert SellerAccount.objects.get(pk=account.pk).updated_at == before


def test_a_name_the_service_refuses_shows_on_the_form_and_records_nothing(client):
    client.force_login(f.staff("risk"))
    account = f.store(name="Lotus Lamps")

    response = post(client, store_url(account), store_form(account, name="Bad\x07name"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    account.refresh_from_db()
    assert account.name == "Lotus Lamps"
    assert FieldChange.objects.count() == 0


def test_admin_save_of_an_order_records_each_changed_field(client):
    admin_user = f.superuser()
    client.force_login(admin_user)
    order = f.order(status="paid", buyer_name="Ana Souza")
    product = Product.objects.create(store=order.store, sku="LAMP-1", title="Lamp")

    response = post(
        client,
        reverse("admin:orders_order_change", args=[order.pk]),
        {
            "buyer_name": "Ana Lima",
            "buyer_country": "BR",
            "product": product.pk,
            "product_info": "",
            **ORDER_INLINES,
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Order.objects.get(pk=order.pk).product == product
    seen = changes(client, order, admin_user)
    assert [(c["field"], c["old"], c["new"], c["by"]) for c in seen] == [
        ("buyer_name", "Ana Souza", "Ana Lima", admin_user.username),
        ("product", "", f"{product} (#{product.pk})", admin_user.username),
    ]
