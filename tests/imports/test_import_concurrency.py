"""Two imports at the same moment, on PostgreSQL (row locks; SQLite serialises its writers).

Marked ``postgres``: selected only in the PostgreSQL run, never skipped. Each import runs in a
thread with its own connection, so the data is committed: ``transaction=True``.
"""

import pytest

from accounts.models import SellerAccount
from backoffice.composition.imports.runner import import_export
from backoffice.imports.errors import ImportConflict
from orders.models import Order, OrderTransition
from payouts.models import Posting
from tests import factories as f
from tests.test_postgres_concurrency import in_threads, racing

from .helpers import order_row, write_orders
from .test_import_samples import assert_ledger_balanced

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STAGES = ["unpaid", "paid", "shipped", "completed", "refunded", "cancelled", "disputed"]


def orders_file(tmp_path, name: str = "export.csv"):
    rows = [
        order_row(str(8_000_000_000_000_100 + i), stage, Store_ID=str(7_000_001 + i % 3))
        for i, stage in enumerate(STAGES * 6)
    ]
    return write_orders(tmp_path, rows, name=name)


def test_the_same_file_imported_twice_at_once_lands_once(tmp_path):
    path = orders_file(tmp_path)

    first, second = in_threads(lambda: import_export(path), lambda: import_export(path))

    reports = sorted([first, second], key=lambda report: report.created)
    assert [(r.created, r.unchanged, r.error_count) for r in reports] == [(0, 42, 0), (42, 0, 0)]
    assert Order.objects.count() == 42
    assert OrderTransition.objects.filter(transition="pay").count() == 6 * 5
    assert Posting.objects.filter(kind=Posting.Kind.PAYMENT).count() == 6 * 5
    assert_ledger_balanced()


def test_a_store_created_meanwhile_refuses_the_import_whole_with_a_clear_error(tmp_path):
    # given a store the file names, being created (not committed yet) by someone else
    path = orders_file(tmp_path)

    # when the import runs into it (it waits on the unique index) and the other side commits
    error = racing(lambda: f.store(platform_store_id="7000001"), lambda: import_export(path))

    # then the import is refused whole, saying why, and the other store stands
    assert isinstance(error, ImportConflict)
    assert "accounts_selleraccount_platform_store_id_key" in str(error)
    assert str(error).endswith("nothing was written, import the file again")
    assert Order.objects.count() == 0
    assert list(SellerAccount.objects.values_list("platform_store_id", flat=True)) == ["7000001"]
