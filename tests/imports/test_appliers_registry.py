"""Each app registers the applier of the exports whose records it owns; the composition root
lists them in order and a list that misses one stops the start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from backoffice.composition.imports.appliers import IMPORT_APPLIERS
from backoffice.imports import appliers
from backoffice.imports.headers import Kind


def test_every_kind_of_export_has_the_applier_of_the_app_that_owns_its_records():
    found = {kind: cls.__module__ for kind, cls in appliers.appliers().items()}
    assert found == {
        "exchange_rates": "payouts.imports",
        "orders": "orders.imports",
        "disputes": "disputes.imports",
        "promotion": "payouts.imports",
    }
    assert list(found) == list(IMPORT_APPLIERS)


@pytest.mark.parametrize(
    "kinds",
    [
        ("exchange_rates", "orders", "disputes"),  # promotion missing
        (*IMPORT_APPLIERS, "refunds"),  # unknown
        (*IMPORT_APPLIERS, "orders"),  # twice
    ],
)
def test_an_order_that_does_not_name_every_kind_once_stops_the_start_up(kinds):
    with pytest.raises(ImproperlyConfigured, match="IMPORT_APPLIERS"):
        appliers.set_order(kinds)
    assert list(appliers.appliers()) == list(IMPORT_APPLIERS)  # the order in force is kept


def test_a_kind_without_a_registered_applier_stops_the_start_up(monkeypatch):
    monkeypatch.delitem(appliers._appliers, Kind.PROMOTION)
    with pytest.raises(ImproperlyConfigured, match=r"without applier \['promotion'\]"):
        appliers.set_order(IMPORT_APPLIERS)
