"""Small files for the importer's tests, written in ``tmp_path``."""

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl

SAMPLES = Path(__file__).parent / "samples"  # byte-exact copies of shared/platform-exports/samples


def expected() -> dict[str, Any]:
    return json.loads((SAMPLES / "expected.json").read_text())


def write_csv(
    tmp_path: Path,
    lines: list[str],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
    name: str = "export.csv",
) -> Path:
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


class StoredNumber(str):
    """A number cell whose XML text is this string, as Excel writes a large one
    (``8.1234567890123E+15``); openpyxl reads it back as a float."""


def write_xlsx(tmp_path: Path, rows: list[list[Any]], *, name: str = "export.xlsx") -> Path:
    """A workbook whose first sheet holds ``rows`` (``None`` rows are left out: a gap)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row or [], start=1):
            if value is not None:
                cell = sheet.cell(row=number, column=column, value=value)
                if isinstance(value, StoredNumber):
                    cell.data_type = "n"
    workbook.create_sheet("Second")["A1"] = "not read"
    path = tmp_path / name
    workbook.save(path)
    return path


ORDER_HEADERS = [
    "Order No.",
    "Store ID",
    "Store Name",
    "Order Status",
    "Buyer Name",
    "Buyer Country",
    "Order Time",
    "Payment Time",
    "Payment Method",
    "Product Total",
    "Shipping Cost",
    "Order Amount",
    "Product Info",
    "Carrier:Tracking No.",
    "Shipping Time",
    "Confirmed Time",
    "After-sales Protection",
    "End Reason",
]
# One order at each stage of its life, as an export shows it (platform time, no offset).
ORDER_STAGES: dict[str, dict[str, str]] = {
    "unpaid": {"Order Status": "Awaiting payment"},
    "paid": {
        "Order Status": "Awaiting shipment",
        "Payment Time": "2026-03-02 10:00:00",
        "Payment Method": "Credit Card",
    },
    "shipped": {
        "Order Status": "Awaiting delivery",
        "Payment Time": "2026-03-02 10:00:00",
        "Payment Method": "Credit Card",
        "Carrier:Tracking No.": "Cainiao:LP00123456789CN",
        "Shipping Time": "2026-03-04 10:00:00",
    },
    "completed": {
        "Order Status": "Finished",
        "Payment Time": "2026-03-02 10:00:00",
        "Payment Method": "Credit Card",
        "Carrier:Tracking No.": "Cainiao:LP00123456789CN",
        "Shipping Time": "2026-03-04 10:00:00",
        "Confirmed Time": "2026-03-20 10:00:00",
        "End Reason": "buyer_accept_goods",
    },
    "refunded": {
        "Order Status": "Finished",
        "Payment Time": "2026-03-02 10:00:00",
        "Payment Method": "Credit Card",
        "End Reason": "refunded",
    },
    "cancelled": {"Order Status": "Finished", "End Reason": "buyer_cancel"},
    "disputed": {
        "Order Status": "In dispute",
        "Payment Time": "2026-03-02 10:00:00",
        "Payment Method": "Credit Card",
        "Carrier:Tracking No.": "Cainiao:LP00123456789CN",
        "Shipping Time": "2026-03-04 10:00:00",
    },
}


def order_row(number: str, stage: str = "unpaid", **cells: str) -> dict[str, str]:
    """One orders-export row (by English header) for an order at ``stage``; ``cells`` override,
    with underscores for spaces (``Store_ID="123"``)."""
    row = {
        "Order No.": number,
        "Store ID": "7000001",
        "Store Name": "Test Store",
        "Buyer Name": "Ana Souza",
        "Buyer Country": "BR",
        "Order Time": "2026-03-01 10:00:00",
        "Order Amount": "US $100.00",
        "After-sales Protection": "N",
        **ORDER_STAGES[stage],
    }
    row.update({name.replace("_", " "): value for name, value in cells.items()})
    return row


def write_orders(tmp_path: Path, rows: list[dict[str, str]], *, name: str = "orders.csv") -> Path:
    """An orders export (English headers, UTF-8) with ``rows`` from :func:`order_row`."""
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, ORDER_HEADERS)
        writer.writeheader()
        writer.writerows(rows)
    return path
