"""The store's page starts with a summary card; no HISTORY button contradicts its timeline."""

from django.test import Client
from django.urls import reverse

from tests import factories as f


def test_the_store_page_starts_with_a_summary_card(client: Client) -> None:
    store = f.store(name="Sunrise Gadgets")
    f.dispute(f.order(store, status="shipped"))
    client.force_login(f.staff("risk"))

    response = client.get(reverse("admin:accounts_selleraccount_change", args=[store.pk]))

    card = {key: str(value) for key, _label, value in response.context["summary_card"]}
    assert list(card) == [
        "status",
        "available",
        "escrow",
        "reserve",
        "owed",
        "open-disputes",
        "reserve-rate",
        "next-action",
    ]
    assert "USD 100.00" in card["escrow"] and ">1</a>" in card["open-disputes"]
    text = response.text
    assert text.index('id="summary-card"') < text.index('id="object-actions"')
    assert "historylink" not in text


def test_support_sees_the_card_without_balances(client: Client) -> None:
    store = f.store()
    client.force_login(f.staff("support"))

    response = client.get(reverse("admin:accounts_selleraccount_change", args=[store.pk]))

    keys = [key for key, _label, _value in response.context["summary_card"]]
    assert "available" not in keys and "status" in keys
