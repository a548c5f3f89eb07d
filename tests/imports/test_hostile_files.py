"""Hostile files: each is refused as a whole with a FileError that names the limit (and its
setting) or the line, nothing is written, and the refusal costs bounded memory. Time is bounded
by the limits themselves (the file is refused before the costly work), never by a clock here."""

import io
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backoffice.composition.imports.runner import import_export
from backoffice.imports import headers as headers_module
from backoffice.imports.errors import FileError
from backoffice.imports.headers import map_headers
from backoffice.imports.reading import detect_encoding, open_table

from .helpers import ORDER_HEADERS, SAMPLES, order_row, write_orders, write_xlsx
from .test_admin_import import _stored_uploads, database, job_of, signed_in, upload  # noqa: F401

HEADER = ",".join(ORDER_HEADERS)
ROW = ",".join(order_row("8000000000000001").get(name, "") for name in ORDER_HEADERS)


def refused(path: Path) -> tuple[str, int]:
    """Import ``path``; the FileError's message and the tracemalloc peak while refusing it,
    after checking that nothing was written."""
    before = database()
    tracemalloc.start()
    try:
        with pytest.raises(FileError) as exc:
            import_export(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert database() == before
    return str(exc.value), peak


def write_bytes(tmp_path: Path, data: bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- CSV: long lines, long cells ---


def test_a_first_line_longer_than_the_cell_limit_is_a_file_error_not_a_crash(tmp_path):
    # given a header line of one 200,000-character cell (the csv module's default limit is
    # 131,072: before, its csv.Error escaped unhandled)
    path = write_bytes(tmp_path, b"Order No." + b"x" * 200_000 + b"\n" + ROW.encode() + b"\n")

    message, _ = refused(path)

    assert message == "line 1: a cell is longer than 131,072 characters (IMPORT_MAX_CELL_CHARS)"


def test_the_cell_limit_is_a_setting_and_counts_on_any_line(tmp_path, settings):
    settings.IMPORT_MAX_CELL_CHARS = 1000
    long_name = ROW.replace("Ana Souza", "A" * 1001)
    path = write_bytes(tmp_path, f"{HEADER}\n{ROW}\n{long_name}\n".encode())

    message, _ = refused(path)

    assert message == "line 3: a cell is longer than 1,000 characters (IMPORT_MAX_CELL_CHARS)"


def test_the_cell_limit_set_by_one_import_does_not_stay_for_the_next(tmp_path, settings):
    settings.IMPORT_MAX_CELL_CHARS = 10
    with pytest.raises(FileError, match="IMPORT_MAX_CELL_CHARS"):
        import_export(write_orders(tmp_path, [order_row("8000000000000001")]))

    settings.IMPORT_MAX_CELL_CHARS = 131_072
    report = import_export(write_orders(tmp_path, [order_row("8000000000000001")]))
    assert report.landed


def test_a_header_line_of_megabytes_without_a_line_break_is_not_read_whole(tmp_path):
    # given 30 MB of header text and no line break at all
    path = tmp_path / "export.csv"
    with path.open("wb") as out:
        for _ in range(30):
            out.write(b"Order No.," * 100_000)

    message, peak = refused(path)

    assert message == (
        "line 1 is longer than 1,048,576 characters (IMPORT_MAX_LINE_CHARS): not an export's line"
    )
    assert peak < 12_000_000, f"peak {peak:,} bytes: the line was read whole"


def test_a_data_line_longer_than_the_line_limit_names_its_line(tmp_path, settings):
    settings.IMPORT_MAX_LINE_CHARS = 10_000
    path = write_bytes(tmp_path, f"{HEADER}\n{ROW}\n{ROW}\n{'x,' * 6000}\n".encode())

    message, _ = refused(path)

    assert message.startswith("line 4 is longer than 10,000 characters (IMPORT_MAX_LINE_CHARS)")


# --- columns ---


def test_a_header_of_300000_columns_is_refused_before_the_headers_are_read(tmp_path, monkeypatch):
    # given a header of the orders' columns and 300,000 more
    path = write_bytes(tmp_path, (HEADER + ",x" * 300_000 + "\n" + ROW + "\n").encode())
    normalized: list[str] = []
    real = headers_module.normalize_header
    monkeypatch.setattr(
        headers_module, "normalize_header", lambda text: normalized.append(text) or real(text)
    )

    message, _ = refused(path)

    assert message == "line 1 has 300,018 headers, more than 500 columns (IMPORT_MAX_COLUMNS)"
    assert normalized == []  # refused before any header was compared to the known ones


def test_mapping_many_unknown_headers_is_linear():
    # 100,000 distinct unknown columns: with a list's `in` per column this was 5e9 compares
    unknown = [f"extra {n}" for n in range(100_000)]

    header_map = map_headers("orders", [*ORDER_HEADERS, *unknown, *unknown])

    assert len(header_map.warnings) == 100_000
    assert header_map.warnings[0] == "unknown column 'extra 0' ignored"


def test_a_data_row_wider_than_the_column_limit_names_its_line(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 30
    path = write_bytes(tmp_path, f"{HEADER}\n{ROW}\n{ROW + ',x' * 20}\n".encode())

    message, _ = refused(path)

    assert message == "line 3 has 38 columns, more than 30 (IMPORT_MAX_COLUMNS)"


def test_empty_cells_at_the_end_of_a_row_do_not_count_as_columns(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 18
    path = write_bytes(tmp_path, f"{HEADER},,,\n{ROW},,,,,,,\n".encode())

    assert import_export(path).landed


# --- rows and cells ---


def test_more_rows_than_the_limit_are_refused_as_they_are_read(tmp_path, settings):
    # given a million empty lines after the header: nothing to import, but all to read
    settings.IMPORT_MAX_ROWS = 1000
    path = write_bytes(tmp_path, f"{HEADER}\n{ROW}\n".encode() + b",,\n" * 1_000_000)

    message, peak = refused(path)

    assert message == (
        "line 1002: the file has more than 1,000 rows after its header "
        "(IMPORT_MAX_ROWS, empty rows included): split it"
    )
    assert peak < 5_000_000


def test_more_cells_than_the_limit_are_refused(tmp_path, settings):
    settings.IMPORT_MAX_CELLS = 100
    rows = [order_row(f"80000000000000{n:02}") for n in range(10)]

    message, _ = refused(write_orders(tmp_path, rows))

    # the header's 18 cells count: line 5 brings the total to 90, line 6 to 108
    assert message == "line 6: the file has more than 100 cells (IMPORT_MAX_CELLS): split it"


# --- XLSX bombs ---


def rezip(source: Path, target: Path, replace: dict[str, Callable[[io.RawIOBase], None]]) -> Path:
    """A copy of the workbook ``source`` whose members in ``replace`` are written anew, by
    streaming (the bomb is never in memory here either)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename in replace:
                with new.open(info.filename, "w", force_zip64=True) as member:
                    replace[info.filename](member)
            else:
                new.writestr(info, old.read(info))
        for name in replace.keys() - set(old.namelist()):
            with new.open(name, "w", force_zip64=True) as member:
                replace[name](member)
    return target


def repeated(piece: bytes, size: int) -> Callable[[io.RawIOBase], None]:
    chunk = piece * (1 << 16)

    def write(member: io.RawIOBase) -> None:
        member.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
        for _ in range(size // len(chunk) + 1):
            member.write(chunk)
        member.write(b"</sst>")

    return write


def orders_xlsx(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path, [ORDER_HEADERS, ROW.split(",")], name="plain.xlsx")


def with_shared_strings(
    tmp_path: Path, write: Callable[[io.RawIOBase], None], name: str = "bomb.xlsx"
) -> Path:
    """The orders workbook with shared strings written by ``write``, declared where openpyxl
    looks for them (openpyxl itself writes strings inline)."""
    plain = orders_xlsx(tmp_path)
    with zipfile.ZipFile(plain) as archive:
        types = archive.read("[Content_Types].xml")
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" /></Types>'
    )
    return rezip(
        plain,
        tmp_path / name,
        {
            "[Content_Types].xml": lambda m: m.write(types.replace(b"</Types>", override)),
            "xl/sharedStrings.xml": write,
        },
    )


def test_an_xlsx_whose_shared_strings_expand_to_60_mib_is_refused_before_openpyxl(tmp_path):
    # given a 60 KB workbook whose shared strings expand to 60 MiB (openpyxl reads them whole)
    bomb = with_shared_strings(tmp_path, repeated(b"<si><t>a</t></si>", 60 << 20))
    assert bomb.stat().st_size < 1_000_000

    message, peak = refused(bomb)

    assert message.startswith("the workbook's shared strings xl/sharedStrings.xml expand to 63,")
    assert "more than 52,428,800 (IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES" in message
    assert peak < 5_000_000, f"peak {peak:,} bytes"


def test_an_xlsx_that_expands_past_the_total_limit_is_refused(tmp_path):
    # given a workbook with 210 MiB of parts, none of them past the shared strings limit
    bomb = rezip(
        orders_xlsx(tmp_path),
        tmp_path / "bomb.xlsx",
        {f"xl/worksheets/sheet{n}.xml": repeated(b"<row/>", 42 << 20) for n in range(3, 8)},
    )

    message, peak = refused(bomb)

    assert message.startswith("the workbook expands to 222,")
    assert message.endswith("more than 209,715,200 (IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES)")
    assert peak < 5_000_000


def test_other_parts_read_whole_are_held_to_the_shared_strings_limit(tmp_path, settings):
    settings.IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES = 100_000
    bomb = rezip(
        orders_xlsx(tmp_path), tmp_path / "bomb.xlsx", {"xl/styles.xml": repeated(b" ", 200_000)}
    )

    message, _ = refused(bomb)

    assert message.startswith("the workbook's part xl/styles.xml expand to 262,")
    assert "(IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES, for every part read whole)" in message


def lie_about_size(path: Path, name: str, declared: int, crc: int | None = None) -> None:
    """Rewrite the central directory's uncompressed size of member ``name`` (and its zip64
    extra field) to ``declared``, and its CRC-32 to ``crc``, leaving the data as it is."""
    data = bytearray(path.read_bytes())
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(name.encode()))
    assert data[entry + 46 : entry + 46 + len(name)] == name.encode()
    struct.pack_into("<I", data, entry + 24, declared)
    if crc is not None:
        struct.pack_into("<I", data, entry + 16, crc)
    name_length, _ = struct.unpack_from("<HH", data, entry + 28)
    extra = entry + 46 + name_length
    if struct.unpack_from("<H", data, extra)[0] == 1:  # zip64: sizes in the extra field
        struct.pack_into("<Q", data, extra + 4, declared)
    path.write_bytes(bytes(data))


def zipfile_read(path: Path, name: str) -> tuple[bytes | Exception, int]:
    """What ``ZipFile.read`` gives for ``name``, and its tracemalloc peak."""
    tracemalloc.start()
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                result: bytes | Exception = archive.read(name)
            except zipfile.BadZipFile as exc:
                result = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


STRINGS = repeated(b"<si><t>a</t></si>", 20 << 20)


def test_a_part_that_expands_past_its_declared_size_is_refused(tmp_path):
    # given shared strings of 20 MiB whose central directory says 2,000 bytes
    bomb = with_shared_strings(tmp_path, STRINGS)
    lie_about_size(bomb, "xl/sharedStrings.xml", 2000)

    # then Python 3.11's zipfile does cut the part to 2,000 bytes and fail its CRC check, but
    # only after decompressing it whole (up to 1 GiB at once): the declared size is no bound
    # on memory
    result, zipfile_peak = zipfile_read(bomb, "xl/sharedStrings.xml")
    assert isinstance(result, zipfile.BadZipFile) and "Bad CRC-32" in str(result)
    assert zipfile_peak > 20 << 20

    # and the importer refuses it after decompressing one chunk past the declared size
    message, peak = refused(bomb)
    assert message == (
        "the workbook's part xl/sharedStrings.xml expands to more than the 2,000 bytes it "
        "declares: a damaged or forged file"
    )
    assert peak < 2_000_000, f"peak {peak:,} bytes"


def test_a_part_whose_crc_is_forged_for_its_declared_size_is_refused_too(tmp_path):
    # given the same lie, with the CRC-32 of the part's first 2,000 bytes: zipfile finds
    # nothing wrong
    bomb = with_shared_strings(tmp_path, STRINGS)
    with zipfile.ZipFile(bomb) as archive, archive.open("xl/sharedStrings.xml") as member:
        head = member.read(2000)
    lie_about_size(bomb, "xl/sharedStrings.xml", 2000, crc=zlib.crc32(head))
    result, _ = zipfile_read(bomb, "xl/sharedStrings.xml")
    assert result == head

    message, _ = refused(bomb)

    assert message.startswith("the workbook's part xl/sharedStrings.xml expands to more than")


def test_a_sheet_of_a_million_rows_is_refused_at_the_row_limit(tmp_path, settings):
    # given a 60 KB sheet whose one data row is Excel's last (1,048,576): openpyxl yields every
    # empty row before it
    settings.IMPORT_MAX_ROWS = 5000
    plain = orders_xlsx(tmp_path)
    with zipfile.ZipFile(plain) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    far = sheet.replace(b'<row r="2"', b'<row r="1048576"').replace(b'r="A2"', b'r="A1048576"')
    bomb = rezip(
        plain, tmp_path / "rows.xlsx", {"xl/worksheets/sheet1.xml": lambda m: m.write(far)}
    )

    message, peak = refused(bomb)

    assert message.startswith("line 5002: the file has more than 5,000 rows after its header")
    assert peak < 10_000_000


def test_a_wide_xlsx_row_is_refused_at_the_column_limit(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 20
    path = write_xlsx(tmp_path, [ORDER_HEADERS, [*ROW.split(","), *(["x"] * 10)]])

    message, _ = refused(path)

    assert message == "line 2 has 28 columns, more than 20 (IMPORT_MAX_COLUMNS)"


# --- mixed encodings ---

ZH_HEADER = "订单号,店铺ID,店铺名称,订单状态,买家名称,下单时间,订单金额"


def zh_row(number: int, buyer: str) -> str:
    return (
        f"80000000000000{number:02},7000001,深圳小店,等待买家付款,{buyer},"
        "2026-03-01 10:00:00,US $1.00"
    )


def test_a_csv_that_mixes_utf8_and_gb18030_is_refused_naming_the_line(tmp_path):
    # given a UTF-8 file whose line 7 has a buyer name in GB18030
    lines = [ZH_HEADER] + [zh_row(n, "张伟") for n in range(2, 7)]
    data = "\n".join(lines).encode() + b"\n" + zh_row(7, "李娜").encode("gb18030") + b"\n"
    path = write_bytes(tmp_path, data)

    message, _ = refused(path)

    assert message == (
        "line 7 is not UTF-8 although the lines before it are (UTF-8 text '订单号' on line 1): "
        "the file mixes encodings; save it again as CSV UTF-8 "
        "(lines of the file: a line break inside a quoted cell counts)"
    )


def test_a_mixed_file_is_found_past_the_first_chunks(tmp_path):
    # given 5,000 ASCII lines, a UTF-8 name on line 5,002, and a GB18030 one on line 9,000
    lines = [HEADER] + [ROW] * 5000 + [ROW.replace("Ana Souza", "José Muñoz 张伟")]
    lines += [ROW] * 3997
    data = "\n".join(lines).encode() + b"\n" + ROW.replace("Ana Souza", "李娜").encode("gb18030")
    path = write_bytes(tmp_path, data)

    message, _ = refused(path)

    assert message.startswith(
        "line 9000 is not UTF-8 although the lines before it are "
        "(UTF-8 text 'José Muñoz 张伟' on line 5002)"
    )


@pytest.mark.parametrize("name", ["orders-zh.csv", "promotion-zh.csv"])
def test_pure_gb18030_samples_are_still_gb18030(name):
    with (SAMPLES / name).open("rb") as stream:
        assert detect_encoding(stream) == "gb18030"


def test_a_gb18030_line_that_happens_to_be_utf8_does_not_make_the_file_mixed(tmp_path):
    # 鞋 in GB18030 is D0 AC, which UTF-8 reads as U+042C: one 2-byte character is not enough
    data = "订单号,产品信息\n1,Nike鞋\n2,运动鞋 42码\n".encode("gb18030")

    with open_table(write_bytes(tmp_path, data)) as table:
        assert table.encoding == "gb18030"
        assert [row.values[1] for row in table.rows] == ["Nike鞋", "运动鞋 42码"]


# --- where the refusal is shown ---


@pytest.mark.usefixtures("_stored_uploads")
def test_the_admin_page_shows_a_too_long_first_line_as_an_error_not_a_500():
    client = signed_in()
    before = database()

    page = upload(client, "orders.csv", content=b"Order No." + b"x" * 200_000 + b"\n1\n")

    assert page.status_code == 200
    job = job_of(page)
    assert (job.status, job.error_field) == ("failed", "file")
    assert job.error == "line 1: a cell is longer than 131,072 characters (IMPORT_MAX_CELL_CHARS)"
    assert "(IMPORT_MAX_CELL_CHARS)" in page.text
    assert database() == before


def test_the_command_exits_non_zero_with_the_limit(tmp_path):
    path = write_bytes(tmp_path, b"Order No." + b"x" * 200_000 + b"\n1\n")

    with pytest.raises(CommandError) as exc:
        call_command("import_platform_export", str(path), stdout=io.StringIO())

    assert str(exc.value) == (
        "line 1: a cell is longer than 131,072 characters (IMPORT_MAX_CELL_CHARS)"
    )
    assert exc.value.returncode == 1
