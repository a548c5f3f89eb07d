"""The admin page "Import a platform export" (backoffice/composition/admin_imports.py) and its
import jobs
(backoffice/composition/import_jobs.py): an upload becomes a job, whose page shows the preview (a
dry run
that writes nothing), then a confirm imports exactly the previewed bytes.

The stages run in-process after each request commits, as on SQLite (``make run``); on
PostgreSQL too, by running the queue in memory here: the real queue and its workers are
tests/imports/test_import_job_workers.py's."""

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client, TestCase
from django.urls import reverse
from django.utils.html import escape
from procrastinate import testing
from procrastinate.contrib.django import app as queue_app

from accounts.models import SellerAccount
from backoffice.composition.admin_imports import warning_count
from backoffice.composition.import_jobs import run_apply, run_preview
from backoffice.composition.imports.runner import MAX_ROW_WARNINGS
from backoffice.imports.errors import RowError
from backoffice.models import ImportFile, ImportJob
from disputes.models import Dispute
from orders.models import Order
from payouts.models import ExchangeRate, LedgerEntry, Posting
from tests import factories as f
from tests.imports.helpers import SAMPLES, expected

ADD_URL = reverse("admin:backoffice_importfile_add")
BAD_FILE_ERRORS = [  # samples/README.md
    "line 3: Order No.: scientific notation: digits lost",
    "line 5: Order Amount: negative amount",
    "line 6: Order Status: unknown status: 'Teleported'",
    "line 7: Order Amount: more than 2 decimals",
    "line 8: Payment Time: shipped order without payment/shipping time and tracking",
]


@pytest.fixture(autouse=True)
def _stored_uploads(settings, tmp_path: Path) -> Iterator[Path]:
    """Uploads in a directory of the test's; the job stages run in-process after commit."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with queue_app.replace_connector(testing.InMemoryConnector()):
        yield tmp_path / "media" / "imports"


def stored(directory: Path) -> list[Path]:
    return list(directory.iterdir()) if directory.exists() else []


def post(client: Client, url: str, data: dict | None = None) -> HttpResponse:
    """A POST, then what the job's stages do after its commit; redirects followed."""
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
        )
    if response.status_code == 302:
        page = client.get(response.url)
        page.redirected_from = response
        return page
    return response


# The import runs the services as the signed-in user: besides the import permission (finance),
# importing orders takes the permissions of what the rows do, which no role holds together yet.
ORDER_IMPORT_PERMS = ("add_selleraccount", "add_order", "transition_order")


def signed_in(role: str | None = "importer", *perms: str) -> Client:
    """A staff member's client; "importer" is finance who may also create stores and orders and
    move orders."""
    client = Client(enforce_csrf_checks=True)
    user = f.staff("finance" if role == "importer" else role)
    if role == "importer":
        user.user_permissions.add(*Permission.objects.filter(codename__in=ORDER_IMPORT_PERMS))
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
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


def job_of(page: HttpResponse) -> ImportJob:
    return ImportJob.objects.get(pk=page.context["job"].pk)


def confirm_url(page: HttpResponse) -> str:
    return reverse("admin:backoffice_importjob_confirm", args=[page.context["job"].pk])


def cancel_url(page: HttpResponse) -> str:
    return reverse("admin:backoffice_importjob_cancel", args=[page.context["job"].pk])


def previewed(page: HttpResponse) -> HttpResponse:
    assert page.status_code == 200
    assert page.context["job"].status == ImportJob.Status.PREVIEWED, page.context["job"].error
    assert page.context["may_confirm"], page.context["errors"]
    return page


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


# --- upload, preview, then confirm ---


def test_upload_makes_a_job_whose_page_shows_the_preview_and_writes_nothing(_stored_uploads):
    # given finance and an empty back-office
    client = signed_in()
    before = database()

    # when an orders export is uploaded
    page = upload(client, "orders-en.csv")

    # then the request went to the job's page, which shows the dry run's report with a confirm
    # button, and nothing is written
    job = job_of(previewed(page))
    assert page.redirected_from.url == reverse("admin:backoffice_importjob_page", args=[job.pk])
    assert job.created_by == page.wsgi_request.user and job.file_name == "orders-en.csv"
    assert job.rows_done == job.rows_total == len(order_numbers("orders-en.csv"))
    report = page.context["report"]
    assert report.dry_run and report.kind == "orders" and not report.errors
    assert report.created == len(order_numbers("orders-en.csv"))
    assert (report.updated, report.unchanged) == (0, 0)
    assert f'<td class="number">{report.created}</td>' in page.text
    assert report.moves[("new", "shipped")] > 0
    for (source, target), count in report.moves.items():
        assert (source, target, count) in page.context["moves"]
    # the stores the file creates are named as the file names them, marked new (not yet there)
    names = {row.store_id: row.store_name for row in page.context["money"]}
    assert names["2339563"] == "Shenzhen Gadget Co. (new store)"
    assert all(name.endswith("(new store)") for name in names.values())
    assert {row.store_id for row in page.context["money"]} == {
        store for store, accounts in report.money.items() if any(accounts.values())
    }
    assert "2339563" in page.text and "(new store)" in page.text
    assert 'id="import-confirm-form"' in page.text and 'id="import-cancel-form"' in page.text
    assert 'http-equiv="refresh"' not in page.text  # nothing left for a worker to do
    assert database() == before
    assert len(stored(_stored_uploads)) == 1  # the bytes wait for the confirm


def test_confirm_imports_the_previewed_file(_stored_uploads):
    # given a preview without errors
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))

    # when it is confirmed
    result = post(client, confirm_url(page))

    # then the job is done and the file landed: each order in the state the export gives it
    assert result.status_code == 200
    job = job_of(result)
    assert job.status == ImportJob.Status.DONE and job.apply_attempts == 1
    assert job.import_file == ImportFile.objects.get() and job.confirmed_by == job.created_by
    report = result.context["report"]
    assert not report.dry_run and report.landed and not report.errors
    assert report.import_file == job.import_file
    assert 'href="/admin/backoffice/importfile/' in result.text  # the imported file, linked
    states = dict(Order.objects.values_list("order_number", "status"))
    want = expected()["orders"]
    assert {n: states[n] for n in order_numbers("orders-en.csv")} == {
        n: want[n] for n in order_numbers("orders-en.csv")
    }
    assert stored(_stored_uploads) == []  # the stored bytes are gone

    # and the same confirm cannot run twice
    before = database()
    again = post(client, confirm_url(page))
    assert messages_of(again) == ["This import cannot be confirmed now (it is Imported)."]
    assert database() == before


def test_the_job_report_is_the_report_the_importer_made():
    # the JSON kept on the job gives back the runner's report, money and moves included
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))
    result = post(client, confirm_url(page))

    report = result.context["report"]
    assert report.created == ImportFile.objects.get().created > 0
    assert report.money == page.context["report"].money
    assert report.moves == page.context["report"].moves


def test_an_xlsx_export_is_previewed_too():
    page = upload(signed_in(), "orders-en.xlsx", kind="orders")

    report = previewed(page).context["report"]
    assert report.kind == "orders" and not report.errors and report.created > 0


def test_a_bad_file_shows_every_error_on_the_job_page_and_offers_no_confirm(_stored_uploads):
    client = signed_in()
    before = database()

    page = upload(client, "orders-bad.csv")

    assert page.status_code == 200
    assert job_of(page).status == ImportJob.Status.FAILED
    assert page.context["errors"] == BAD_FILE_ERRORS
    for error in BAD_FILE_ERRORS:
        assert f"<li>{escape(error)}</li>" in page.text
    assert "The file has errors: nothing can be imported." in page.text
    assert not page.context["may_confirm"]
    assert 'id="import-confirm-form"' not in page.text
    assert "Import a corrected file" in page.text
    assert database() == before
    assert stored(_stored_uploads) == []  # nothing to confirm, nothing kept


def test_an_unreadable_file_fails_with_the_reason_on_the_job_page(_stored_uploads):
    page = upload(signed_in(), "notes.csv", content=b"hello,world\n1,2\n")

    job = job_of(page)
    assert job.status == ImportJob.Status.FAILED and job.error_field == "file"
    assert page.context["report"] is None
    assert 'id="import-job-error"' in page.text and escape(job.error) in page.text
    assert stored(_stored_uploads) == []


def test_finance_imports_exchange_rates():
    client = signed_in("finance")

    result = post(client, confirm_url(previewed(upload(client, "exchange-rates.csv"))))

    assert result.context["report"].landed
    assert ExchangeRate.objects.count() == result.context["report"].created > 0
    assert ImportFile.objects.get().actor == result.wsgi_request.user


def test_rows_the_user_may_not_apply_are_errors_of_the_preview():
    # finance alone may import, but not create stores or move orders: the services say so
    page = upload(signed_in("finance"), "orders-en.csv")

    assert not page.context["may_confirm"]
    assert any("You need the permission" in error for error in page.context["errors"])


# --- the confirm imports the previewed bytes or nothing ---


def test_a_stored_file_that_changed_since_the_preview_is_refused(_stored_uploads):
    # given a preview, after which the stored bytes are replaced by another export
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))
    (kept,) = stored(_stored_uploads)
    kept.write_bytes((SAMPLES / "orders-zh.csv").read_bytes())
    before = database()

    # when it is confirmed
    response = post(client, confirm_url(page))

    # then nothing is imported, the job failed and the changed file is thrown away
    refusal = "The stored file is not the one uploaded: nothing was imported. Upload it again."
    assert messages_of(response) == [refusal]
    assert job_of(page).status == ImportJob.Status.FAILED and job_of(page).error == refusal
    assert database() == before
    assert stored(_stored_uploads) == []


def test_a_file_sent_with_the_confirm_is_not_what_gets_imported():
    # given a preview of the English orders
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))

    # when the confirm comes with another file attached
    other = SimpleUploadedFile("orders-zh.csv", (SAMPLES / "orders-zh.csv").read_bytes())
    result = post(client, confirm_url(page), {"file": other})

    # then the previewed file is imported, and only it
    report = result.context["report"]
    assert report.landed and report.file_name == "orders-en.csv"
    assert set(Order.objects.values_list("order_number", flat=True)) == set(
        order_numbers("orders-en.csv")
    )


def test_someone_elses_job_cannot_be_seen_confirmed_or_cancelled():
    page = previewed(upload(signed_in(), "orders-en.csv"))
    other = signed_in()
    before = database()

    assert other.get(page.request["PATH_INFO"]).status_code == 404
    assert post(other, confirm_url(page)).status_code == 404
    assert post(other, cancel_url(page)).status_code == 404

    assert job_of(page).status == ImportJob.Status.PREVIEWED
    assert database() == before


def test_staff_who_may_manage_imports_confirm_someone_elses_preview():
    # given a preview by one importer, and another who may manage others' imports
    page = previewed(upload(signed_in(), "orders-en.csv"))
    manager = signed_in("importer", "manage_others_importjob")

    # when the manager confirms it
    result = post(manager, confirm_url(page))

    # then it is imported as the uploader previewed it (the rows run as the uploader)
    job = job_of(result)
    assert job.status == ImportJob.Status.DONE
    assert job.confirmed_by == result.wsgi_request.user != job.created_by
    assert ImportFile.objects.get().actor == job.created_by


def test_an_expired_preview_cannot_be_confirmed(settings, _stored_uploads):
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))
    settings.IMPORT_CONFIRM_MAX_AGE = -1
    before = database()

    response = post(client, confirm_url(page))

    assert messages_of(response) == ["This preview is too old: upload the file again."]
    assert job_of(page).status == ImportJob.Status.CANCELLED
    assert database() == before
    assert stored(_stored_uploads) == []


def test_cancel_drops_the_job_and_its_bytes(_stored_uploads):
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))
    before = database()

    response = post(client, cancel_url(page))

    assert response.status_code == 200 and response.context["title"] == "Import a platform export"
    assert messages_of(response) == ["orders-en.csv: the import was cancelled."]
    assert job_of(page).status == ImportJob.Status.CANCELLED
    assert stored(_stored_uploads) == []
    # and a cancelled job cannot be confirmed any more
    refused = post(client, confirm_url(page))
    assert messages_of(refused) == ["This import cannot be confirmed now (it is Cancelled)."]
    assert database() == before


def test_a_job_already_imported_cannot_be_cancelled():
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))
    post(client, confirm_url(page))

    response = post(client, cancel_url(page))

    assert messages_of(response) == ["This import cannot be cancelled now (it is Imported)."]
    assert job_of(page).status == ImportJob.Status.DONE


def test_a_queued_job_page_refreshes_itself_and_shows_its_progress():
    # given a job a worker has not finished (its stages are not run here)
    client = signed_in()
    user = client.get(reverse("admin:index")).wsgi_request.user
    job = f.import_job(created_by=user, status=ImportJob.Status.APPLYING, done=4000, total=10000)

    page = client.get(reverse("admin:backoffice_importjob_page", args=[job.pk]))

    assert page.status_code == 200 and page.context["report"] is None
    assert '<meta http-equiv="refresh" content="2">' in page.text
    assert "4000 rows done of 10000." in page.text
    assert not page.context["may_confirm"] and not page.context["may_cancel"]


def test_the_import_jobs_list_shows_a_user_their_own_jobs():
    client = signed_in()
    mine = previewed(upload(client, "orders-en.csv"))
    previewed(upload(signed_in(), "exchange-rates.csv"))

    page = client.get(reverse("admin:backoffice_importjob_changelist"))

    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [job_of(mine)]
    assert reverse("admin:backoffice_importjob_page", args=[job_of(mine).pk]) in page.text


# --- who may import ---


@pytest.mark.parametrize("role", ["support", "risk", None])
def test_staff_without_the_import_permission_get_403(role):
    page = previewed(upload(signed_in(), "orders-en.csv"))
    client = signed_in(role)
    before = database()

    assert client.get(ADD_URL).status_code == 403
    assert upload(client, "orders-en.csv").status_code == 403
    assert client.get(page.request["PATH_INFO"]).status_code == 403
    assert post(client, confirm_url(page)).status_code == 403
    assert "import-platform-export-link" not in client.get(reverse("admin:index")).text
    assert database() == before
    assert ImportJob.objects.count() == 1


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
    page = previewed(upload_for_store(client, "2339563"))

    # then the preview says which store, and writes nothing
    report = page.context["report"]
    assert not report.errors and report.created == 2
    assert page.context["store"].platform_id == "2339563" and not page.context["store"].new
    assert "For store <strong>2339563</strong>" in page.text and "Sunrise Gadgets" in page.text
    assert database() == before

    # and the confirm imports both orders into that store
    result = post(client, confirm_url(page))
    assert result.context["report"].landed
    assert set(store.orders.values_list("order_number", flat=True)) == {
        "8000000000000001",
        "8000000000000002",
    }
    assert SellerAccount.objects.count() == 1


def test_a_new_store_is_created_with_the_name_given_on_the_upload():
    client = signed_in()

    page = previewed(upload_for_store(client, "7770001", "Tiny Shop"))

    assert page.context["store"].new and page.context["store"].name == "Tiny Shop"
    assert "importing creates it as <strong>Tiny Shop</strong>" in page.text
    assert not SellerAccount.objects.exists()

    result = post(client, confirm_url(page))

    assert result.context["report"].landed
    store = SellerAccount.objects.get()
    assert (store.platform_store_id, store.name) == ("7770001", "Tiny Shop")
    assert store.orders.count() == 2
    assert "(Tiny Shop), created by this import" in result.text


def test_a_new_store_without_a_name_fails_naming_the_field(_stored_uploads):
    before = database()

    page = upload_for_store(signed_in(), "7770001")

    job = job_of(page)
    assert (job.status, job.error_field) == (ImportJob.Status.FAILED, "store_name")
    assert job.error == (
        "store 7770001 is not in the back-office: give its name to create it "
        "(--store-name, or the import page's new store name)"
    )
    assert "New store&#x27;s name: store 7770001 is not in the back-office" in page.text
    assert database() == before
    assert stored(_stored_uploads) == []


def test_a_malformed_store_id_is_an_error_of_the_form():
    page = upload_for_store(signed_in(), "23 39/563", "Tiny Shop")

    assert page.status_code == 200 and "report" not in page.context
    assert page.context["form"].errors["store"] == [
        "not a platform store id: letters, digits, - and _ only."
    ]
    assert not ImportJob.objects.exists()


def test_a_store_for_a_file_that_names_its_stores_fails_naming_the_field():
    page = post(
        signed_in(),
        ADD_URL,
        {
            "file": SimpleUploadedFile("rates.csv", (SAMPLES / "exchange-rates.csv").read_bytes()),
            "tz": "America/Los_Angeles",
            "store": "2339563",
        },
    )

    job = job_of(page)
    assert (job.status, job.error_field) == (ImportJob.Status.FAILED, "store")
    assert "not imported for one store" in job.error


def test_the_confirm_imports_for_the_previewed_store_whatever_else_is_posted():
    client = signed_in()
    page = previewed(upload_for_store(client, "7770001", "Tiny Shop"))

    result = post(client, confirm_url(page), {"store": "7770002", "store_name": "X"})

    assert result.context["report"].landed
    assert list(SellerAccount.objects.values_list("platform_store_id", "name")) == [
        ("7770001", "Tiny Shop")
    ]


def test_row_warnings_are_listed_on_the_preview_with_their_count():
    # given a preview whose report carries row warnings (the importer's, past its cap)
    client = signed_in()
    page = previewed(upload_for_store(client, "7770001", "Tiny Shop"))
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


def test_a_stage_run_again_after_the_job_is_done_changes_nothing():
    # given an imported job (as if a worker crashed after the commit and the stage came back)
    client = signed_in()
    page = previewed(upload(client, "orders-en.csv"))
    job = job_of(post(client, confirm_url(page)))
    before = database()

    # when its stages run again
    run_apply(job.pk)
    run_preview(job.pk)

    # then nothing is imported twice and the job is as it was
    assert database() == before
    assert job_of(page).status == ImportJob.Status.DONE and job_of(page).apply_attempts == 1


def test_the_time_zone_picker_lists_common_zones_first_then_by_region() -> None:
    from backoffice.composition.admin_imports import timezone_choices

    (_label, common), *regions = timezone_choices()
    assert common[0] == ("America/Los_Angeles", "America/Los_Angeles")
    assert ("Asia/Shanghai", "Asia/Shanghai") in common
    assert [label for label, _zones in regions][:3] == ["Africa", "America", "Antarctica"]
