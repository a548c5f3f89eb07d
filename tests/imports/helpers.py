"""Small files for the importer's tests, written in ``tmp_path``."""

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
