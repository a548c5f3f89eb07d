"""The queues' columns a person scans: the stores list's money, arrears filter and open disputes,
and how long each payout has waited (issue 16)."""

import re
from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from backoffice.deadlines import run_all
from orders.models import Order
from payouts.promotion import promotion_charge
from payouts.services import payout_request
from tests import factories as f

DAY = timedelta(days=1)


def _row_of(text: str, name: str) -> str:
    """The changelist row (``<tr>...</tr>``) naming ``name``."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", text, flags=re.S)
    matching = [row for row in rows if name in row]
    assert len(matching) == 1, f"{len(matching)} rows name {name!r}"
    return matching[0]


def test_stores_list_shows_balances_what_is_owed_and_filters_stores_in_arrears(client):
    client.force_login(f.superuser())
    paying = f.order(status="completed", amount="89.00").store
    f.dispute(f.order(paying, status="shipped"))
    owing = f.store(name="Lotus Lamps")
    promotion_charge(store_id=owing.pk, actor=None, amount="1234.56", at=f.T0)
    run_all(f.T0 + 4 * DAY)  # the arrears hold freezes it
    url = reverse("admin:accounts_selleraccount_changelist")

    text = client.get(url).content.decode()
    paying_row, owing_row = _row_of(text, paying.name), _row_of(text, "Lotus Lamps")
    assert "89.00" in paying_row  # available after the completed order
    assert "1,234.56" in owing_row  # CNY promotion arrears owed
    cell = re.search(r'<td class="field-open_disputes[^"]*">(.*?)</td>', paying_row, flags=re.S)
    assert cell and re.sub(r"<[^>]+>", "", cell.group(1)).strip() == "1"

    in_arrears = client.get(url, {"arrears": "yes"}).content.decode()
    assert "Lotus Lamps" in in_arrears and paying.name not in in_arrears
    not_in_arrears = client.get(url, {"arrears": "no"}).content.decode()
    assert paying.name in not_in_arrears and "Lotus Lamps" not in not_in_arrears


def test_payouts_list_shows_how_long_each_has_waited(client, time_machine):
    client.force_login(f.staff("finance"))
    time_machine.move_to(f.T0, tick=False)
    store = f.order(status="completed", amount="100.00").store  # available from T0 + 3 days
    old = payout_request(store_id=store.pk, actor=None, amount="10.00", at=f.T0 + 4 * DAY)
    fresh = payout_request(store_id=store.pk, actor=None, amount="20.00", at=f.T0 + 8 * DAY)
    time_machine.move_to(f.T0 + 8 * DAY + timedelta(hours=2), tick=False)

    text = client.get(reverse("admin:payouts_payout_changelist")).content.decode()

    waited = dict(re.findall(r'class="due-badge (due-\w+)" data-waited="([\d.]+)"', text))
    assert set(waited) == {"due-overdue", "due-later"}  # 4 days: red; 2 hours: none
    assert float(waited["due-overdue"]) >= 4
    assert float(waited["due-later"]) < 1
    assert old.pk != fresh.pk


def test_row_checkbox_is_the_html_django_renders_in_both_languages():
    """Our lists write the row checkbox out instead of rendering the widget's template; the
    HTML must stay Django's (its JavaScript selects rows by it), in English and Chinese."""
    order = f.order(status="paid")
    order_admin = admin.site._registry[Order]
    for language in ("en", "zh-hans"):
        with translation.override(language):
            ours = order_admin.action_checkbox(order)
            django = admin.ModelAdmin.action_checkbox(order_admin, order)
            assert ours == django
            assert f'value="{order.pk}"' in ours and 'class="action-select"' in ours
