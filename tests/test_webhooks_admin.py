"""Webhooks in the admin: staff with the permissions add endpoints (the secret shown once, then
masked), see deliveries with their attempts and send them again; others are refused."""

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.services import seller_account_freeze
from backoffice.composition import webhooks
from backoffice.models import Event, WebhookDelivery, WebhookEndpoint
from tests import factories as f
from tests.accounts.test_admin import post


def integrator(*perms: str):
    user = f.staff()
    for perm in perms:
        user.user_permissions.add(Permission.objects.get(codename=perm))
    return user


def test_staff_with_the_permission_add_an_endpoint_and_see_its_secret_once(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    client.force_login(integrator("add_webhookendpoint", "view_webhookendpoint"))
    response = post(
        client,
        reverse("admin:backoffice_webhookendpoint_add"),
        {"url": "http://127.0.0.1:9/hook", "description": "ERP", "event_types": ["ledger.posted"]},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    hook = WebhookEndpoint.objects.get()
    assert hook.event_types == ["ledger.posted"]
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert hook.secret in shown

    change = reverse("admin:backoffice_webhookendpoint_change", args=[hook.pk])
    assert hook.secret in client.get(change).content.decode()  # the message, this once
    page = client.get(change)
    assert hook.secret not in page.content.decode()
    assert hook.masked_secret in page.content.decode()


def test_the_admin_refuses_a_private_url_in_production_and_staff_without_the_permission(
    client, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    client.force_login(integrator("add_webhookendpoint"))
    url = reverse("admin:backoffice_webhookendpoint_add")
    response = post(client, url, {"url": "https://127.0.0.1/hook"})
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    client.force_login(f.staff("finance"))
    assert client.get(url).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_retry_from_the_deliveries_list(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhooks.endpoint_create(actor=None, url="http://127.0.0.1:9/hook")
    store = f.store()
    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    delivery = WebhookDelivery.objects.get(event__type="store.status_changed")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8)

    client.force_login(integrator("view_webhookdelivery", "change_webhookendpoint"))
    url = reverse("admin:backoffice_webhookdelivery_changelist")
    response = post(client, url, {"action": "retry", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    page = client.get(reverse("admin:backoffice_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200

    viewer = integrator("view_webhookdelivery", "view_event")
    client.force_login(viewer)
    assert b'value="retry"' not in client.get(url).content  # no action without the permission
    event = Event.objects.first()
    assert client.get(reverse("admin:backoffice_event_change", args=[event.pk])).status_code == 200
