"""Open an export file (CSV, XLSX or old Excel .xls) and stream its rows with spreadsheet line
numbers.

Nothing here loads the whole file: a CSV is decoded chunk by chunk (once to decide the encoding,
once to read it), an XLSX sheet through openpyxl's read-only mode. An .xls is the exception:
xlrd reads it whole, so its size is capped first. Line numbers are the ones a spreadsheet shows,
the header being line 1; entirely empty rows are skipped but still counted.

A hostile file (a line of many megabytes, hundreds of thousands of columns, a zip that expands
a thousandfold) is refused with a :class:`FileError` naming the limit and its setting
(``IMPORT_MAX_*``, read from ``django.conf.settings`` when a file is opened) before it costs
unbounded time or memory; see :class:`Limits`.

CSV cells come back as ``str``. XLSX cells come back as openpyxl types them (``str``, ``int``,
``float``, ``bool``, naive ``datetime``/``date``/``time``, ``None``), .xls cells the same way
(a whole number below 1e15 as ``int``, a date cell as a naive ``datetime``): the parsers in
``values.py`` know what each type means for each column (an ``int`` order number is its digits, a
``float`` one lost its digits, a ``datetime`` is in the file's time zone).
"""

import codecs
import csv
import io
import itertools
import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Literal

import openpyxl
import xlrd
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.packaging.manifest import Manifest
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
from openpyxl.xml.functions import fromstring

from .errors import FileError

Cell = str | int | float | Decimal | bool | datetime | date | time | timedelta | None
Source = str | os.PathLike[str] | IO[bytes]

CHUNK_SIZE = 1 << 16
SPOOL_SIZE = 16 << 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
# An export workbook has a dozen parts; zipfile builds an object per member of the central
# directory, so a zip of a million tiny members is refused before it is listed.
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_CONTENT_TYPES_BYTES = 1 << 20
# UTF-8 before the first line that is not UTF-8 says the file mixes encodings once it adds up
# to this: a character of 3 or more UTF-8 bytes (Chinese, €, curly quotes) counts 3, one of 2
# bytes (é, Cyrillic) counts 1, as a GB18030 line may happen to be valid UTF-8 of 2-byte
# characters (茅 is é) but seldom of longer ones.
MIXED_ENCODING_EVIDENCE = 3
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True, slots=True)
class Limits:
    """What a file may hold; each is the Django setting of the same name in upper case with
    ``IMPORT_`` before it (``max_rows``: ``IMPORT_MAX_ROWS``)."""

    max_rows: int
    max_columns: int
    max_cells: int
    max_cell_chars: int
    max_line_chars: int
    max_xlsx_uncompressed_bytes: int
    max_xlsx_shared_strings_bytes: int
    max_xls_bytes: int

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            max_rows=settings.IMPORT_MAX_ROWS,
            max_columns=settings.IMPORT_MAX_COLUMNS,
            max_cells=settings.IMPORT_MAX_CELLS,
            max_cell_chars=settings.IMPORT_MAX_CELL_CHARS,
            max_line_chars=settings.IMPORT_MAX_LINE_CHARS,
            max_xlsx_uncompressed_bytes=settings.IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES,
            max_xlsx_shared_strings_bytes=settings.IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES,
            max_xls_bytes=settings.IMPORT_MAX_XLS_BYTES,
        )


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """An open export: its header texts as written, and an iterator over its non-empty rows."""

    format: Literal["csv", "xlsx", "xls"]
    headers: tuple[str, ...]
    rows: Iterator[Row]
    encoding: str | None = None
    delimiter: str | None = None


@contextmanager
def open_table(source: Source) -> Iterator[Table]:
    """Open a path or a binary file object (a Django ``UploadedFile`` works) for streaming.

    Raises :class:`FileError` when the file cannot be read as a CSV, XLSX or XLS export, or goes
    past one of the :class:`Limits` (then or while its rows are read). A file object passed in
    is read from its start and left open.
    """
    limits = Limits.from_settings()
    with ExitStack() as stack:
        stream = _seekable_binary(source, stack)
        magic = stream.read(len(OLE_MAGIC))
        stream.seek(0)
        if magic.startswith(ZIP_MAGIC):
            table = _open_xlsx(stream, stack, limits)
        elif magic.startswith(OLE_MAGIC):
            table = _open_xls(stream, stack, limits)
        else:
            table = _open_csv(stream, stack, limits)
        yield table


def detect_encoding(stream: IO[bytes]) -> str:
    """``utf-8-sig`` when the file starts with a BOM, else ``utf-8`` if every byte decodes as
    UTF-8, else ``gb18030`` if every byte decodes as that; anything else is a :class:`FileError`,
    and so is a file whose lines before its first non-UTF-8 line hold UTF-8 text (it mixes
    encodings: reading it all as GB18030 would garble that text). Lines named in the messages
    are lines of the file: every line break counts, also one inside a quoted cell.

    Reads the whole stream once or twice, in chunks, and leaves it at its start.
    """
    stream.seek(0)
    head = stream.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError(_("the file is UTF-16 text: save it as CSV UTF-8 or as an XLSX workbook"))
    with_bom = head.startswith(codecs.BOM_UTF8)
    check = _check_utf8(stream, "utf-8-sig" if with_bom else "utf-8")
    if check is None:
        stream.seek(0)
        return "utf-8-sig" if with_bom else "utf-8"
    bad_line, utf8_line, utf8_sample = check
    if with_bom:
        raise FileError(
            _(
                "the file starts with a UTF-8 byte order mark but line %(bad_line)s is not UTF-8 "
                "text: save it again as CSV UTF-8"
            )
            % {"bad_line": bad_line}
        )
    if utf8_line is not None:
        raise FileError(
            _(
                "line %(bad_line)s is not UTF-8 although the lines before it are (UTF-8 text "
                "%(utf8_sample)r on line %(utf8_line)s): the file mixes encodings; save it again "
                "as CSV UTF-8 (lines of the file: a line break inside a quoted cell counts)"
            )
            % {"bad_line": bad_line, "utf8_sample": utf8_sample, "utf8_line": utf8_line}
        )
    if _decodes_as(stream, "gb18030"):
        stream.seek(0)
        return "gb18030"
    raise FileError(_("the file is not text in UTF-8 or GB18030: save it as CSV UTF-8"))


def sniff_delimiter(header_line: str) -> str:
    """Tab when the header line has more tabs than commas, else comma."""
    return "\t" if header_line.count("\t") > header_line.count(",") else ","


def is_empty(values: Iterable[Cell]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def _seekable_binary(source: Source, stack: ExitStack) -> IO[bytes]:
    if isinstance(source, str | os.PathLike):
        try:
            return stack.enter_context(open(source, "rb"))
        except OSError as exc:
            raise FileError(
                _("cannot open %(value)s: %(strerror)s")
                % {"value": os.fspath(source), "strerror": exc.strerror}
            ) from exc
    if getattr(source, "seekable", lambda: False)():
        source.seek(0)
        return source
    spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE))  # noqa: SIM115
    shutil.copyfileobj(source, spool, CHUNK_SIZE)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _decodes_as(stream: IO[bytes], encoding: str) -> bool:
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(CHUNK_SIZE):
            if b"\x00" in chunk:
                raise FileError(_("the file has NUL bytes: it is not a CSV text file"))
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_utf8(stream: IO[bytes], encoding: str) -> tuple[int, int | None, str] | None:
    """``None`` when the stream is all UTF-8; else the line of the first byte that is not, and
    the line and text of the first non-ASCII UTF-8 before it when there is enough of that to
    say the file mixes encodings (:data:`MIXED_ENCODING_EVIDENCE`)."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    breaks = 0  # line breaks in the chunks decoded so far (a pending partial character has none)
    evidence, first_line, sample = 0, None, ""

    def weigh(text: str, line: int) -> None:
        nonlocal evidence, first_line, sample
        for match in _NON_ASCII.finditer(text):
            if first_line is None:
                first_line = line + text.count("\n", 0, match.start())
                sample = _cell_around(text, match.start())
            evidence += 3 if ord(match.group()) >= 0x800 else 1
            if evidence >= MIXED_ENCODING_EVIDENCE:
                return

    try:
        while chunk := stream.read(CHUNK_SIZE):
            if b"\x00" in chunk:
                raise FileError(_("the file has NUL bytes: it is not a CSV text file"))
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_line = breaks + exc.object.count(b"\n", 0, exc.start) + 1
                if evidence < MIXED_ENCODING_EVIDENCE:
                    valid = exc.object[: exc.start].decode("utf-8", errors="replace")
                    weigh(valid, breaks + 1)
                raise _NotUtf8(bad_line) from exc
            if evidence < MIXED_ENCODING_EVIDENCE and not text.isascii():
                weigh(text, breaks + 1)
            breaks += chunk.count(b"\n")
        decoder.decode(b"", final=True)
    except _NotUtf8 as exc:
        mixed = evidence >= MIXED_ENCODING_EVIDENCE
        return exc.line, first_line if mixed else None, sample
    except UnicodeDecodeError:  # a character cut off by the end of the file
        return breaks + 1, None, sample
    return None


def _cell_around(text: str, index: int) -> str:
    """The text of the cell around ``index`` (at most 20 characters of it)."""
    start = max(text.rfind(mark, 0, index) for mark in ',\t\n"') + 1
    ends = [end for mark in ',\t\r\n"' if (end := text.find(mark, index)) >= 0]
    return text[start : min([*ends, len(text)])][:20]


class _NotUtf8(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _LineTooLong(Exception):
    pass


def _bounded_lines(text: IO[str], limit: int) -> Iterator[str]:
    """The lines of ``text`` with their line breaks, as iterating it gives them, except that a
    line of more than ``limit`` characters raises :class:`_LineTooLong` after reading at most
    ``limit + 2`` of them."""
    while line := text.readline(limit + 2):
        ending = 2 if line.endswith("\r\n") else 1 if line.endswith(("\n", "\r")) else 0
        if len(line) - ending > limit:
            raise _LineTooLong
        yield line


def _open_csv(stream: IO[bytes], stack: ExitStack, limits: Limits) -> Table:
    encoding = detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # type: ignore[type-var]
    stack.callback(text.detach)  # leave the binary stream to whoever owns it
    lines = _bounded_lines(text, limits.max_line_chars)
    # The csv module's limit is process-wide: every import sets it to the same setting and
    # none puts it back, as putting it back would change it under an import in another thread.
    csv.field_size_limit(limits.max_cell_chars)
    try:
        header_line = next(lines, "")
        reader = csv.reader(
            itertools.chain([header_line], lines), delimiter=sniff_delimiter(header_line)
        )
        first = next(reader, [])
    except (_LineTooLong, csv.Error) as exc:
        raise _csv_error(1, exc, limits) from exc
    headers = _header_texts(first, limits)
    rows = _limited(_csv_records(reader, limits), len(headers), limits)
    return Table("csv", headers, rows, encoding=encoding, delimiter=sniff_delimiter(header_line))


def _csv_records(reader: Iterator[list[str]], limits: Limits) -> Iterator[tuple[int, list[str]]]:
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            yield line, values
    except (_LineTooLong, csv.Error) as exc:
        raise _csv_error(line + 1, exc, limits) from exc


def _csv_error(line: int, exc: Exception, limits: Limits) -> FileError:
    if isinstance(exc, _LineTooLong):
        return FileError(
            _(
                "line %(line)s is longer than %(max_line_chars)s characters "
                "(IMPORT_MAX_LINE_CHARS): not an export's line"
            )
            % {"line": line, "max_line_chars": f"{limits.max_line_chars:,}"}
        )
    if "field limit" in str(exc):
        return FileError(
            _(
                "line %(line)s: a cell is longer than %(max_cell_chars)s characters "
                "(IMPORT_MAX_CELL_CHARS)"
            )
            % {"line": line, "max_cell_chars": f"{limits.max_cell_chars:,}"}
        )
    return FileError(
        _("line %(line)s: the CSV cannot be read: %(exc)s") % {"line": line, "exc": exc}
    )


def _open_xlsx(stream: IO[bytes], stack: ExitStack, limits: Limits) -> Table:
    _check_zip(stream, limits)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a bad file
        raise FileError(_("not a readable XLSX workbook: %(exc)s") % {"exc": exc}) from exc
    stack.callback(workbook.close)
    if not workbook.worksheets:
        raise FileError(_("the workbook has no worksheet"))
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # a wrong <dimension> would otherwise cut rows off
    values = sheet.iter_rows(min_row=1, values_only=True)
    try:
        first = next(values, ())
    except Exception as exc:  # a damaged sheet: openpyxl raises XML and value errors alike
        raise FileError(_("line 1: the sheet cannot be read: %(exc)s") % {"exc": exc}) from exc
    headers = _header_texts(first, limits)
    return Table("xlsx", headers, _limited(_xlsx_records(values), len(headers), limits))


def _check_zip(stream: IO[bytes], limits: Limits) -> None:
    """Refuse a workbook that would expand past the limits before openpyxl reads it (it reads
    the shared strings, the styles and the other small parts whole).

    The sizes are the central directory's, which zipfile keeps to: it never returns more bytes
    of a member than declared, and reading a member a chunk at a time (as openpyxl reads the
    sheets) stops there. But ``ZipFile.read()`` decompresses up to 1 GiB at once before cutting
    it to the declared size, so every part read whole is also decompressed here, a chunk at a
    time, to check that its real size is the declared one.
    """
    try:
        end = zipfile._EndRecData(stream)  # type: ignore[attr-defined]
        if end and end[zipfile._ECD_ENTRIES_TOTAL] > XLSX_MAX_MEMBERS:  # type: ignore[attr-defined]
            raise FileError(
                _("not an export workbook: more than %(XLSX_MAX_MEMBERS)s parts")
                % {"XLSX_MAX_MEMBERS": f"{XLSX_MAX_MEMBERS:,}"}
            )
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            if total > limits.max_xlsx_uncompressed_bytes:
                raise FileError(
                    _(
                        "the workbook expands to %(total)s bytes, more than "
                        "%(max_xlsx_uncompressed_bytes)s (IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES)"
                    )
                    % {
                        "total": f"{total:,}",
                        "max_xlsx_uncompressed_bytes": f"{limits.max_xlsx_uncompressed_bytes:,}",
                    }
                )
            shared = _shared_strings_part(stream, archive)
            for member in members:
                if member.filename.startswith("xl/worksheets/") and member.filename != shared:
                    continue  # openpyxl reads it a chunk at a time: zipfile stops at its size
                if member.file_size > limits.max_xlsx_shared_strings_bytes:
                    what = "shared strings" if member.filename == shared else "part"
                    raise FileError(
                        _(
                            "the workbook's %(what)s %(filename)s expand to %(file_size)s bytes, "
                            "more than %(limit)s "
                            "(IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES, for every part read whole)"
                        )
                        % {
                            "what": what,
                            "filename": member.filename,
                            "file_size": f"{member.file_size:,}",
                            "limit": f"{limits.max_xlsx_shared_strings_bytes:,}",
                        }
                    )
                _check_real_size(stream, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise FileError(_("not a readable XLSX workbook: %(exc)s") % {"exc": exc}) from exc
    finally:
        stream.seek(0)


def _check_real_size(stream: IO[bytes], member: zipfile.ZipInfo) -> None:
    """Decompress ``member`` a chunk at a time, refusing it as soon as it yields more than its
    declared size."""
    if member.compress_type == zipfile.ZIP_STORED and member.compress_size == member.file_size:
        return
    if member.compress_type != zipfile.ZIP_DEFLATED:
        raise FileError(
            _(
                "not an export workbook: part %(filename)s is compressed in a way Excel does not "
                "use (%(compress_type)s)"
            )
            % {"filename": member.filename, "compress_type": member.compress_type}
        )
    stream.seek(member.header_offset)
    local = stream.read(30)
    if len(local) < 30 or not local.startswith(ZIP_MAGIC):
        raise FileError(
            _("not a readable XLSX workbook: part %(filename)s is damaged")
            % {"filename": member.filename}
        )
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    stream.seek(member.header_offset + 30 + name_length + extra_length)
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    left, size = member.compress_size, 0
    try:
        while not decompressor.eof:
            data = decompressor.unconsumed_tail
            if not data:
                data = stream.read(min(CHUNK_SIZE, left))
                left -= len(data)
                if not data:
                    break
            size += len(decompressor.decompress(data, CHUNK_SIZE))
            if size > member.file_size:
                raise FileError(
                    _(
                        "the workbook's part %(filename)s expands to more than the %(file_size)s "
                        "bytes it declares: a damaged or forged file"
                    )
                    % {"filename": member.filename, "file_size": f"{member.file_size:,}"}
                )
    except zlib.error as exc:
        raise FileError(
            _("not a readable XLSX workbook: part %(filename)s: %(exc)s")
            % {"filename": member.filename, "exc": exc}
        ) from exc


def _shared_strings_part(stream: IO[bytes], archive: zipfile.ZipFile) -> str | None:
    """The member openpyxl reads the shared strings from, as it finds it: [Content_Types].xml."""
    try:
        info = archive.getinfo(ARC_CONTENT_TYPES)
    except KeyError:
        return None  # openpyxl refuses the file
    if info.file_size > XLSX_MAX_CONTENT_TYPES_BYTES:
        raise FileError(
            _("not an export workbook: its %(ARC_CONTENT_TYPES)s is %(file_size)s bytes")
            % {"ARC_CONTENT_TYPES": ARC_CONTENT_TYPES, "file_size": f"{info.file_size:,}"}
        )
    _check_real_size(stream, info)
    try:
        part = Manifest.from_tree(fromstring(archive.read(info))).find(SHARED_STRINGS)
    except Exception:  # openpyxl says what is wrong when it opens the file
        return None
    return part.PartName.lstrip("/") if part is not None else None


def _xlsx_records(values: Iterator[tuple[Cell, ...]]) -> Iterator[tuple[int, Sequence[Cell]]]:
    line = 1
    try:
        for line, cells in enumerate(values, start=2):
            yield line, cells
    except Exception as exc:  # a damaged sheet: openpyxl raises XML and value errors alike
        raise FileError(
            _("line %(value)s: the sheet cannot be read: %(exc)s") % {"value": line + 1, "exc": exc}
        ) from exc


def _open_xls(stream: IO[bytes], stack: ExitStack, limits: Limits) -> Table:
    """An Excel 97-2003 workbook through xlrd, which reads it whole: its size is capped first."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > limits.max_xls_bytes:
        raise FileError(
            _(
                "the .xls workbook is %(size)s bytes, more than %(max_xls_bytes)s "
                "(IMPORT_MAX_XLS_BYTES): save it as XLSX or CSV"
            )
            % {"size": f"{size:,}", "max_xls_bytes": f"{limits.max_xls_bytes:,}"}
        )
    try:
        book = xlrd.open_workbook(file_contents=stream.read(), on_demand=True, logfile=_NullLog())
        stack.callback(book.release_resources)
        if not book.nsheets:
            raise FileError(_("the workbook has no worksheet"))
        sheet = book.sheet_by_index(0)
    except xlrd.XLRDError as exc:
        raise FileError(_("not a readable .xls workbook: %(exc)s") % {"exc": exc}) from exc
    except FileError:
        raise
    except Exception as exc:  # a damaged workbook: xlrd raises struct, index and key errors too
        raise FileError(_("not a readable .xls workbook: %(exc)r") % {"exc": exc}) from exc
    if sheet.nrows > limits.max_rows + 1:
        raise FileError(_too_many_rows(limits.max_rows + 2, limits))
    records = (
        (index + 1, _xls_values(sheet, index, book.datemode)) for index in range(sheet.nrows)
    )
    first = next(records, (1, ()))[1]
    headers = _header_texts(first, limits)
    return Table("xls", headers, _limited(records, len(headers), limits))


class _NullLog(io.StringIO):
    """xlrd writes its warnings to a log file (stdout by default): they go nowhere."""

    def write(self, text: str) -> int:
        return len(text)


def _xls_values(sheet: "xlrd.sheet.Sheet", index: int, datemode: int) -> tuple[Cell, ...]:
    return tuple(
        _xls_value(kind, value, datemode)
        for kind, value in zip(sheet.row_types(index), sheet.row_values(index), strict=True)
    )


def _xls_value(kind: int, value: object, datemode: int) -> Cell:
    """The cell as openpyxl would give it from the same workbook saved as XLSX."""
    if kind == xlrd.XL_CELL_TEXT:
        return value  # type: ignore[return-value]
    if kind == xlrd.XL_CELL_NUMBER:
        number = float(value)  # type: ignore[arg-type]
        # Excel keeps 15 digits: from 1e15 on a number may have lost some, and shows as 8.7E+15.
        return int(number) if number.is_integer() and abs(number) < 1e15 else number
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return float(value)  # type: ignore[arg-type]
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERR")  # type: ignore[arg-type]
    return None  # empty, blank


def _limited(
    records: Iterator[tuple[int, Sequence[Cell]]], header_width: int, limits: Limits
) -> Iterator[Row]:
    """The non-empty rows of ``records`` (line, cells), refusing the file at the first row past
    the row, column or cell limit: counted as the rows are read, empty rows included."""
    last_line = limits.max_rows + 1
    cells = header_width
    for line, values in records:
        if line > last_line:
            raise FileError(_too_many_rows(line, limits))
        if len(values) > limits.max_columns and _width(values) > limits.max_columns:
            raise FileError(
                _(
                    "line %(line)s has %(value)s columns, more than %(max_columns)s "
                    "(IMPORT_MAX_COLUMNS)"
                )
                % {
                    "line": line,
                    "value": f"{_width(values):,}",
                    "max_columns": f"{limits.max_columns:,}",
                }
            )
        cells += len(values)
        if cells > limits.max_cells:
            raise FileError(
                _(
                    "line %(line)s: the file has more than %(max_cells)s cells "
                    "(IMPORT_MAX_CELLS): split it"
                )
                % {"line": line, "max_cells": f"{limits.max_cells:,}"}
            )
        if not is_empty(values):
            yield Row(line, tuple(values))


def _too_many_rows(line: int, limits: Limits) -> str:
    return (
        f"line {line}: the file has more than {limits.max_rows:,} rows after its header "
        "(IMPORT_MAX_ROWS, empty rows included): split it"
    )


def _width(values: Sequence[Cell]) -> int:
    """How many columns the row spans, not counting empty cells at its end."""
    width = len(values)
    while width and (values[width - 1] is None or values[width - 1] == ""):
        width -= 1
    return width


def _header_texts(cells: Sequence[Cell], limits: Limits) -> tuple[str, ...]:
    if len(cells) > limits.max_columns and _width(cells) > limits.max_columns:
        raise FileError(
            _(
                "line 1 has %(value)s headers, more than %(max_columns)s columns "
                "(IMPORT_MAX_COLUMNS)"
            )
            % {"value": f"{_width(cells):,}", "max_columns": f"{limits.max_columns:,}"}
        )
    headers = tuple("" if cell is None else str(cell) for cell in cells)
    if not headers:
        raise FileError(_("the file is empty"))
    if is_empty(headers):
        raise FileError(_("line 1 has no headers"))
    return headers
