"""Calling the GraphQL endpoint the way clients do: over HTTP, with CSRF enforced."""

import json
from typing import Any

from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from strawberry import relay

URL = "/graphql/"


def csrf_pair() -> tuple[str, str]:
    """A CSRF cookie value and a matching (masked) header token, as a browser would hold."""
    request = RequestFactory().get("/")
    token = get_token(request)
    return request.META["CSRF_COOKIE"], token


def post(client: Client, query: str, variables: dict | None = None, **headers: Any):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post(URL, body, content_type="application/json", **headers)


def gql(
    client: Client,
    query: str,
    variables: dict | None = None,
    *,
    user: Any = None,
    token: str | None = None,
) -> dict:
    """Run ``query`` as ``user`` (session + CSRF) or with a bearer ``token``; the JSON body."""
    headers: dict[str, str] = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    else:
        if user is not None:
            client.force_login(user)
        cookie, header = csrf_pair()
        client.cookies["csrftoken"] = cookie
        headers["HTTP_X_CSRFTOKEN"] = header
    response = post(client, query, variables, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def gid(obj: Any) -> str:
    """The relay global ID of a model instance."""
    return relay.to_base64(type(obj).__name__, obj.pk)


# What each mutation returns on success, and the selection asked of it.
OBJECT = {
    "Order": "id status history { from to transition by note }",
    "SellerAccount": "id status history { from to transition by note }",
    "PaymentReminder": "id message sentBy order { nextReminderAt }",
    "ApiToken": "id isActive revokedAt",
    "ApiTokenCreated": "token apiToken { id name isActive }",
    "Payout": (
        "id status currency rate amount { amount currency } payoutAmount { amount currency } "
        "failureReason history { from to transition by note }"
    ),
    "ExchangeRate": "id date currency rateToCny setBy",
    "PromotionMovement": (
        "id kind amount { amount currency } method reference note at recordedBy "
        "store { id status promotion { balance { amount currency } arrearsOwed { amount } "
        "inArrearsSince lowBalanceThreshold { amount } } }"
    ),
    "Dispute": (
        "id status finalRefund { amount currency } returnRequired fault "
        "order { id status } history { from to transition by note } "
        "timeline { from to transition by note amount { amount currency } }"
    ),
}


def returns(mutation: str) -> str:
    special = {
        "orderSendPaymentReminder": "PaymentReminder",
        "apiTokenCreate": "ApiTokenCreated",
        "apiTokenRevoke": "ApiToken",
        "exchangeRateSet": "ExchangeRate",
    }
    if mutation.startswith("payout"):
        return "Payout"
    if mutation in {"promotionTopUp", "promotionCharge", "promotionAdjust"}:
        return "PromotionMovement"
    if mutation.startswith("dispute"):
        return "Dispute"
    return special.get(mutation) or ("Order" if mutation.startswith("order") else "SellerAccount")


def mutate(
    client: Client, name: str, input: dict, *, user: Any = None, token: str | None = None
) -> dict:
    """Run mutation ``name`` with ``input`` (as a variable); its payload."""
    type_name = name[0].upper() + name[1:] + "Input"
    obj = returns(name)
    selection = (
        "__typename ... on OperationInfo { messages { kind message field code } } "
        f"... on {obj} {{ {OBJECT[obj]} }}"
    )
    query = f"mutation($input: {type_name}!) {{ {name}(input: $input) {{ {selection} }} }}"
    body = gql(client, query, {"input": input}, user=user, token=token)
    assert "errors" not in body, body["errors"]
    return body["data"][name]


def codes(payload: dict) -> list[tuple[str | None, str | None]]:
    """``(code, field)`` of each message of an OperationInfo payload."""
    assert payload["__typename"] == "OperationInfo", payload
    return [(m["code"], m["field"]) for m in payload["messages"]]


def error_codes(body: dict) -> list[tuple[str | None, str | None]]:
    """``(code, field)`` of each top-level error."""
    assert body.get("errors"), body
    return [(e["extensions"].get("code"), e["extensions"].get("field")) for e in body["errors"]]
