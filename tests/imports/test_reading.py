import codecs
import io
import tracemalloc
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import xlwt
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.composition.imports.runner import import_export
from backoffice.imports.errors import FileError
from backoffice.imports.reading import detect_encoding, open_table
from orders.models import Order

from .helpers import ORDER_HEADERS, SAMPLES, StoredNumber, order_row, write_csv, write_xlsx


def read(source) -> tuple[tuple[str, ...], list[tuple[int, tuple]]]:
    with open_table(source) as table:
        return table.headers, [(row.line, row.values) for row in table.rows]


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "first_header", "count"),
    [
        ("orders-en.csv", "utf-8", ",", "Order No.", 20),
        ("orders-zh.csv", "gb18030", ",", "订单号", 20),
        ("orders-bad.csv", "utf-8", ",", "Order No.", 8),
        ("disputes-en.csv", "utf-8", ",", "Dispute ID", 3),
        ("promotion-zh.csv", "gb18030", "\t", "店铺ID", 52),
        ("exchange-rates.csv", "utf-8-sig", ",", "Date", 60),
        ("orders-en.xlsx", None, None, " ORDER NO. ", 8),
    ],
)
def test_every_sample_opens_with_its_encoding_and_delimiter(
    name, encoding, delimiter, first_header, count
):
    with open_table(SAMPLES / name) as table:
        rows = list(table.rows)
        assert (table.encoding, table.delimiter) == (encoding, delimiter)
        assert table.headers[0] == first_header
    assert [row.line for row in rows] == list(range(2, count + 2))
    assert all(len(row.values) == len(table.headers) for row in rows)


def test_a_bom_is_read_as_utf8_sig_and_dropped_from_the_first_header(tmp_path):
    path = write_csv(tmp_path, ["Date,Currency", "2026-03-01,USD"], encoding="utf-8-sig")
    with open_table(path) as table:
        assert table.encoding == "utf-8-sig"
        assert table.headers == ("Date", "Currency")


def test_gb18030_is_decoded(tmp_path):
    path = write_csv(tmp_path, ["订单号,买家名称", "1,张伟"], encoding="gb18030")
    assert read(path) == (("订单号", "买家名称"), [(2, ("1", "张伟"))])


def test_the_encoding_is_decided_by_the_whole_file_not_its_start(tmp_path):
    lines = ["Order No.,Buyer Name"] + [f"{n},Ana" for n in range(20_000)] + ["9,张伟"]
    path = write_csv(tmp_path, lines, encoding="gb18030")
    with open_table(path) as table:
        assert table.encoding == "gb18030"
        assert list(table.rows)[-1].values == ("9", "张伟")


def test_a_tab_separated_header_line_makes_the_file_tab_separated(tmp_path):
    path = write_csv(tmp_path, ["Store ID\tAmount", "1\tUS $1,234.56"])
    assert read(path) == (("Store ID", "Amount"), [(2, ("1", "US $1,234.56"))])


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_crlf_and_lf_read_the_same(tmp_path, newline):
    path = write_csv(tmp_path, ["a,b", "1,2", "3,4"], newline=newline)
    assert read(path) == (("a", "b"), [(2, ("1", "2")), (3, ("3", "4"))])


def test_empty_rows_are_skipped_but_keep_their_line_numbers(tmp_path):
    path = write_csv(tmp_path, ["a,b", "", "1,2", ",", " , ", "3,4"])
    assert read(path)[1] == [(3, ("1", "2")), (6, ("3", "4"))]


def test_a_quoted_line_break_is_one_spreadsheet_row(tmp_path):
    path = write_csv(tmp_path, ["a,b", '1,"two\nlines"', "3,4"])
    assert read(path)[1] == [(2, ("1", "two\nlines")), (3, ("3", "4"))]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,b\n1,\xff\xff\n", "not text in UTF-8 or GB18030"),
        (codecs.BOM_UTF8 + b"a,b\n1,\xff\n", "byte order mark but line 2 is not UTF-8"),
        ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        (b"a,b\n1,\x002\n", "NUL bytes"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04 not really a zip", "not a readable XLSX"),
        (b"", "the file is empty"),
        (b",,\n1,2,3\n", "line 1 has no headers"),
    ],
)
def test_unreadable_files_are_a_clear_file_error(tmp_path, data, message):
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    with pytest.raises(FileError, match=message):
        read(path)


def test_a_missing_path_is_a_file_error(tmp_path):
    with pytest.raises(FileError, match="cannot open"):
        read(tmp_path / "nope.csv")


def test_detect_encoding_leaves_the_stream_at_its_start():
    stream = io.BytesIO("a,张\n".encode())
    assert detect_encoding(stream) == "utf-8"
    assert stream.tell() == 0


def test_an_uploaded_file_is_read_from_its_start_and_left_open():
    upload = SimpleUploadedFile("orders.csv", (SAMPLES / "orders-zh.csv").read_bytes())
    upload.read(10)
    headers, rows = read(upload)
    assert headers[0] == "订单号" and len(rows) == 20
    assert not upload.closed
    upload.seek(0)
    assert upload.read(2) == b"\xb6\xa9"  # still usable: 订 in GB18030


def test_a_stream_that_cannot_seek_is_spooled():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert read(Pipe(b"a,b\r\n1,2\r\n")) == (("a", "b"), [(2, ("1", "2"))])


def test_xlsx_first_sheet_keeps_typed_cells_and_line_numbers_over_gaps(tmp_path):
    ordered = datetime(2026, 3, 9, 14, 5, 33)
    path = write_xlsx(
        tmp_path,
        [
            [" Order No. ", "Order Time", "Order Amount", None],
            [8756160904301048, ordered, 12.5, None],
            None,
            ["8.1234567890123E+15", "2026-03-09 14:05", "US $1.00"],
            [None, "  ", None],
            [StoredNumber("8.1234567890123E+15"), None, 3],
        ],
    )
    headers, rows = read(path)
    assert headers == (" Order No. ", "Order Time", "Order Amount")
    assert rows == [
        (2, (8756160904301048, ordered, 12.5)),
        (4, ("8.1234567890123E+15", "2026-03-09 14:05", "US $1.00")),
        (6, (8.1234567890123e15, None, 3)),
    ]
    assert [type(value) for value in rows[2][1]] == [float, type(None), int]


def test_reading_a_large_csv_streams_in_constant_memory(tmp_path):
    path = tmp_path / "big.csv"
    row = "8756160904301048,2339563,Shenzhen Gadget Co.,Awaiting payment,José Muñoz,US $12.34\r\n"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Order No.,Store ID,Store Name,Order Status,Buyer Name,Order Amount\r\n")
        for _ in range(200_000):
            out.write(row)
    assert path.stat().st_size > 15_000_000

    tracemalloc.start()
    try:
        with open_table(path) as table:
            count = sum(1 for _ in table.rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000, f"peak {peak:,} bytes: the file was loaded, not streamed"


# --- old Excel .xls (written with xlwt, read with xlrd) ---


def write_xls(tmp_path, rows, *, name="export.xls"):
    """An Excel 97-2003 workbook whose first sheet holds ``rows`` (``None`` cells left empty;
    datetimes with a date format, as Excel stores a date cell)."""
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Orders")
    as_date = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for number, row in enumerate(rows):
        for column, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write(number, column, value, as_date)
            elif value is not None:
                sheet.write(number, column, value)
    workbook.add_sheet("Second").write(0, 0, "not read")
    path = tmp_path / name
    workbook.save(str(path))
    return path


def test_xls_cells_come_back_typed_as_the_xlsx_path_types_them(tmp_path):
    ordered = datetime(2026, 3, 9, 14, 5, 33)
    path = write_xls(
        tmp_path,
        [
            ["Order No.", "Order Time", "Order Amount", "Paid", "Buyer Name", "Note"],
            [8756160904301048, ordered, 12.5, True, "张伟", None],
            [None, None, None],
            ["8756160904301048", "2026-03-09 14:05", 3, False],
        ],
    )
    with open_table(path) as table:
        rows = [(row.line, row.values) for row in table.rows]
        assert (table.format, table.headers[0]) == ("xls", "Order No.")

    assert rows == [
        (2, (8.756160904301048e15, ordered, 12.5, True, "张伟", None)),
        (4, ("8756160904301048", "2026-03-09 14:05", 3, False, None, None)),
    ]
    # a 16-digit number is a float from 1e15 on: "scientific notation: digits lost"
    assert [type(value) for value in rows[0][1][:4]] == [float, datetime, float, bool]
    assert type(rows[1][1][2]) is int


def test_an_xls_orders_export_lands(tmp_path):
    rows = [order_row(f"800000000000000{n}", "paid") for n in range(1, 4)]
    path = write_xls(
        tmp_path,
        [
            ORDER_HEADERS,
            *[
                [
                    datetime.fromisoformat(row[name]) if name == "Order Time" else row.get(name)
                    for name in ORDER_HEADERS
                ]
                for row in rows
            ],
        ],
    )

    report = import_export(path)

    assert report.landed, report.error_lines()
    assert report.created == 3
    assert set(Order.objects.values_list("order_number", "status")) == {
        (f"800000000000000{n}", "paid") for n in range(1, 4)
    }
    assert Order.objects.get(order_number="8000000000000001").placed_at == datetime(
        2026, 3, 1, 10, tzinfo=ZoneInfo("America/Los_Angeles")
    )


def test_an_xls_order_number_stored_as_a_number_lost_its_digits(tmp_path):
    row = order_row("8000000000000001")
    cells = [row.get(name) for name in ORDER_HEADERS]
    cells[0] = 8000000000000001

    report = import_export(write_xls(tmp_path, [ORDER_HEADERS, cells]))

    assert report.error_lines() == ["line 2: Order No.: scientific notation: digits lost"]
    assert Order.objects.count() == 0


def test_an_xls_past_its_size_limit_is_refused_before_it_is_read(tmp_path, settings):
    settings.IMPORT_MAX_XLS_BYTES = 4096
    path = write_xls(tmp_path, [["Order No."], *[[f"800000000000{n:04}"] for n in range(500)]])

    with pytest.raises(FileError) as exc:
        read(path)

    assert str(exc.value) == (
        f"the .xls workbook is {path.stat().st_size:,} bytes, more than 4,096 "
        "(IMPORT_MAX_XLS_BYTES): save it as XLSX or CSV"
    )


def test_an_xls_past_the_row_and_column_limits_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 10
    settings.IMPORT_MAX_COLUMNS = 5
    tall = write_xls(tmp_path, [["a"], *[[n] for n in range(20)]], name="tall.xls")
    wide = write_xls(tmp_path, [["a", "b"], [1, 2, 3, 4, 5, 6, 7]], name="wide.xls")

    with pytest.raises(
        FileError, match=r"line 12: the file has more than 10 rows .*IMPORT_MAX_ROWS"
    ):
        read(tall)
    with pytest.raises(
        FileError, match=r"^line 2 has 7 columns, more than 5 \(IMPORT_MAX_COLUMNS\)"
    ):
        read(wide)
