"""Two checkouts of one order number at the same moment, through GraphQL, on PostgreSQL.

Marked ``postgres``: selected only in the PostgreSQL run, never skipped."""

import pytest
from django.test import Client

from orders.models import Order
from orders.services import order_create
from tests import factories as f
from tests.gql import codes, gid, mutate
from tests.test_postgres_concurrency import racing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NUMBER = "8100000000000042"


def test_two_checkouts_of_one_number_take_turns_on_the_store_and_the_second_is_refused():
    # given an order number being created (not committed yet) by another request
    store, admin = f.store(), f.superuser()

    def checkout_elsewhere() -> None:
        order_create(actor=None, store_id=store.pk, order_number=NUMBER, amount="10.00")

    # when a GraphQL checkout of the same number waits (on the store's row), and the other commits
    payload = racing(
        checkout_elsewhere,
        lambda: mutate(
            Client(),
            "orderCreate",
            {"storeId": gid(store), "orderNumber": NUMBER, "amount": "12.00"},
            user=admin,
        ),
    )

    # then it sees the first order and is refused as a duplicate; the first order stands alone
    assert codes(payload) == [("already_exists", "orderNumber")]
    assert payload["messages"][0]["message"] == f"Order {NUMBER} exists already."
    assert list(Order.objects.values_list("order_number", "amount")) == [(NUMBER, 10)]
