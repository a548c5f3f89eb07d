"""A whole export: open it, map its headers, and stream parsed rows.

    with open_export(path_or_upload, kind="orders") as export:
        print(export.warnings)            # unknown columns, once per file
        for result in export.results():   # one per non-empty row, in file order
            ...result.row or result.errors

Nothing is held back: a caller that must refuse the whole file on any error (SPEC.md) collects
the errors as it goes and writes nothing until the end.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo

from .errors import RowError
from .headers import HeaderMap, Kind, guess_kind, map_headers
from .reading import Source, Table, open_table
from .rows import ROW_PARSERS, ParsedRow
from .values import PLATFORM_TZ


@dataclass(frozen=True, slots=True)
class RowResult:
    line: int
    row: ParsedRow | None
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Export:
    kind: Kind
    table: Table
    headers: HeaderMap
    tz: tzinfo

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.headers.warnings

    def results(self) -> Iterator[RowResult]:
        parse = ROW_PARSERS[self.kind]
        for raw in self.table.rows:
            row, errors = parse(
                self.headers.cells(raw.values),
                line=raw.line,
                tz=self.tz,
                labels=self.headers.labels,
            )
            yield RowResult(raw.line, row, errors)


@contextmanager
def open_export(
    source: Source, *, kind: Kind | str | None = None, tz: tzinfo = PLATFORM_TZ
) -> Iterator[Export]:
    """Open ``source`` as an export of ``kind`` (guessed from the headers when ``None``).

    Raises :class:`FileError` when the file cannot be read or its headers do not fit.
    """
    with open_table(source) as table:
        chosen = Kind(kind) if kind else guess_kind(table.headers)
        yield Export(chosen, table, map_headers(chosen, table.headers), tz)
