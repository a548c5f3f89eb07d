"""Webhooks through GraphQL: staff with the permissions only; sellers see none and make none."""

from django.contrib.auth.models import Permission
from strawberry import relay

from accounts.services import seller_account_freeze
from backoffice.models import WebhookDelivery, WebhookEndpoint
from tests import factories as f
from tests.gql import gid, gql

CREATE = """mutation($input: WebhookEndpointCreateInput!) {
  webhookEndpointCreate(input: $input) {
    ... on WebhookEndpointCreated { secret webhookEndpoint { id url eventTypes secret active } }
    ... on OperationInfo { messages { code field message } }
  }
}"""
LIST = """{ webhookEndpoints { totalCount edges { node { id url storeId
  deliveries { edges { node { id status eventType attempts log { totalCount } } } } } } } }"""
RETRY = """mutation($id: ID!) { webhookDeliveryRetry(input: {id: $id}) {
  ... on WebhookDelivery { status attempts }
  ... on OperationInfo { messages { code } } } }"""
UPDATE = """mutation($id: ID!) { webhookEndpointUpdate(input: {id: $id, active: false}) {
  ... on WebhookEndpoint { active disabledAt }
  ... on OperationInfo { messages { code } } } }"""
DELETE = """mutation($id: ID!) { webhookEndpointDelete(input: {id: $id}) {
  ... on WebhookEndpointDeleted { message }
  ... on OperationInfo { messages { code } } } }"""


def integrator():
    user = f.staff()
    for action in ("view", "add", "change", "delete"):
        user.user_permissions.add(Permission.objects.get(codename=f"{action}_webhookendpoint"))
    return user


def test_staff_with_the_permissions_manage_endpoints_and_retry_deliveries(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    staff, store = integrator(), f.store()
    variables = {
        "input": {
            "url": "http://127.0.0.1:9/hook",
            "eventTypes": ["store.status_changed"],
            "storeId": gid(store),
        }
    }
    made = gql(client, CREATE, variables, user=staff)["data"]["webhookEndpointCreate"]
    hook = WebhookEndpoint.objects.get()
    assert made["secret"] == hook.secret
    assert made["webhookEndpoint"]["secret"] == hook.masked_secret != hook.secret
    assert made["webhookEndpoint"]["eventTypes"] == ["store.status_changed"]

    seller_account_freeze(account_id=store.pk, actor=None, reason="risk")
    listed = gql(client, LIST, user=staff)["data"]["webhookEndpoints"]
    node = listed["edges"][0]["node"]
    assert node["storeId"] == gid(store)
    [delivery] = [e["node"] for e in node["deliveries"]["edges"]]
    assert (delivery["status"], delivery["eventType"]) == ("PENDING", "store.status_changed")
    assert delivery["log"]["totalCount"] == 0

    WebhookDelivery.objects.update(status="failed", attempts=8)
    retried = gql(client, RETRY, {"id": delivery["id"]}, user=staff)["data"]
    assert retried["webhookDeliveryRetry"] == {"status": "PENDING", "attempts": 0}

    endpoint_id = made["webhookEndpoint"]["id"]
    updated = gql(client, UPDATE, {"id": endpoint_id}, user=staff)["data"]
    assert updated["webhookEndpointUpdate"]["active"] is False
    deleted = gql(client, DELETE, {"id": endpoint_id}, user=staff)["data"]
    assert "message" in deleted["webhookEndpointDelete"]
    assert not WebhookEndpoint.objects.exists()


def test_bad_input_is_refused_with_codes(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    staff = integrator()
    for url, types in (("https://127.0.0.1/x", []), ("http://example.com/", [])):
        body = gql(client, CREATE, {"input": {"url": url, "eventTypes": types}}, user=staff)
        messages = body["data"]["webhookEndpointCreate"]["messages"]
        assert [(m["code"], m["field"]) for m in messages] == [("invalid", "url")]
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    body = gql(
        client, CREATE, {"input": {"url": "http://127.0.0.1/", "eventTypes": ["x.y"]}}, user=staff
    )
    messages = body["data"]["webhookEndpointCreate"]["messages"]
    assert [(m["code"], m["field"]) for m in messages] == [("invalid", "eventTypes")]
    assert not WebhookEndpoint.objects.exists()


def test_sellers_and_staff_without_the_permission_see_none_and_make_none(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    store = f.store()
    hook = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", store=store)
    hook_id = relay.to_base64("WebhookEndpoint", hook.pk)
    for user in (f.seller(store), f.staff("finance"), f.staff("support")):
        assert gql(client, LIST, user=user)["data"]["webhookEndpoints"]["totalCount"] == 0
        variables = {"input": {"url": "http://127.0.0.1:9/hook", "storeId": gid(store)}}
        body = gql(client, CREATE, variables, user=user)["data"]["webhookEndpointCreate"]
        assert body["messages"][0]["code"] in {"permission_denied", "not_found"}
        for query in (UPDATE, DELETE):
            body = gql(client, query, {"id": hook_id}, user=user)["data"]
            assert next(iter(body.values()))["messages"][0]["code"] == "not_found"
    assert WebhookEndpoint.objects.get().active is True
    anonymous = gql(client.__class__(), LIST)
    assert anonymous.get("data") is None or not anonymous["data"]["webhookEndpoints"]["edges"]
