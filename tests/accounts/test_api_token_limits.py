"""Personal API tokens through GraphQL: the per-user limit on live tokens, and their names."""

import pytest

from accounts.models import ApiToken
from tests import factories as f
from tests.gql import codes, mutate


def create(client, user, name: str) -> dict:
    return mutate(client, "apiTokenCreate", {"name": name}, user=user)


def test_a_user_holds_at_most_the_configured_number_of_live_tokens(client, settings):
    settings.API_TOKENS_MAX_LIVE = 3
    user = f.seller(f.store())
    made = [create(client, user, f"t{i}") for i in range(3)]

    refused = create(client, user, "one too many")

    assert codes(refused) == [("invalid", None)]
    assert "revoke one first" in refused["messages"][0]["message"]
    assert ApiToken.objects.filter(user=user).count() == 3
    # revoking one frees its place; another user has places of their own
    mutate(client, "apiTokenRevoke", {"id": made[0]["apiToken"]["id"]}, user=user)
    assert create(client, user, "replacement")["__typename"] == "ApiTokenCreated"
    assert create(client, f.seller(f.store()), "theirs")["__typename"] == "ApiTokenCreated"


def test_the_default_limit_is_ten(client):
    user = f.staff("support")
    for i in range(10):
        create(client, user, f"t{i}")

    assert codes(create(client, user, "eleventh")) == [("invalid", None)]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 101,
        "lap\x00top",
        "lap\ntop",
        "lap\ttop",
        "\x1b[31mred",
        "rtl\u202eevil",
        "zero\u200bwidth",
        "\x7f",
        "private\ue000use",
    ],
)
def test_a_token_name_that_is_empty_too_long_or_has_control_characters_is_refused(client, name):
    user = f.seller(f.store())

    assert codes(create(client, user, name)) == [("invalid", "name")]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("name", ["x" * 100, "  laptop  ", "ноутбук", "笔记本电脑", "CI — nightly"])
def test_a_printable_name_up_to_the_column_length_is_kept(client, name):
    payload = create(client, f.seller(f.store()), name)
    assert payload["apiToken"]["name"] == name.strip()
