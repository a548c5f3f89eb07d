"""The ledger entries list: each store entry with the account's balance right after it, and the
totals of the entries the filters select."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payouts.ledger import store_balances
from tests import factories as f

LIST = reverse("admin:payouts_ledgerentry_changelist")


def test_running_balance_and_totals_follow_the_filter(client: Client) -> None:
    store = f.store()
    f.order(store, status="completed", amount="80.00")
    f.order(store, status="paid", amount="20.00")
    client.force_login(f.staff("finance"))

    query = f"?store__id__exact={store.pk}&account__exact=available"
    response = client.get(LIST + query)

    rows = list(response.context["cl"].result_list)
    newest = rows[0]  # the list is newest first
    assert newest.running == store_balances(store.pk)["available"]
    totals = response.context["ledger_totals"]
    assert [(account, count) for account, _total, count in totals] == [("Available", len(rows))]
    assert 'id="ledger-totals"' in response.text


def test_the_ledger_list_costs_the_same_queries_whatever_its_length(client: Client) -> None:
    store = f.store()
    client.force_login(f.staff("finance"))
    f.order(store, status="completed")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    few = count()
    for _ in range(3):
        f.order(store, status="completed")
    assert count() == few
