"""Signing in and out on the session through GraphQL, the CSRF hand-out, the sign-in page."""

import pytest
from django.test import Client

from accounts.services import api_token_create
from tests import factories as f
from tests.accounts.signin import LOGIN, LOGOUT, browser, login, me, refusal, session_gql
from tests.gql import post

WRONG = "Wrong username or password."


def test_a_seller_signs_in_and_the_session_is_theirs():
    seller = f.seller(f.store(name="Sunrise"), username="sunny")
    client = browser()
    token_before = client.cookies["csrftoken"].value

    payload = login(client, "sunny")

    assert payload == {
        "__typename": "User",
        "username": "sunny",
        "isStaff": False,
        "roles": [],
        "store": {"name": "Sunrise"},
    }
    assert client.cookies["csrftoken"].value != token_before  # the CSRF token was rotated
    assert me(client)["username"] == seller.username


def test_signing_in_renews_the_session_key():
    f.seller(f.store(), username="sunny")
    f.seller(f.store(), username="other")
    client = browser()
    anonymous = client.session  # a session from before signing in (session fixation)
    anonymous["seen"] = True
    anonymous.save()

    login(client, "sunny")
    signed_in = client.cookies["sessionid"].value
    login(client, "other")

    assert anonymous.session_key != signed_in != client.cookies["sessionid"].value
    assert me(client)["username"] == "other"


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "inactive user"])
def test_a_refused_sign_in_does_not_say_why(case):
    user = f.seller(f.store(), username="sunny")
    if case == "inactive user":
        user.is_active = False
        user.save(update_fields=["is_active"])
    username, password = {
        "wrong password": ("sunny", "nope"),
        "unknown user": ("nobody", "pw"),
        "inactive user": ("sunny", "pw"),
    }[case]
    client = browser()

    payload = login(client, username, password)

    assert refusal(payload) == ("permission_denied", None, WRONG)
    assert me(client) is None


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("", "pw", "username"),
        ("sunny", "", "password"),
        ("x" * 151, "pw", "username"),
        ("sun\x00ny", "pw", "username"),
        ("sun\u202eny", "pw", "username"),
    ],
)
def test_sign_in_input_out_of_bounds_is_invalid_with_the_field(username, password, field):
    f.seller(f.store(), username="sunny")
    payload = login(browser(), username, password)
    assert refusal(payload)[:2] == ("invalid", field)


def test_a_session_post_without_the_csrf_token_is_a_json_403():
    f.seller(f.store(), username="sunny")
    client = browser()
    variables = {"input": {"username": "sunny", "password": "pw"}}

    response = post(client, LOGIN, variables)  # cookie, but no X-CSRFToken header

    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "permission_denied"
    assert "/auth/csrf/" in error["message"]
    assert me(client) is None


def test_the_csrf_endpoint_and_graphql_get_hand_out_the_cookie():
    client = Client(enforce_csrf_checks=True)
    response = client.get("/auth/csrf/")
    assert response.status_code == 200 and response.json()["csrfToken"]
    assert response["Cache-Control"].startswith("max-age=0")
    assert "csrftoken" in client.cookies

    other = Client(enforce_csrf_checks=True)
    other.get("/graphql/")
    assert "csrftoken" in other.cookies


def test_logout_ends_the_session():
    f.seller(f.store(), username="sunny")
    client = browser()
    login(client, "sunny")

    body = session_gql(client, LOGOUT)

    assert body["data"]["logout"] == {"__typename": "Done", "message": "Signed out."}
    assert me(client) is None


@pytest.mark.parametrize("operation", ["login", "logout"])
def test_bearer_requests_cannot_sign_in_or_out(client, operation):
    user = f.seller(f.store(), username="sunny")
    _, plaintext = api_token_create(actor=user, name="script")
    query, variables = (
        (LOGIN, {"input": {"username": "sunny", "password": "pw"}})
        if operation == "login"
        else (LOGOUT, None)
    )

    response = post(client, query, variables, HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    payload = response.json()["data"][operation]
    code, _field, message = refusal(payload)
    assert code == "permission_denied" and "API token" in message
    assert "sessionid" not in response.cookies


def test_a_seller_signs_in_then_creates_a_token_and_uses_it_as_bearer(client):
    f.seller(f.store(name="Sunrise"), username="sunny")
    browser_client = browser()
    login(browser_client, "sunny")
    create = (
        'mutation { apiTokenCreate(input: {name: "laptop"}) { __typename '
        "... on ApiTokenCreated { token apiToken { name isActive } } } }"
    )

    created = session_gql(browser_client, create)["data"]["apiTokenCreate"]

    assert created["apiToken"] == {"name": "laptop", "isActive": True}
    response = post(
        client,
        "{ me { username store { name } } }",
        HTTP_AUTHORIZATION=f"Bearer {created['token']}",
    )
    assert response.json()["data"]["me"] == {"username": "sunny", "store": {"name": "Sunrise"}}


# --- the sign-in page (Django's LoginView) ---


def test_the_sign_in_page_signs_a_seller_in_and_goes_to_graphql():
    f.seller(f.store(), username="sunny")
    client = browser()
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="password"' in page.content

    response = client.post(
        "/accounts/login/",
        {"username": "sunny", "password": "pw", "csrfmiddlewaretoken": page.context["csrf_token"]},
    )

    assert response.status_code == 302 and response.url == "/graphql/"
    assert me(client)["username"] == "sunny"


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("/admin/orders/order/", "/admin/orders/order/"),
        ("https://evil.example/", "/graphql/"),
        ("//evil.example/x", "/graphql/"),
    ],
)
def test_the_sign_in_page_honours_next_only_on_this_site(next_url, lands):
    f.seller(f.store(), username="sunny")
    client = browser()
    page = client.get("/accounts/login/", {"next": next_url})

    response = client.post(
        "/accounts/login/",
        {
            "username": "sunny",
            "password": "pw",
            "next": next_url,
            "csrfmiddlewaretoken": page.context["csrf_token"],
        },
    )

    assert response.status_code == 302 and response.url == lands


def test_the_sign_in_page_refuses_wrong_passwords_with_the_form():
    f.seller(f.store(), username="sunny")
    client = browser()
    page = client.get("/accounts/login/")

    response = client.post(
        "/accounts/login/",
        {"username": "sunny", "password": "no", "csrfmiddlewaretoken": page.context["csrf_token"]},
    )

    assert response.status_code == 200 and response.context["form"].errors
    assert me(client) is None


def test_the_admin_login_stays_staff_only():
    f.seller(f.store(), username="sunny")
    client = browser()
    page = client.get("/admin/login/")

    response = client.post(
        "/admin/login/",
        {"username": "sunny", "password": "pw", "csrfmiddlewaretoken": page.context["csrf_token"]},
    )

    assert response.status_code == 200 and response.context["form"].errors
    assert me(client) is None


def test_the_sign_out_page_ends_the_session():
    f.seller(f.store(), username="sunny")
    client = browser()
    login(client, "sunny")

    response = client.post("/accounts/logout/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)

    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert me(client) is None
