"""Monthly seller statements: opening and closing balances match the ledger's running totals,
per account and currency; the admin's CSV/XLSX/PDF downloads; GraphQL as seller and staff."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from pypdf import PdfReader

from payouts import ledger
from payouts.ledger import Leg
from payouts.models import Account
from payouts.statements import pdf_font, statement
from tests import factories as f
from tests.gql import gid, gql

pytestmark = pytest.mark.django_db
D = Decimal


def move(store, reference: str, at: str, account: str, amount: str, currency: str = "USD"):
    with transaction.atomic():
        ledger.post(
            reference=reference,
            kind="promotion_adjustment",
            at=datetime.fromisoformat(at).replace(tzinfo=UTC),
            legs=[
                Leg(account, D(amount), store.pk, currency=currency),
                Leg(Account.BUYER_FUNDS, -D(amount), currency=currency),
            ],
        )


@pytest.fixture
def store():
    store = f.store()
    move(store, "feb-usd", "2026-02-10T09:00:00", Account.AVAILABLE, "100.00")
    move(store, "feb-cny", "2026-02-28T23:59:59", Account.PROMOTION, "500.00", "CNY")
    move(store, "mar-usd-1", "2026-03-01T00:00:00", Account.AVAILABLE, "-30.00")
    move(store, "mar-cny", "2026-03-15T08:00:00", Account.PROMOTION, "-120.50", "CNY")
    move(store, "mar-usd-2", "2026-03-31T23:59:59", Account.AVAILABLE, "12.25")
    move(store, "apr-usd", "2026-04-01T00:00:00", Account.AVAILABLE, "7.00")
    return store


def test_opening_and_closing_match_the_ledger_per_account_and_currency(store):
    with CaptureQueriesContext(connection) as queries:
        report = statement(store_id=store.pk, year=2026, month=3)
    assert len(queries) == 3
    rows = {(a.account, a.currency): a for a in report.accounts}
    available, promotion = rows[("available", "USD")], rows[("promotion", "CNY")]
    assert (available.opening, available.closing) == (D("100.00"), D("82.25"))
    assert [(x.reference, x.balance) for x in available.lines] == [
        ("mar-usd-1", D("70.00")),
        ("mar-usd-2", D("82.25")),
    ]
    assert (promotion.opening, promotion.closing) == (D("500.00"), D("379.50"))
    end = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    at_end = ledger.balances_at([store.pk], end)[store.pk]
    assert (at_end["available"], at_end["promotion"]) == (available.closing, promotion.closing)
    april = statement(store_id=store.pk, year=2026, month=4)
    assert {(a.account, a.opening) for a in april.accounts} == {
        ("available", D("82.25")),
        ("promotion", D("379.50")),
    }


QUERY = """query($id: ID!, $year: Int!, $month: Int!) { node(id: $id) { ... on SellerAccount {
  statement(year: $year, month: $month) { year month accounts { account currency
    opening { amount currency } closing { amount }
    lines { kind reference amount { amount } balance { amount } } } } } } }"""


def test_a_seller_reads_its_own_statement_and_not_another_stores(client, store):
    seller = f.seller(store)
    body = gql(client, QUERY, {"id": gid(store), "year": 2026, "month": 3}, user=seller)
    accounts = body["data"]["node"]["statement"]["accounts"]
    assert [(a["account"], a["opening"], a["closing"]["amount"]) for a in accounts] == [
        ("available", {"amount": "100.00", "currency": "USD"}, "82.25"),
        ("promotion", {"amount": "500.00", "currency": "CNY"}, "379.50"),
    ]
    assert accounts[0]["lines"][1] == {
        "kind": "promotion_adjustment",
        "reference": "mar-usd-2",
        "amount": {"amount": "12.25"},
        "balance": {"amount": "82.25"},
    }
    other = f.store()
    body = gql(client, QUERY, {"id": gid(other), "year": 2026, "month": 3}, user=seller)
    assert body["data"]["node"] is None  # as for any object it may not see: not found
    assert "errors" not in body


@pytest.mark.parametrize(("year", "month", "field"), [(2026, 13, "month"), (1999, 3, "year")])
def test_a_bad_month_is_invalid(client, store, year, month, field):
    body = gql(client, QUERY, {"id": gid(store), "year": year, "month": month}, user=f.superuser())
    assert body["errors"][0]["extensions"]["code"] == "invalid"
    assert body["errors"][0]["extensions"]["field"] == field


def test_staff_without_the_ledger_permission_get_null(client, store):
    body = gql(client, QUERY, {"id": gid(store), "year": 2026, "month": 3}, user=f.staff("support"))
    node = body["data"]["node"]
    assert node is None or node["statement"] is None


# --- the admin ----------------------------------------------------------------------------------


def admin_statement(client, store, user, **params):
    client.force_login(user)
    return client.get(f"/admin/accounts/selleraccount/{store.pk}/statement/", params)


def test_the_store_page_links_to_the_statement(client, store):
    client.force_login(f.staff("finance"))
    page = client.get(f"/admin/accounts/selleraccount/{store.pk}/details/").content.decode()
    assert f"/admin/accounts/selleraccount/{store.pk}/statement/" in page


def test_the_admin_statement_page_and_csv(client, store):
    page = admin_statement(client, store, f.staff("finance"), year=2026, month=3)
    assert page.status_code == 200
    assert "mar-usd-2" in page.content.decode() and "feb-usd" not in page.content.decode()
    response = admin_statement(client, store, f.staff("finance"), year=2026, month=3, format="csv")
    assert response["Content-Disposition"].endswith(f'statement-{store.pk}-2026-03.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "account",
        "currency",
        "at",
        "kind",
        "reference",
        "order",
        "amount",
        "balance",
    ]
    assert [(r[0], r[3], r[4], r[6], r[7]) for r in rows[1:]] == [
        ("Available", "opening balance", "", "", "100.00"),
        ("Available", "Promotion adjustment", "mar-usd-1", "-30.00", "70.00"),
        ("Available", "Promotion adjustment", "mar-usd-2", "12.25", "82.25"),
        ("Available", "closing balance", "", "", "82.25"),
        ("Promotion wallet", "opening balance", "", "", "500.00"),
        ("Promotion wallet", "Promotion adjustment", "mar-cny", "-120.50", "379.50"),
        ("Promotion wallet", "closing balance", "", "", "379.50"),
    ]


def test_the_admin_statement_as_xlsx_and_pdf(client, store):
    finance = f.staff("finance")
    response = admin_statement(client, store, finance, year=2026, month=3, format="xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[3][4:] == ("mar-usd-2", None, D("12.25"), D("82.25"))
    assert values[-1][:2] == ("Promotion wallet", "CNY") and values[-1][-1] == D("379.5")
    pdf = admin_statement(client, store, finance, year=2026, month=3, format="pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_prints_a_chinese_store_name_and_reference(client):
    store = f.store(name="深圳莲花灯具旗舰店")
    move(store, "三月促销调整", "2026-03-05T10:00:00", Account.AVAILABLE, "88.00")

    pdf = admin_statement(client, store, f.staff("finance"), year=2026, month=3, format="pdf")

    assert pdf_font() is not None, "no CJK font: `make fonts` installs fonts-wqy-microhei"
    text = pdf_text(pdf.content)
    assert "深圳莲花灯具旗舰店" in text and "三月促销调整" in text
    assert "?" not in text
    assert "88.00" in text and "2026-03" in text


def test_the_statement_needs_the_ledger_permission_and_a_valid_month(client, store):
    assert admin_statement(client, store, f.staff("support"), year=2026, month=3).status_code == 403
    page = admin_statement(client, store, f.staff("finance"), year=2026, month=13)
    assert page.status_code == 200 and "mar-usd-2" not in page.content.decode()
    assert admin_statement(client, store, f.superuser(), year="x", month=3).status_code == 200
