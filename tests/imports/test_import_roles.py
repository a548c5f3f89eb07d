"""Imports run the services as the uploader: the importer role holds what the rows need."""

from backoffice.composition.imports.runner import import_export
from orders.models import Order
from tests import factories as f

from .helpers import SAMPLES, expected


def test_finance_with_the_importer_role_imports_orders_and_disputes():
    clerk = f.staff("finance")
    clerk.groups.add(*f.staff("importer").groups.all())
    for name in ("orders-en.csv", "orders-zh.csv", "disputes-en.csv"):
        report = import_export(SAMPLES / name, actor=clerk, file_name=name)
        assert report.errors == [] and report.landed, report.errors
    states = dict(Order.objects.values_list("order_number", "status"))
    assert {n: states[n] for n in expected()["orders"]} == expected()["orders"]


def test_finance_alone_is_refused_row_by_row_and_nothing_lands():
    report = import_export(SAMPLES / "orders-en.csv", actor=f.staff("finance"))
    assert report.errors and not report.landed
    assert not Order.objects.exists()
