"""The admin index's dashboard: each role sees its own work, every number links to the list
filtered to exactly those rows, the charts are inline SVG, and the query count is fixed."""

from datetime import timedelta

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disputes.models import Dispute
from tests import factories as f

INDEX = reverse("admin:index")
DAY = timedelta(days=1)


def tiles(response) -> dict[str, dict]:
    return {
        tile.key: {"value": tile.value, "url": tile.url, "tone": tile.tone}
        for block in response.context["blocks"]
        for tile in block.tiles
    }


def test_risk_sees_overdue_disputes_linked_to_the_overdue_list(client: Client) -> None:
    # given a dispute past its response deadline and one still in time
    late = f.dispute()
    f.dispute(at=late.opened_at + 9 * DAY)
    client.force_login(f.staff("risk"))
    with time_machine.travel(late.respond_by + DAY, tick=False):
        # when risk opens the admin index
        response = client.get(INDEX)
        # then the overdue tile counts the late one and opens the list of exactly it
        tile = tiles(response)["disputes-overdue"]
        assert (tile["value"], tile["tone"]) == (1, "danger")
        listed = client.get(tile["url"]).context["cl"].queryset
    assert [d.pk for d in listed] == [late.pk]
    assert b'id="chart-dispute-rate"' in response.content
    assert b"<svg" in response.content


def test_finance_sees_payouts_but_not_disputes(client: Client) -> None:
    client.force_login(f.staff("finance"))
    response = client.get(INDEX)
    keys = {block.key for block in response.context["blocks"]}
    assert "payouts" in keys and "disputes" not in keys
    assert b'id="chart-dispute-rate"' not in response.content


def test_the_imports_block_shows_once(client: Client) -> None:
    client.force_login(f.superuser())
    response = client.get(INDEX)
    assert response.content.count(b'id="import-platform-export-link"') == 1
    assert [b.key for b in response.context["blocks"]].count("imports") == 1


def count_index_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(INDEX).status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_queries_whatever_the_data(client: Client) -> None:
    client.force_login(f.superuser())
    f.dispute()
    few = count_index_queries(client)
    for _ in range(4):
        f.dispute()
        f.order(status="completed")
    assert count_index_queries(client) == few
    assert Dispute.objects.count() == 5
