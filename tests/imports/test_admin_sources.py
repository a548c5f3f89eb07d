"""Where an imported record came from, in the admin (backoffice/admin_sources.py): the record's
page names its file, line and hash and links to the imported file; the imported file's page
links to the lists of its records."""

import hashlib
from pathlib import Path

from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.composition.imports.runner import import_export
from backoffice.models import ImportFile
from disputes.models import Dispute
from orders.models import Order
from payouts.models import ExchangeRate, PromotionMovement
from tests import factories as f

from .helpers import SAMPLES, order_row, write_orders
from .test_import_disputes import disputes_file, line, shipped_orders
from .test_import_samples import ALL_FILES

N1, N2, N3 = "8000000000000001", "8000000000000002", "8000000000000003"


def imported(path: Path) -> ImportFile:
    report = import_export(path)
    assert report.errors == [], report.error_lines()
    return report.import_file


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_page(client: Client, record) -> HttpResponse:
    opts = record._meta
    response = client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
    )
    assert response.status_code == 200
    return response


def file_url(import_file: ImportFile) -> str:
    return reverse("admin:backoffice_importfile_change", args=[import_file.pk])


def readonly(contents: str) -> str:
    """A read-only field on an admin change page, as Django renders it."""
    return f'<div class="readonly">{contents}</div>'


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the record's page ---


def test_an_imported_orders_page_shows_its_file_line_and_short_hash_linked_to_the_file(tmp_path):
    # given an orders export of two orders, imported
    path = write_orders(tmp_path, [order_row(N1), order_row(N2)], name="orders-2026-03.csv")
    source = imported(path)
    digest = sha256_of(path)

    # when finance (who may view imported files) opens the second order
    page = change_page(signed_in(f.staff("finance")), Order.objects.get(order_number=N2))

    # then its "Source" names the file and line 3 (the header is line 1), linked to the
    # imported file's page, and the first 12 hex digits of the file's SHA-256
    assert 'class="fieldset-heading">Source</h2>' in page.text
    assert "Imported from:" in page.text
    assert (
        readonly(
            f'<a href="{file_url(source)}">orders-2026-03.csv, line 3</a> '
            f'(<span title="{digest}">sha256 {digest[:12]}…</span>)'
        )
        in page.text
    )


def test_an_order_no_import_touched_says_not_imported():
    # given an order made through the services
    order = f.order(status="paid")

    # when a support agent opens it
    page = change_page(signed_in(f.staff("support")), order)

    # then its source says so
    assert readonly("not imported") in page.text


def test_staff_who_may_not_view_imported_files_see_the_source_without_a_link(tmp_path):
    # given an imported order
    path = write_orders(tmp_path, [order_row(N1)], name="orders-2026-03.csv")
    source = imported(path)
    digest = sha256_of(path)

    # when support (no backoffice.view_importfile) opens it
    page = change_page(signed_in(f.staff("support")), Order.objects.get(order_number=N1))

    # then the file, line and hash are there as text, with no link to a page they would be
    # refused
    assert (
        readonly(
            f'orders-2026-03.csv, line 2 (<span title="{digest}">sha256 {digest[:12]}…</span>)'
        )
        in page.text
    )
    assert file_url(source) not in page.text


def test_every_kind_of_imported_record_shows_its_source():
    # given every sample export imported
    for name in ALL_FILES:
        imported(SAMPLES / name)
    records = [
        Order.objects.get(order_number="8756160904301048"),
        Dispute.objects.get(platform_dispute_id="5326719673647"),
        PromotionMovement.objects.get(reference="P2339563-0000"),
        ExchangeRate.objects.order_by("date").first(),
    ]
    client = signed_in(f.superuser())

    for record, (name, line_number) in zip(
        records,
        [
            ("orders-en.csv", 2),
            ("disputes-en.csv", 3),
            ("promotion-zh.csv", 2),
            ("exchange-rates.csv", 2),
        ],
        strict=True,
    ):
        # when an admin opens the record
        page = change_page(client, record)

        # then it links to its file, at its line
        digest = sha256_of(SAMPLES / name)
        expected = (
            f'<a href="{file_url(record.source_file)}">{name}, line {line_number}</a> '
            f'(<span title="{digest}">sha256 {digest[:12]}…</span>)'
        )
        assert readonly(expected) in page.text, type(record).__name__


# --- the imported file's page and the filtered lists ---


def test_the_files_page_links_to_the_list_of_exactly_its_orders(tmp_path):
    # given two orders exports: the first creates two orders, the second one more
    first = imported(write_orders(tmp_path, [order_row(N1), order_row(N2)], name="monday.csv"))
    second = imported(write_orders(tmp_path, [order_row(N3)], name="tuesday.csv"))
    client = signed_in(f.staff("finance"))

    # when finance opens the first file's page
    page = client.get(file_url(first))

    # then it links to the orders list filtered on that file, with their count
    list_url = f"{reverse('admin:orders_order_changelist')}?source_file__id__exact={first.pk}"
    assert readonly(f'<a href="{list_url}">Orders from this file (2)</a>') in page.text

    # and that list shows exactly the file's orders
    listed = client.get(list_url)
    assert listed.status_code == 200
    assert sorted(o.order_number for o in listed.context["cl"].result_list) == [N1, N2]
    # with the file offered (and chosen) in the list's filter
    assert str(second) in listed.text and str(first) in listed.text


def test_a_later_file_that_moves_an_order_takes_it_over(tmp_path):
    # given an order created by one file, then paid by a later one
    first = imported(write_orders(tmp_path, [order_row(N1), order_row(N2)], name="monday.csv"))
    second = imported(write_orders(tmp_path, [order_row(N1, "paid")], name="tuesday.csv"))
    client = signed_in(f.staff("finance"))

    # when finance opens each file's page
    first_page, second_page = client.get(file_url(first)), client.get(file_url(second))

    # then each counts the orders that point at it now
    assert "Orders from this file (1)" in first_page.text
    assert "Orders from this file (1)" in second_page.text


def test_staff_without_view_permission_on_disputes_see_no_disputes_link(tmp_path):
    # given shipped orders, then a disputes export opening one dispute
    shipped_orders(tmp_path)
    disputes = imported(disputes_file(tmp_path, [line("D1", "WAIT_SELLER_CONFIRM_REFUND")]))
    dispute_list = reverse("admin:disputes_dispute_changelist")

    # when an admin opens the disputes file's page
    admins = signed_in(f.superuser()).get(file_url(disputes))
    # then it links to the dispute
    text = "Disputes from this file (1)"
    link = f'<a href="{dispute_list}?source_file__id__exact={disputes.pk}">{text}</a>'
    assert link in admins.text

    # when finance, who may view imported files but not disputes, opens it
    finance = signed_in(f.staff("finance")).get(file_url(disputes))

    # then there is no link to the disputes list
    assert finance.status_code == 200
    assert dispute_list not in finance.text
    assert "Disputes from this file" not in finance.text


def test_a_file_without_records_left_says_so(tmp_path):
    # given an orders export whose only order a later export moved
    first = imported(write_orders(tmp_path, [order_row(N1)], name="monday.csv"))
    imported(write_orders(tmp_path, [order_row(N1, "paid")], name="tuesday.csv"))

    # when finance opens the first file's page
    page = signed_in(f.staff("finance")).get(file_url(first))

    # then there is nothing to link to
    assert (
        readonly("None you may view (a record moved by a later file points at that file).")
        in page.text
    )


# --- queries ---


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_files_page_costs_the_same_queries_for_1_and_30_records(tmp_path):
    # given a file of one order and a file of thirty
    client = signed_in(f.superuser())
    one = imported(write_orders(tmp_path, [order_row(N1)], name="one.csv"))
    rows = [order_row(str(8_000_000_000_000_100 + i)) for i in range(30)]
    thirty = imported(write_orders(tmp_path, rows, name="thirty.csv"))
    queries(client, file_url(one))  # warm Django's per-process caches (content types) first

    # when each file's page is opened, then both cost the same queries (one counts them all)
    assert queries(client, file_url(one)) == queries(client, file_url(thirty))


def test_the_orders_list_filtered_on_a_file_costs_the_same_queries_for_1_and_30_files(tmp_path):
    # given one imported orders file, its filtered list loaded once
    client = signed_in(f.superuser())
    source = imported(write_orders(tmp_path, [order_row(N1), order_row(N2)], name="first.csv"))
    filtered = f"{reverse('admin:orders_order_changelist')}?source_file__id__exact={source.pk}"
    queries(client, filtered)  # warm the per-process caches
    few = queries(client, filtered)

    # when 29 more files land (each one more choice of the filter)
    for i in range(29):
        number = str(8_000_000_000_000_200 + i)
        imported(write_orders(tmp_path, [order_row(number)], name=f"{i}.csv"))

    # then the list costs the same queries, and still shows the first file's orders only
    with CaptureQueriesContext(connection) as captured:
        listed = client.get(filtered)
    assert ImportFile.objects.count() == 30
    assert len(captured) == few
    assert sorted(o.order_number for o in listed.context["cl"].result_list) == [N1, N2]
