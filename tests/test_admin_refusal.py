"""A refused admin page is the admin's look, naming the roles that may do it."""

from django.test import Client
from django.urls import reverse

from tests import factories as f


def test_support_meets_a_styled_refusal_naming_who_may(client: Client) -> None:
    client.force_login(f.staff("support"))

    response = client.get(reverse("admin:payouts_ledgerentry_changelist"))

    assert response.status_code == 403
    assert response.context["perm"] == "payouts.view_ledgerentry"
    assert response.context["roles"] == ["risk", "finance"]
    assert 'data-refusal="403"' in response.text and 'id="refusal-home"' in response.text


def test_a_refused_action_names_the_action_s_role(client: Client) -> None:
    client.force_login(f.staff("finance"))
    dispute = f.dispute()
    url = reverse("admin:disputes_dispute_transition", args=[dispute.pk, "resolve"])

    response = client.get(url)

    assert response.status_code == 403
    roles = response.context["roles"]
    assert "risk" in roles and "finance" not in roles and "support" not in roles
