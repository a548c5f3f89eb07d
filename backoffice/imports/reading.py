"""Open an export file (CSV or XLSX) and stream its rows with spreadsheet line numbers.

Nothing here loads the whole file: a CSV is decoded chunk by chunk (once to decide the encoding,
once to read it), an XLSX sheet through openpyxl's read-only mode. Line numbers are the ones a
spreadsheet shows, the header being line 1; entirely empty rows are skipped but still counted.

CSV cells come back as ``str``. XLSX cells come back as openpyxl types them (``str``, ``int``,
``float``, ``bool``, naive ``datetime``/``date``/``time``, ``None``): the parsers in
``values.py`` know what each type means for each column (an ``int`` order number is its digits, a
``float`` one lost its digits, a ``datetime`` is in the file's time zone).
"""

import codecs
import csv
import io
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Literal

import openpyxl

from .errors import FileError

Cell = str | int | float | Decimal | bool | datetime | date | time | timedelta | None
Source = str | os.PathLike[str] | IO[bytes]

CHUNK_SIZE = 1 << 16
SPOOL_SIZE = 16 << 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """An open export: its header texts as written, and an iterator over its non-empty rows."""

    format: Literal["csv", "xlsx"]
    headers: tuple[str, ...]
    rows: Iterator[Row]
    encoding: str | None = None
    delimiter: str | None = None


@contextmanager
def open_table(source: Source) -> Iterator[Table]:
    """Open a path or a binary file object (a Django ``UploadedFile`` works) for streaming.

    Raises :class:`FileError` when the file cannot be read as a CSV or XLSX export. A file
    object passed in is read from its start and left open.
    """
    with ExitStack() as stack:
        stream = _seekable_binary(source, stack)
        magic = stream.read(len(OLE_MAGIC))
        stream.seek(0)
        if magic.startswith(ZIP_MAGIC):
            table = _open_xlsx(stream, stack)
        elif magic.startswith(OLE_MAGIC):
            raise FileError("old Excel .xls workbooks are not supported: save it as XLSX or CSV")
        else:
            table = _open_csv(stream, stack)
        yield table


def detect_encoding(stream: IO[bytes]) -> str:
    """``utf-8-sig`` when the file starts with a BOM, else ``utf-8`` if every byte decodes as
    UTF-8, else ``gb18030`` if every byte decodes as that; anything else is a :class:`FileError`.

    Reads the whole stream once, in chunks, and leaves it at its start.
    """
    stream.seek(0)
    head = stream.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError("the file is UTF-16 text: save it as CSV UTF-8 or as an XLSX workbook")
    with_bom = head.startswith(codecs.BOM_UTF8)
    for encoding in ("utf-8-sig",) if with_bom else ("utf-8", "gb18030"):
        if _decodes_as(stream, encoding):
            stream.seek(0)
            return encoding
    if with_bom:
        raise FileError("the file starts with a UTF-8 byte order mark but is not UTF-8 text")
    raise FileError("the file is not text in UTF-8 or GB18030: save it as CSV UTF-8")


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
            raise FileError(f"cannot open {os.fspath(source)}: {exc.strerror}") from exc
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
                raise FileError("the file has NUL bytes: it is not a CSV text file")
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _open_csv(stream: IO[bytes], stack: ExitStack) -> Table:
    encoding = detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # type: ignore[type-var]
    stack.callback(text.detach)  # leave the binary stream to whoever owns it
    header_line = text.readline()
    delimiter = sniff_delimiter(header_line)
    reader = csv.reader(itertools.chain([header_line], text), delimiter=delimiter)
    headers = _header_texts(next(reader, []))
    return Table("csv", headers, _csv_rows(reader), encoding=encoding, delimiter=delimiter)


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[Row]:
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            if not is_empty(values):
                yield Row(line, tuple(values))
    except csv.Error as exc:
        raise FileError(f"line {line + 1}: the CSV cannot be read: {exc}") from exc


def _open_xlsx(stream: IO[bytes], stack: ExitStack) -> Table:
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a bad file
        raise FileError(f"not a readable XLSX workbook: {exc}") from exc
    stack.callback(workbook.close)
    if not workbook.worksheets:
        raise FileError("the workbook has no worksheet")
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # a wrong <dimension> would otherwise cut rows off
    values = sheet.iter_rows(min_row=1, values_only=True)
    headers = _header_texts(next(values, ()))
    return Table("xlsx", headers, _xlsx_rows(values))


def _xlsx_rows(values: Iterator[tuple[Cell, ...]]) -> Iterator[Row]:
    line = 1
    try:
        for line, cells in enumerate(values, start=2):
            if not is_empty(cells):
                yield Row(line, tuple(cells))
    except Exception as exc:  # a damaged sheet: openpyxl raises XML and value errors alike
        raise FileError(f"line {line + 1}: the sheet cannot be read: {exc}") from exc


def _header_texts(cells: Sequence[Cell]) -> tuple[str, ...]:
    headers = tuple("" if cell is None else str(cell) for cell in cells)
    if not headers:
        raise FileError("the file is empty")
    if is_empty(headers):
        raise FileError("line 1 has no headers")
    return headers
