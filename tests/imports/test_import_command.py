"""The import_platform_export command of CONTRACT.md: summary, error lines, exit codes."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import Order

from .helpers import SAMPLES, order_row, write_orders
from .test_import_samples import counts


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_platform_export", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_platform_export", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), exc.value


def test_a_file_that_lands_prints_its_summary_and_exits_0():
    out, err = run(SAMPLES / "orders-en.csv")

    assert out == "created 20, updated 0, unchanged 0, errors 0\n"
    assert err == ""
    assert Order.objects.count() == 20


def test_a_rejected_file_prints_every_error_and_exits_1():
    before = counts()

    out, _, exc = run_failing(SAMPLES / "orders-bad.csv")

    assert out.splitlines() == [
        "created 0, updated 0, unchanged 0, errors 5",
        "line 3: Order No.: scientific notation: digits lost",
        "line 5: Order Amount: negative amount",
        "line 6: Order Status: unknown status: 'Teleported'",
        "line 7: Order Amount: more than 2 decimals",
        "line 8: Payment Time: shipped order without payment/shipping time and tracking",
    ]
    assert exc.returncode == 1 and "nothing was written" in str(exc)
    assert counts() == before


def test_a_dry_run_shows_moves_and_money_and_writes_nothing(tmp_path):
    path = write_orders(tmp_path, [order_row("8000000000000001", "completed")])

    out, _ = run(path, "--dry-run")

    assert out.splitlines() == [
        "created 1, updated 0, unchanged 0, errors 0",
        "new stores: 7000001",
        "moves:",
        "  new -> completed: 1",
        "money:",
        "  store 7000001: available USD +100.00",
        "dry run: nothing was written",
    ]
    assert counts()["Order"] == counts()["SellerAccount"] == 0


def test_the_timezone_is_checked_and_used(tmp_path):
    path = write_orders(tmp_path, [order_row("8000000000000001")])

    _, _, exc = run_failing(path, "--timezone", "Mars/Olympus")
    run(path, "--timezone", "UTC")

    assert "--timezone: unknown time zone 'Mars/Olympus'" in str(exc)
    assert Order.objects.get().placed_at.isoformat() == "2026-03-01T10:00:00+00:00"


def test_a_file_of_another_kind_or_unreadable_is_refused(tmp_path):
    _, _, wrong_kind = run_failing(SAMPLES / "orders-en.csv", "--kind", "disputes")
    _, _, missing = run_failing(tmp_path / "nowhere.csv")

    assert "missing required columns for disputes" in str(wrong_kind)
    assert "cannot open" in str(missing)


def test_an_unknown_column_warns_once_on_stderr(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order No.,Store ID,Store Name,Order Status,Order Time,Order Amount,Remark\n"
        "8000000000000001,7000001,Shop,Awaiting payment,2026-03-01 10:00,$10.00,x\n"
        "8000000000000002,7000001,Shop,Awaiting payment,2026-03-01 10:00,$10.00,y\n"
    )

    out, err = run(path)

    assert err == "warning: unknown column 'Remark' ignored\n"
    assert out.startswith("created 2,")


def test_progress_draws_a_bar_on_request(tmp_path):
    rows = [order_row(str(8_000_000_000_000_001 + i)) for i in range(5)]

    out, err = run(write_orders(tmp_path, rows), "--progress")

    assert out.startswith("created 5,")
    assert "5 rows" in err
