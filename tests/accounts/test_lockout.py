"""Brute-force protection (django-axes): failures per username and address lock sign-in on
GraphQL, the sign-in page and the admin login until the cool-off ends or staff unlock it."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from tests import factories as f
from tests.accounts.signin import browser, login, me, refusal

HAMMER = 30


def hammer_graphql(client, username: str, times: int = HAMMER) -> list[str]:
    return [refusal(login(client, username, f"guess{i}"))[2] for i in range(times)]


def test_thirty_wrong_passwords_then_the_right_one_is_refused_on_graphql():
    f.seller(f.store(), username="sunny")
    client = browser()

    messages = hammer_graphql(client, "sunny")
    payload = login(client, "sunny", "pw")

    limit = settings.AXES_FAILURE_LIMIT
    assert messages[: limit - 1] == ["Wrong username or password."] * (limit - 1)
    code, field, message = refusal(payload)
    assert (code, field) == ("permission_denied", None)
    assert "Too many failed sign-in attempts" in message and "15 minutes" in message
    assert me(client) is None


def test_the_lockout_is_per_username_and_address():
    f.seller(f.store(), username="sunny")
    f.seller(f.store(), username="other")
    hammer_graphql(browser(), "sunny")

    assert login(browser(), "other")["__typename"] == "User"  # same address, other user
    elsewhere = browser(REMOTE_ADDR="203.0.113.9")
    assert login(elsewhere, "sunny", "pw", REMOTE_ADDR="203.0.113.9")["__typename"] == "User"


def test_after_the_cool_off_the_right_password_works_again(time_machine):
    time_machine.move_to(f.T0)
    f.seller(f.store(), username="sunny")
    client = browser()
    hammer_graphql(client, "sunny")

    time_machine.move_to(f.T0 + settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert refusal(login(client, "sunny"))[0] == "permission_denied"
    # a failure during the lockout restarts the cool-off: wait it out from there
    time_machine.move_to(f.T0 + 2 * settings.AXES_COOLOFF_TIME)
    assert login(client, "sunny")["username"] == "sunny"


def test_a_successful_sign_in_forgets_earlier_failures():
    f.seller(f.store(), username="sunny")
    client = browser()
    hammer_graphql(client, "sunny", settings.AXES_FAILURE_LIMIT - 1)
    login(client, "sunny")

    hammer_graphql(client, "sunny", settings.AXES_FAILURE_LIMIT - 1)

    assert login(client, "sunny")["__typename"] == "User"


def test_failed_sign_ins_keep_no_password():
    f.seller(f.store(), username="sunny")
    hammer_graphql(browser(), "sunny", 2)

    (attempt,) = AccessAttempt.objects.all()
    assert (attempt.username, attempt.failures_since_start) == ("sunny", 2)
    assert "guess" not in attempt.post_data + attempt.get_data


def post_form(client, url: str, username: str, password: str):
    page = client.get(url)
    data = {"username": username, "password": password}
    return client.post(url, {**data, "csrfmiddlewaretoken": page.context["csrf_token"]})


@pytest.mark.parametrize("url", ["/admin/login/", "/accounts/login/"])
def test_thirty_wrong_passwords_then_the_right_one_is_refused_on_the_login_pages(url):
    f.staff("support", username="helper")
    client = browser()
    for i in range(HAMMER):
        post_form(client, url, "helper", f"guess{i}")

    response = post_form(client, url, "helper", "pw")

    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert me(client) is None


def unlock_in_admin(staff_client) -> object:
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    return staff_client.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "_selected_action": ids},
        HTTP_X_CSRFTOKEN=staff_client.cookies["csrftoken"].value,
    )


def test_support_staff_unlock_in_the_admin_and_the_user_signs_in():
    f.seller(f.store(), username="sunny")
    client = browser()
    hammer_graphql(client, "sunny")
    support = f.staff("support")
    staff_client = browser()
    staff_client.force_login(support)
    listing = staff_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and b"sunny" in listing.content

    response = unlock_in_admin(staff_client)

    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert login(client, "sunny")["username"] == "sunny"


def test_staff_without_the_permission_cannot_unlock():
    f.seller(f.store(), username="sunny")
    hammer_graphql(browser(), "sunny")
    staff_client = browser()
    staff_client.force_login(f.staff("finance"))

    response = unlock_in_admin(staff_client)

    assert response.status_code == 403
    assert AccessAttempt.objects.get().failures_since_start == HAMMER
