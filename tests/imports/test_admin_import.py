"""The admin page "Import a platform export" (backoffice/admin_imports.py): a preview that
writes nothing, then a confirm that imports exactly the previewed bytes."""

import csv
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import SellerAccount
from backoffice.admin_imports import TOKEN_SALT, warning_count
from backoffice.imports.errors import RowError
from backoffice.imports.runner import MAX_ROW_WARNINGS
from backoffice.models import ImportFile
from disputes.models import Dispute
from orders.models import Order
from payouts.models import ExchangeRate, LedgerEntry, Posting
from tests import factories as f
from tests.imports.helpers import SAMPLES, expected

ADD_URL = reverse("admin:backoffice_importfile_add")
CONFIRM_URL = reverse("admin:backoffice_importfile_confirm")
BAD_FILE_ERRORS = [  # samples/README.md
    "line 3: Order No.: scientific notation: digits lost",
    "line 5: Order Amount: negative amount",
    "line 6: Order Status: unknown status: 'Teleported'",
    "line 7: Order Amount: more than 2 decimals",
    "line 8: Payment Time: shipped order without payment/shipping time and tracking",
]


@pytest.fixture(autouse=True)
def _upload_dir(settings, tmp_path: Path) -> Path:
    settings.IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def post(client: Client, url: str, data: dict | None = None) -> HttpResponse:
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    return client.post(
        url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )


# The import runs the services as the signed-in user: besides the import permission (finance),
# importing orders takes the permissions of what the rows do, which no role holds together yet.
ORDER_IMPORT_PERMS = ("add_selleraccount", "add_order", "transition_order")


def signed_in(role: str | None = "importer") -> Client:
    """A staff member's client; "importer" is finance who may also create stores and orders and
    move orders."""
    client = Client(enforce_csrf_checks=True)
    user = f.staff("finance" if role == "importer" else role)
    if role == "importer":
        user.user_permissions.add(*Permission.objects.filter(codename__in=ORDER_IMPORT_PERMS))
    client.force_login(user)
    return client


def upload(
    client: Client, name: str, *, kind: str = "", content: bytes | None = None
) -> HttpResponse:
    data = content if content is not None else (SAMPLES / name).read_bytes()
    return post(
        client,
        ADD_URL,
        {"file": SimpleUploadedFile(name, data), "kind": kind, "tz": "America/Los_Angeles"},
    )


def token_of(preview: HttpResponse) -> str:
    assert preview.status_code == 200
    assert preview.context["confirm"] is not None, preview.context["errors"]
    return preview.context["confirm"].initial["token"]


def database() -> tuple[int, ...]:
    """Everything an import may write."""
    return tuple(
        model.objects.count()
        for model in (SellerAccount, Order, Dispute, Posting, LedgerEntry, ImportFile)
    )


def order_numbers(name: str) -> list[str]:
    with open(SAMPLES / name, encoding="utf-8", newline="") as stream:
        return [row["Order No."] for row in csv.DictReader(stream)]


def messages_of(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- preview, then confirm ---


def test_preview_shows_counts_moves_and_money_and_writes_nothing(_upload_dir):
    # given finance and an empty back-office
    client = signed_in()
    before = database()

    # when an orders export is uploaded
    page = upload(client, "orders-en.csv")

    # then the dry run's report is shown with a confirm button, and nothing is written
    assert page.status_code == 200
    report = page.context["report"]
    assert report.dry_run and report.kind == "orders" and not report.errors
    assert report.created == len(order_numbers("orders-en.csv"))
    assert (report.updated, report.unchanged) == (0, 0)
    assert f'<td class="number">{report.created}</td>' in page.text
    assert report.moves[("new", "shipped")] > 0
    for (source, target), count in report.moves.items():
        assert (source, target, count) in page.context["moves"]
    assert {row.store_name for row in page.context["money"]} == {"(new store)"}  # not yet
    assert {row.store_id for row in page.context["money"]} == {
        store for store, accounts in report.money.items() if any(accounts.values())
    }
    assert "2339563" in page.text and "(new store)" in page.text
    assert 'id="import-confirm-form"' in page.text
    assert database() == before
    assert len(list(_upload_dir.iterdir())) == 1  # the bytes wait for the confirm


def test_confirm_imports_the_previewed_file(_upload_dir):
    # given a preview without errors
    client = signed_in()
    token = token_of(upload(client, "orders-en.csv"))

    # when it is confirmed
    result = post(client, CONFIRM_URL, {"token": token})

    # then the file lands: each order in the state the export gives it
    assert result.status_code == 200
    report = result.context["report"]
    assert not report.dry_run and report.landed and not report.errors
    states = dict(Order.objects.values_list("order_number", "status"))
    want = expected()["orders"]
    assert {n: states[n] for n in order_numbers("orders-en.csv")} == {
        n: want[n] for n in order_numbers("orders-en.csv")
    }
    assert any("orders-en.csv imported: created" in m for m in messages_of(result))
    assert list(_upload_dir.iterdir()) == []  # the stored bytes are gone

    # and the same confirm cannot run twice
    again = post(client, CONFIRM_URL, {"token": token})
    assert again.status_code == 400
    assert messages_of(again) == ["The previewed file is no longer here: upload it again."]


def test_an_xlsx_export_is_previewed_too():
    page = upload(signed_in(), "orders-en.xlsx", kind="orders")

    report = page.context["report"]
    assert report.kind == "orders" and not report.errors and report.created > 0


def test_preview_of_a_bad_file_lists_every_error_and_offers_no_confirm(_upload_dir):
    client = signed_in()
    before = database()

    page = upload(client, "orders-bad.csv")

    assert page.status_code == 200
    assert page.context["errors"] == BAD_FILE_ERRORS
    for error in BAD_FILE_ERRORS:
        assert f"<li>{escape(error)}</li>" in page.text
    assert page.context["confirm"] is None
    assert 'id="import-confirm-form"' not in page.text
    assert database() == before
    assert list(_upload_dir.iterdir()) == []  # nothing to confirm, nothing kept


def test_an_unreadable_file_is_refused_on_the_form():
    page = upload(signed_in(), "notes.csv", content=b"hello,world\n1,2\n")

    assert page.status_code == 200
    assert "report" not in page.context
    assert page.context["form"].errors["file"]


def test_finance_imports_exchange_rates():
    client = signed_in("finance")

    result = post(client, CONFIRM_URL, {"token": token_of(upload(client, "exchange-rates.csv"))})

    assert result.context["report"].landed
    assert ExchangeRate.objects.count() == result.context["report"].created > 0
    assert ImportFile.objects.get().actor == result.wsgi_request.user


def test_rows_the_user_may_not_apply_are_errors_of_the_preview():
    # finance alone may import, but not create stores or move orders: the services say so
    page = upload(signed_in("finance"), "orders-en.csv")

    assert page.context["confirm"] is None
    assert any("You need the permission" in error for error in page.context["errors"])


# --- the confirm imports the previewed bytes or nothing ---


def test_a_forged_token_is_refused_and_nothing_is_imported():
    client = signed_in()
    token = token_of(upload(client, "orders-en.csv"))
    before = database()

    response = post(client, CONFIRM_URL, {"token": token[:-4] + "abcd"})

    assert response.status_code == 400
    assert messages_of(response) == ["This confirmation is not valid."]
    assert database() == before


def test_a_stored_file_that_changed_since_the_preview_is_refused(_upload_dir):
    # given a preview, after which the stored bytes are replaced by another export
    client = signed_in()
    token = token_of(upload(client, "orders-en.csv"))
    (stored,) = _upload_dir.iterdir()
    stored.write_bytes((SAMPLES / "orders-zh.csv").read_bytes())
    before = database()

    # when it is confirmed
    response = post(client, CONFIRM_URL, {"token": token})

    # then nothing is imported, and the changed file is thrown away
    assert response.status_code == 400
    assert messages_of(response) == [
        "The stored file is not the one previewed: nothing was imported. Upload it again."
    ]
    assert database() == before
    assert list(_upload_dir.iterdir()) == []


def test_a_file_sent_with_the_confirm_is_not_what_gets_imported():
    # given a preview of the English orders
    client = signed_in()
    token = token_of(upload(client, "orders-en.csv"))

    # when the confirm comes with another file attached
    other = SimpleUploadedFile("orders-zh.csv", (SAMPLES / "orders-zh.csv").read_bytes())
    result = post(client, CONFIRM_URL, {"token": token, "file": other})

    # then the previewed file is imported, and only it
    report = result.context["report"]
    assert report.landed and report.file_name == "orders-en.csv"
    assert set(Order.objects.values_list("order_number", flat=True)) == set(
        order_numbers("orders-en.csv")
    )


def test_someone_elses_preview_cannot_be_confirmed():
    token = token_of(upload(signed_in(), "orders-en.csv"))
    other = signed_in()
    before = database()

    response = post(other, CONFIRM_URL, {"token": token})

    assert response.status_code == 400
    assert messages_of(response) == ["This preview is someone else's."]
    assert database() == before


def test_an_expired_preview_cannot_be_confirmed(settings):
    client = signed_in()
    token = token_of(upload(client, "orders-en.csv"))
    settings.IMPORT_CONFIRM_MAX_AGE = -1
    before = database()

    response = post(client, CONFIRM_URL, {"token": token})

    assert response.status_code == 400
    assert messages_of(response) == ["This preview is too old: upload the file again."]
    assert database() == before


# --- who may import ---


@pytest.mark.parametrize("role", ["support", "risk", None])
def test_staff_without_the_import_permission_get_403(role):
    client = signed_in(role)
    before = database()

    assert client.get(ADD_URL).status_code == 403
    assert upload(client, "orders-en.csv").status_code == 403
    assert post(client, CONFIRM_URL, {"token": "x"}).status_code == 403
    assert "import-platform-export-link" not in client.get(reverse("admin:index")).text
    assert database() == before


def test_a_seller_is_sent_to_the_login_page():
    client = Client(enforce_csrf_checks=True)
    client.force_login(f.seller(f.store()))

    response = client.get(ADD_URL)

    assert response.status_code == 302 and reverse("admin:login") in response.url


def test_finance_finds_the_import_page_from_the_admin_index_and_the_imported_files():
    client = signed_in()

    index = client.get(reverse("admin:index"))
    files = client.get(reverse("admin:backoffice_importfile_changelist"))
    page = client.get(ADD_URL)

    assert f'href="{ADD_URL}" id="import-platform-export-link"' in index.text
    assert files.status_code == 200 and "Import a platform export" in files.text
    assert page.status_code == 200 and page.context["title"] == "Import a platform export"
    assert 'enctype="multipart/form-data"' in page.text


# --- a file of one store (the seller center's export, without a store column) ---

ONE_STORE_CSV = (
    "订单号,订单状态,下单时间,付款时间,订单金额\n"
    "8000000000000001,等待买家付款,01/16/2026 15:57,,US $12.00\n"
    "8000000000000002,等待买家付款,01/16/2026 16:01,,US $7.50\n"
).encode()


def upload_for_store(client: Client, store: str, store_name: str = "", **extra: str):
    return post(
        client,
        ADD_URL,
        {
            "file": SimpleUploadedFile("orders-store.csv", ONE_STORE_CSV),
            "kind": "",
            "tz": "America/Los_Angeles",
            "store": store,
            "store_name": store_name,
            **extra,
        },
    )


def test_the_upload_form_offers_the_existing_stores():
    f.store(name="Sunrise Gadgets", platform_store_id="2339563")

    page = signed_in().get(ADD_URL)

    assert 'list="id_store-options"' in page.text
    assert '<datalist id="id_store-options">' in page.text
    assert '<option value="2339563" label="Sunrise Gadgets (Active)">' in page.text
    assert '<label for="id_store_name">New store&#x27;s name:</label>' in page.text


def test_a_file_of_a_known_store_is_previewed_and_confirmed_for_that_store():
    # given an existing store and its seller-center export, which has no store column
    store = f.store(name="Sunrise Gadgets", platform_store_id="2339563")
    client = signed_in()
    before = database()

    # when it is uploaded for that store
    page = upload_for_store(client, "2339563")

    # then the preview says which store, and writes nothing
    report = page.context["report"]
    assert not report.errors and report.created == 2
    assert page.context["store"].platform_id == "2339563" and not page.context["store"].new
    assert "For store <strong>2339563</strong>" in page.text and "Sunrise Gadgets" in page.text
    assert database() == before

    # and the confirm imports both orders into that store
    result = post(client, CONFIRM_URL, {"token": token_of(page)})
    assert result.context["report"].landed
    assert set(store.orders.values_list("order_number", flat=True)) == {
        "8000000000000001",
        "8000000000000002",
    }
    assert SellerAccount.objects.count() == 1


def test_a_new_store_is_created_with_the_name_given_on_the_upload():
    client = signed_in()

    page = upload_for_store(client, "7770001", "Tiny Shop")

    assert page.context["store"].new and page.context["store"].name == "Tiny Shop"
    assert "importing creates it as <strong>Tiny Shop</strong>" in page.text
    assert not SellerAccount.objects.exists()

    result = post(client, CONFIRM_URL, {"token": token_of(page)})

    assert result.context["report"].landed
    store = SellerAccount.objects.get()
    assert (store.platform_store_id, store.name) == ("7770001", "Tiny Shop")
    assert store.orders.count() == 2
    assert "(Tiny Shop), created by this import" in result.text


def test_a_new_store_without_a_name_is_an_error_of_the_form(_upload_dir):
    before = database()

    page = upload_for_store(signed_in(), "7770001")

    assert page.status_code == 200 and "report" not in page.context
    assert page.context["form"].errors["store_name"] == [
        "store 7770001 is not in the back-office: give its name to create it "
        "(--store-name, or the import page's new store name)"
    ]
    assert database() == before
    assert list(_upload_dir.iterdir()) == []


def test_a_malformed_store_id_is_an_error_of_the_form():
    page = upload_for_store(signed_in(), "23 39/563", "Tiny Shop")

    assert page.status_code == 200 and "report" not in page.context
    assert page.context["form"].errors["store"] == [
        "not a platform store id: letters, digits, - and _ only."
    ]


def test_a_store_for_a_file_that_names_its_stores_is_an_error_of_the_form():
    page = post(
        signed_in(),
        ADD_URL,
        {
            "file": SimpleUploadedFile("rates.csv", (SAMPLES / "exchange-rates.csv").read_bytes()),
            "tz": "America/Los_Angeles",
            "store": "2339563",
        },
    )

    assert page.status_code == 200 and "report" not in page.context
    assert "not imported for one store" in page.context["form"].errors["store"][0]


def test_a_store_changed_in_the_confirm_token_is_refused():
    # given a preview of the file for a new store
    client = signed_in()
    token = token_of(upload_for_store(client, "7770001", "Tiny Shop"))
    before = database()

    # when the token is re-made for another store (without the server's key)
    data = signing.loads(token, salt=TOKEN_SALT)
    forged = signing.dumps(
        {**data, "store": "7770002"}, salt=TOKEN_SALT, compress=True, key="not-the-secret"
    )
    response = post(client, CONFIRM_URL, {"token": forged, "store": "7770002"})

    # then nothing is imported
    assert response.status_code == 400
    assert messages_of(response) == ["This confirmation is not valid."]
    assert database() == before


def test_the_confirm_imports_for_the_previewed_store_whatever_else_is_posted():
    client = signed_in()
    token = token_of(upload_for_store(client, "7770001", "Tiny Shop"))

    result = post(client, CONFIRM_URL, {"token": token, "store": "7770002", "store_name": "X"})

    assert result.context["report"].landed
    assert list(SellerAccount.objects.values_list("platform_store_id", "name")) == [
        ("7770001", "Tiny Shop")
    ]


def test_row_warnings_are_listed_on_the_preview_with_their_count():
    # given a preview whose report carries row warnings (the importer's, past its cap)
    client = signed_in()
    page = upload_for_store(client, "7770001", "Tiny Shop")
    report = page.context["report"]
    for line in range(2, MAX_ROW_WARNINGS + 12):
        report.add_warning(RowError(line, "订单状态", "a warning"))

    # when the report is shown
    html = page.resolve_template(page.template_name).render(
        {**page.context_data, "warning_count": warning_count(report)}, page.wsgi_request
    )

    # then every kept warning is listed, with the count of all and the cap said
    assert warning_count(report) == MAX_ROW_WARNINGS + 10
    assert f"Warnings ({MAX_ROW_WARNINGS + 10})" in html
    assert "<li>line 2: 订单状态: a warning</li>" in html
    assert f"<li>line {MAX_ROW_WARNINGS + 1}: 订单状态: a warning</li>" in html
    assert f"line {MAX_ROW_WARNINGS + 2}:" not in html
    assert f"more row warnings than {MAX_ROW_WARNINGS}: the rest not shown" in html
