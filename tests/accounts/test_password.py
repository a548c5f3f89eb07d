"""Password change (signed in) and reset (by e-mail, with Django's token), through GraphQL."""

import re

import pytest
from django.core import mail

from accounts.models import User
from accounts.services import api_token_create
from tests import factories as f
from tests.accounts.signin import PAYLOAD, browser, login, me, refusal, session_gql
from tests.gql import post

STRONG = "Correct-Horse-Battery-42"
CHANGE = f"""
mutation($input: PasswordChangeInput!) {{
  passwordChange(input: $input) {{ {PAYLOAD} ... on User {{ username }} }}
}}
"""
RESET = f"""
mutation($input: PasswordResetRequestInput!) {{
  passwordResetRequest(input: $input) {{ {PAYLOAD} ... on Done {{ message }} }}
}}
"""
CONFIRM = f"""
mutation($input: PasswordResetConfirmInput!) {{
  passwordResetConfirm(input: $input) {{ {PAYLOAD} ... on Done {{ message }} }}
}}
"""
LINK = re.compile(r"/accounts/reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/")


def seller(username: str = "sunny", email: str = "sunny@example.com") -> User:
    user = f.seller(f.store(), username=username)
    user.email = email
    user.save(update_fields=["email"])
    return user


def change(client, old: str, new: str) -> dict:
    variables = {"input": {"oldPassword": old, "newPassword": new}}
    return session_gql(client, CHANGE, variables)["data"]["passwordChange"]


def signed_in(username: str = "sunny"):
    client = browser()
    login(client, username)
    return client


# --- change ---


def test_a_signed_in_user_changes_the_password_and_stays_signed_in():
    user = seller()
    client = signed_in()
    other_session = signed_in()

    payload = change(client, "pw", STRONG)

    assert payload == {"__typename": "User", "username": "sunny"}
    assert me(client)["username"] == "sunny"
    assert me(other_session) is None  # the user's other sessions end
    user.refresh_from_db()
    assert user.check_password(STRONG)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("wrong", STRONG, "oldPassword"),
        ("pw", "short", "newPassword"),
        ("pw", "12345678901", "newPassword"),
        ("pw", "sunny1234", "newPassword"),
        ("pw", "password123", "newPassword"),
    ],
)
def test_a_refused_change_is_invalid_with_the_field_and_changes_nothing(old, new, field):
    user = seller()
    client = signed_in()

    payload = change(client, old, new)

    assert payload["__typename"] == "OperationInfo"
    assert {(m["code"], m["field"]) for m in payload["messages"]} == {("invalid", field)}
    user.refresh_from_db()
    assert user.check_password("pw")


def test_signed_out_clients_and_api_tokens_cannot_change_a_password(client):
    user = seller()
    assert refusal(change(browser(), "pw", STRONG))[0] == "permission_denied"

    _, plaintext = api_token_create(actor=user, name="script")
    variables = {"input": {"oldPassword": "pw", "newPassword": STRONG}}
    response = post(client, CHANGE, variables, HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert refusal(response.json()["data"]["passwordChange"])[0] == "permission_denied"
    user.refresh_from_db()
    assert user.check_password("pw")


# --- reset ---


def request_reset(client, email: str) -> dict:
    return session_gql(client, RESET, {"input": {"email": email}})["data"]["passwordResetRequest"]


def confirm(client, uid: str, token: str, new: str) -> dict:
    variables = {"input": {"uid": uid, "token": token, "newPassword": new}}
    return session_gql(client, CONFIRM, variables)["data"]["passwordResetConfirm"]


def test_a_reset_is_asked_for_by_e_mail_and_confirmed_with_the_link():
    user = seller()
    client = browser()

    answer = request_reset(client, "SUNNY@example.com")

    (message,) = mail.outbox
    assert message.to == ["sunny@example.com"]
    link = LINK.search(message.body)
    assert link and "http://testserver/accounts/reset/" in message.body
    payload = confirm(client, link["uid"], link["token"], STRONG)
    assert payload == {"__typename": "Done", "message": "Your password is set: sign in with it."}
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert login(client, "sunny", STRONG)["username"] == "sunny"
    # single use: the token died with the old password
    assert refusal(confirm(client, link["uid"], link["token"], "Another-Good-One-77"))[:2] == (
        "invalid",
        "token",
    )
    assert answer["__typename"] == "Done"


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account():
    seller()
    inactive = seller("gone", "gone@example.com")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])

    answers = [
        request_reset(browser(), email)
        for email in ("sunny@example.com", "nobody@example.com", "gone@example.com")
    ]

    assert answers[0] == answers[1] == answers[2]
    assert [m.to for m in mail.outbox] == [["sunny@example.com"]]


@pytest.mark.parametrize("email", ["not-an-address", "", "a@" + "b" * 300 + ".com", "a\x00@b.com"])
def test_a_malformed_address_is_invalid_with_the_field(email):
    payload = request_reset(browser(), email)
    assert {(m["code"], m["field"]) for m in payload["messages"]} == {("invalid", "email")}
    assert mail.outbox == []


@pytest.mark.parametrize(
    "uid",
    ["", "Zm9v", "!!!", "MTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw", "x" * 500, "w4k", "LTE"],
)
def test_a_bad_reset_link_is_invalid_with_the_token_field(uid):
    user = seller()
    request_reset(browser(), "sunny@example.com")
    token = LINK.search(mail.outbox[0].body)["token"]

    payload = confirm(browser(), uid, token, STRONG)

    assert refusal(payload)[:2] == ("invalid", "token")
    user.refresh_from_db()
    assert user.check_password("pw")


def test_a_weak_new_password_is_refused_and_the_link_still_works():
    user = seller()
    request_reset(browser(), "sunny@example.com")
    link = LINK.search(mail.outbox[0].body)

    weak = confirm(browser(), link["uid"], link["token"], "123")
    strong = confirm(browser(), link["uid"], link["token"], STRONG)

    assert {(m["code"], m["field"]) for m in weak["messages"]} == {("invalid", "newPassword")}
    assert strong["__typename"] == "Done"
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_a_reset_lifts_the_lockout():
    seller()
    client = browser()
    for i in range(10):
        login(client, "sunny", f"guess{i}")
    request_reset(client, "sunny@example.com")
    link = LINK.search(mail.outbox[0].body)

    confirm(client, link["uid"], link["token"], STRONG)

    assert login(client, "sunny", STRONG)["username"] == "sunny"


def test_the_e_mailed_link_opens_the_set_password_page():
    seller()
    request_reset(browser(), "sunny@example.com")
    link = LINK.search(mail.outbox[0].body)

    client = browser()
    landing = client.get(link.group(0), follow=True)

    assert landing.status_code == 200 and b"new_password1" in landing.content
