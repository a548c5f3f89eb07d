"""Signing in the way a front-end does: GET /auth/csrf/, then session POSTs with X-CSRFToken."""

from typing import Any

from django.test import Client

from tests.gql import post

PAYLOAD = "__typename ... on OperationInfo { messages { kind message field code } }"
USER = "... on User { username isStaff roles store { name } }"
DONE = "... on Done { message }"

LOGIN = f"""
mutation($input: LoginInput!) {{ login(input: $input) {{ {PAYLOAD} {USER} }} }}
"""
LOGOUT = f"mutation {{ logout {{ {PAYLOAD} {DONE} }} }}"
ME = "{ me { username isStaff store { name } } }"


def browser(**kwargs: Any) -> Client:
    """A client that enforces CSRF and holds the cookie handed out by GET /auth/csrf/."""
    client = Client(enforce_csrf_checks=True, **kwargs)
    response = client.get("/auth/csrf/")
    assert response.status_code == 200 and "csrftoken" in client.cookies
    return client


def session_gql(client: Client, query: str, variables: dict | None = None, **headers) -> dict:
    """A session POST with the CSRF token of the client's current cookie."""
    token = client.cookies["csrftoken"].value
    response = post(client, query, variables, HTTP_X_CSRFTOKEN=token, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def login(client: Client, username: str, password: str = "pw", **headers) -> dict:
    """The ``login`` payload."""
    variables = {"input": {"username": username, "password": password}}
    body = session_gql(client, LOGIN, variables, **headers)
    assert "errors" not in body, body
    return body["data"]["login"]


def me(client: Client) -> dict | None:
    return session_gql(client, ME)["data"]["me"]


def refusal(payload: dict) -> tuple[str, str | None, str]:
    """``(code, field, message)`` of a one-message OperationInfo."""
    assert payload["__typename"] == "OperationInfo", payload
    (message,) = payload["messages"]
    return message["code"], message["field"], message["message"]
