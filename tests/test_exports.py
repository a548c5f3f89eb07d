"""Admin exports (backoffice/exports.py): CSV and XLSX of orders, disputes, payouts and ledger
entries, safe to open in a spreadsheet, for staff allowed to export only."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import SellerAccount
from backoffice.exports import cell, neutralise
from disputes.models import Dispute
from disputes.services import dispute_open
from orders.models import Order
from orders.resources import OrderResource
from payouts.models import LedgerEntry, Payout
from payouts.services import payout_mark_failed, payout_request
from tests import factories as f
from tests.factories import T0

# Each would run as a formula, or inject one, in a spreadsheet.
PAYLOADS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1:A2)", "\tx", "\rx"]
FORMATS = {"csv": 0, "xlsx": 1}  # the export form's format choices (export_formats)


def post(client: Client, url: str, data: dict | None = None) -> HttpResponse:
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    return client.post(
        url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )


def admin_url(model: type, view: str) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def all_columns(client: Client, model: type) -> dict[str, str]:
    """The export form's column checkboxes, all ticked (as the form starts)."""
    form = client.get(admin_url(model, "export")).context["form"]
    return {
        name: "on" for name in form.fields if name not in {"resource", "format", "export_items"}
    }


def export(client: Client, model: type, fmt: str, **data: object) -> HttpResponse:
    return post(
        client,
        admin_url(model, "export"),
        {"resource": 0, "format": FORMATS[fmt], **all_columns(client, model), **data},
    )


def rows(response: HttpResponse, fmt: str) -> list[dict[str, object]]:
    """The exported rows as {header: value}; XLSX values are (value, openpyxl data type)."""
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].endswith(f'.{fmt}"')
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *body = list(sheet.iter_rows())
    names = [c.value for c in header]
    return [{n: (c.value, c.data_type) for n, c in zip(names, r, strict=True)} for r in body]


def text_of(value: object) -> object:
    """A cell's value; XML (XLSX) reads a carriage return back as a line feed."""
    value = value[0] if isinstance(value, tuple) else value
    return value.replace("\n", "\r") if isinstance(value, str) else value


def order_by(buyer_name: str, *args: object, **kwargs: object) -> Order:
    """An order (tests.factories.order) bought by ``buyer_name``."""
    order = f.order(*args, **kwargs)
    Order.objects.filter(pk=order.pk).update(buyer_name=buyer_name)
    return order


def exporter(role: str = "finance") -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(f.staff(role))
    return client


# --- the cell rule, once for every export ---


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_text_cell_that_a_spreadsheet_would_run_gets_a_quote(payload):
    assert neutralise(payload) == "'" + payload
    assert cell(payload) == "'" + payload


def test_numbers_and_plain_text_are_left_alone():
    assert cell(Decimal("-12.34")) == Decimal("-12.34")
    assert cell(None) is None
    assert cell("Ana Souza") == "Ana Souza"
    assert cell("a=b") == "a=b"
    # XML cannot hold some control characters: XLSX gets U+FFFD instead of failing
    assert cell("a\x01b", binary=True) == "a\ufffdb"


def test_export_resources_refuse_to_import():
    with pytest.raises(NotImplementedError, match="export-only"):
        OrderResource().import_data(tablib.Dataset(headers=["Order No."]))


# --- each export, in each format ---


@pytest.mark.parametrize("fmt", FORMATS)
def test_orders_export_neutralises_buyer_names_and_keeps_amounts_numeric(fmt):
    # given orders whose buyer names would run as formulas
    store = f.store(name="Acme", platform_store_id="2100001")
    for name in PAYLOADS:
        order_by(name, store, status="shipped", amount="12.34")
    f.order(store)  # bought by Ana Souza

    # when finance exports the orders
    exported = rows(export(exporter(), Order, fmt), fmt)

    # then each malicious name comes out quoted, plain names unchanged
    names = sorted(text_of(r["Buyer Name"]) for r in exported)
    assert names == sorted(["'" + p for p in PAYLOADS] + ["Ana Souza"])
    shipped = next(r for r in exported if text_of(r["Buyer Name"]) == "'+1")
    assert text_of(shipped["Store ID"]) == "2100001"
    assert text_of(shipped["Store Name"]) == "Acme"
    assert text_of(shipped["Status"]) == "Shipped"
    assert text_of(shipped["Currency"]) == "USD"
    assert text_of(shipped["Carrier"]) == "Cainiao"
    assert text_of(shipped["Tracking No."]) == "LP001CN"
    assert text_of(shipped["Order Time (UTC)"]) == "2026-03-01T12:00:00Z"
    if fmt == "csv":
        assert shipped["Order Amount"] == "12.34"
    else:
        assert shipped["Order Amount"] == (12.34, "n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_disputes_export_neutralises_descriptions(fmt):
    # given disputes whose buyer's words would run as formulas
    for text in PAYLOADS:
        order = f.order(status="shipped", amount="30.00")
        dispute_open(
            order_id=order.pk,
            actor=None,
            reason="not_received",
            requested_refund=Decimal("30.00"),
            description=text,
            at=order.shipped_at,
        )

    # when support exports the disputes
    exported = rows(export(exporter("support"), Dispute, fmt), fmt)

    # then every description is quoted and the refunds are numbers
    assert sorted(text_of(r["Description"]) for r in exported) == sorted("'" + p for p in PAYLOADS)
    first = exported[0]
    assert text_of(first["Status"]) == "Open"
    assert text_of(first["Reason"]) == Dispute(reason="not_received").get_reason_display()
    expected = "30.00" if fmt == "csv" else (30, "n")
    assert first["Requested Refund"] == expected
    assert text_of(first["Final Refund"]) in ("", None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_payouts_export_neutralises_failure_reasons(fmt):
    # given failed payouts whose reasons would run as formulas
    store = f.order(status="completed", amount="100.00").store
    for reason in PAYLOADS:
        payout = payout_request(store_id=store.pk, actor=None, amount="10.00")
        payout_mark_failed(payout_id=payout.pk, actor=None, reason="bank refused")
        # the service strips spaces; the row is set as an older or imported one could be
        Payout.objects.filter(pk=payout.pk).update(failure_reason=reason)

    # when finance exports the payouts
    exported = rows(export(exporter(), Payout, fmt), fmt)

    # then the reasons are quoted; amounts are numbers with the currency beside them
    assert sorted(text_of(r["Failure Reason"]) for r in exported) == sorted(
        "'" + p for p in PAYLOADS
    )
    first = exported[0]
    assert text_of(first["Status"]) == "Failed"
    assert text_of(first["Currency"]) == "USD"
    assert text_of(first["Payout Currency"]) == "USD"
    assert first["Amount"] == ("10.00" if fmt == "csv" else (10, "n"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_ledger_export_neutralises_store_names_and_keeps_negative_amounts_numeric(fmt):
    # given paid orders of stores whose names would run as formulas, and a refund
    for name in PAYLOADS:
        store = f.store()
        SellerAccount.objects.filter(pk=store.pk).update(name=name)  # the service strips it
        f.order(store, status="paid", amount="12.34")
    f.order(status="refunded", amount="12.34")
    assert LedgerEntry.objects.filter(amount=Decimal("-12.34")).exists()

    # when finance exports the ledger
    exported = rows(export(exporter(), LedgerEntry, fmt), fmt)

    # then store names are quoted, and negative amounts stay unquoted numbers
    names = {text_of(r["Store Name"]) for r in exported} - {"", None}
    assert {"'" + p for p in PAYLOADS} <= names
    assert not any(str(n).startswith(("=", "+", "-", "@", "\t", "\r")) for n in names)
    negative = [r for r in exported if text_of(r["Amount"]) in ("-12.34", -12.34)]
    assert negative, "a debit leg is exported"
    for row in negative:
        if fmt == "csv":
            assert row["Amount"] == "-12.34"
        else:
            assert row["Amount"] == (-12.34, "n")
        assert text_of(row["Currency"]) == "USD"


@pytest.mark.parametrize("model", [Order, Dispute, Payout, LedgerEntry])
def test_an_export_costs_the_same_queries_whatever_its_size(model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(f.superuser())

    def queries() -> int:
        data = {"resource": 0, "format": 0, **all_columns(client, model)}
        with CaptureQueriesContext(connection) as captured:
            rows(post(client, admin_url(model, "export"), data), "csv")
        return len(captured)

    def add_rows() -> None:
        store = f.order(status="completed", amount="50.00").store
        dispute_open(
            order_id=f.order(store, status="shipped").pk,
            actor=None,
            reason="not_received",
            requested_refund=Decimal("10.00"),
            at=T0 + timedelta(days=10),
        )
        payout_request(store_id=store.pk, actor=None, amount="10.00")

    add_rows()
    few = queries()
    for _ in range(3):
        add_rows()
    assert queries() == few


def test_export_selected_exports_only_the_chosen_rows():
    # given three orders, two of them chosen on the changelist
    orders = [order_by(f"Buyer {i}") for i in range(3)]
    client = exporter("support")
    chosen = [str(o.pk) for o in orders[:2]]

    # when the "Export selected" action runs, then its form is submitted
    page = post(
        client,
        admin_url(Order, "changelist"),
        {"action": "export_admin_action", "_selected_action": chosen},
    )
    assert page.status_code == 200
    assert sorted(page.context["form"].initial["export_items"]) == sorted(o.pk for o in orders[:2])
    response = export(client, Order, "csv", export_items=chosen)

    # then only those rows are in the file
    assert sorted(r["Buyer Name"] for r in rows(response, "csv")) == ["Buyer 0", "Buyer 1"]


def test_export_follows_the_changelist_filters():
    order_by("Paid buyer", status="paid")
    order_by("Unpaid buyer")
    client = exporter("support")
    response = post(
        client,
        admin_url(Order, "export") + "?status__exact=paid",
        {"resource": 0, "format": 0, **all_columns(client, Order)},
    )
    assert [r["Buyer Name"] for r in rows(response, "csv")] == ["Paid buyer"]


def test_an_export_above_the_cap_is_refused_with_a_message(settings):
    # given more orders than an export may hold
    settings.EXPORT_MAX_ROWS = 2
    orders = [f.order() for _ in range(3)]
    client = exporter("support")

    # when the whole list is exported, or all three are selected
    response = export(client, Order, "csv")
    action = post(
        client,
        admin_url(Order, "changelist"),
        {"action": "export_admin_action", "_selected_action": [o.pk for o in orders]},
    )

    # then no file comes back, and the message says how to narrow it
    assert "Content-Disposition" not in response
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("more than an export may hold (2)" in m for m in messages)
    assert action.status_code == 302
    assert any("Narrow the list" in str(m) for m in get_messages(action.wsgi_request))


# --- who may export ---


@pytest.mark.parametrize(
    ("role", "model", "allowed"),
    [
        ("support", Order, True),
        ("support", Dispute, True),
        ("support", Payout, False),  # support sees payouts but may not export them
        ("support", LedgerEntry, False),
        ("finance", Order, True),
        ("finance", Dispute, False),  # finance does not see disputes
        ("finance", Payout, True),
        ("finance", LedgerEntry, True),
        ("risk", Order, False),  # risk views orders and the ledger, exports nothing
        ("risk", LedgerEntry, False),
        (None, Order, False),  # staff without a role
    ],
)
def test_only_staff_with_the_export_permission_can_export(role, model, allowed):
    client = exporter(role)

    page = client.get(admin_url(model, "export"))
    changelist = client.get(admin_url(model, "changelist"))

    if allowed:
        assert page.status_code == 200
        assert "export_admin_action" in actions_of(changelist)
        assert changelist.context["has_export_permission"]
    else:
        assert page.status_code == 403
        if changelist.status_code == 200:  # those who may not even view the list get 403
            assert "export_admin_action" not in actions_of(changelist)
            assert not changelist.context["has_export_permission"]
        # a forged POST of the action is refused as well
        response = post(client, admin_url(model, "export"), {"resource": 0, "format": 0})
        assert response.status_code == 403


def actions_of(changelist: HttpResponse) -> list[str]:
    form = changelist.context["action_form"]
    return [name for name, _ in form.fields["action"].choices] if form else []


def test_a_seller_never_reaches_the_export():
    seller = f.seller(f.store())
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller)

    response = client.get(admin_url(Order, "export"))

    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_roles_hold_exactly_the_export_permissions():
    from django.contrib.auth.models import Group

    def exports(role: str) -> set[str]:
        return set(
            Group.objects.get(name=role)
            .permissions.filter(codename__startswith="export_")
            .values_list("codename", flat=True)
        )

    assert exports("support") == {"export_order", "export_dispute"}
    assert exports("finance") == {"export_order", "export_payout", "export_ledgerentry"}
    assert exports("risk") == set()


def test_the_export_page_says_how_many_rows_the_filtered_export_holds(client: Client) -> None:
    client.force_login(f.staff("support"))
    for status in ("unpaid", "unpaid", "paid"):
        f.order(status=status)

    page = client.get(admin_url(Order, "export") + "?status__exact=unpaid")

    assert page.status_code == 200
    assert page.context["export_row_count"] == 2
    assert 'id="export-row-count" data-rows="2"' in page.text
