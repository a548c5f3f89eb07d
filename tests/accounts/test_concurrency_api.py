"""Two creations of one store at the same moment, through GraphQL and the admin, on PostgreSQL.

Marked ``postgres``: selected only in the PostgreSQL run, never skipped."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, SellerAccount
from accounts.services import api_token_create
from tests import factories as f
from tests.gql import codes, mutate
from tests.test_postgres_concurrency import racing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_loser_of_a_race_on_a_unique_index_gets_invalid_not_an_uncoded_error():
    # given a store being created (not committed yet) by another request
    admin = f.superuser()

    # when a GraphQL creation of the same store waits on the unique index, and the other commits
    payload = racing(
        lambda: f.store(platform_store_id="7100001", name="First"),
        lambda: mutate(
            Client(), "sellerAccountCreate", {"storeId": "7100001", "name": "Second"}, user=admin
        ),
    )

    # then the client gets OperationInfo with a code, and the first store stands alone
    assert codes(payload) == [("invalid", None)]
    assert "same moment" in payload["messages"][0]["message"]
    assert list(SellerAccount.objects.values_list("platform_store_id", "name")) == [
        ("7100001", "First")
    ]


def test_the_admin_add_form_that_loses_the_race_says_so_and_creates_nothing():
    # given a store being created (not committed yet) by another request
    client = Client()
    client.force_login(f.staff("risk"))
    url = reverse("admin:accounts_selleraccount_add")
    data = {"platform_store_id": "7100002", "name": "Second", "settlement_currency": "USD"}

    # when the admin's add form waits on the unique index, and the other commits
    response = racing(
        lambda: f.store(platform_store_id="7100002", name="First"), lambda: client.post(url, data)
    )

    # then the form is shown again with the reason, and the first store stands alone
    assert response.status_code == 200
    assert "same moment" in response.text
    assert list(SellerAccount.objects.values_list("name", flat=True)) == ["First"]


def test_two_tokens_created_at_once_cannot_both_take_the_last_place(settings):
    # given a user one token below the limit, and another request creating a token (not
    # committed yet)
    settings.API_TOKENS_MAX_LIVE = 2
    user = f.seller(f.store())
    api_token_create(actor=user, name="first")

    # when a GraphQL creation waits on the user's row, and the other commits
    payload = racing(
        lambda: api_token_create(actor=user, name="second"),
        lambda: mutate(Client(), "apiTokenCreate", {"name": "third"}, user=user),
    )

    # then it is refused with a code, and the user holds exactly the limit
    assert codes(payload) == [("invalid", None)]
    assert sorted(ApiToken.objects.filter(user=user).values_list("name", flat=True)) == [
        "first",
        "second",
    ]
