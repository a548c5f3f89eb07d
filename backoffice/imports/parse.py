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

from django.utils.translation import gettext

from .errors import FileError, RowError
from .headers import COLUMNS, HeaderMap, Kind, guess_kind, map_headers
from .reading import Source, Table, open_table
from .rows import ROW_PARSERS, ParsedRow
from .values import PLATFORM_TZ

COLUMNS_BY_FIELD = {column.field: column for column in COLUMNS[Kind.ORDERS]}


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
    store: str | None = None  # the store the import is for (orders, promotion)
    currency: str | None = None  # of amounts that name none (default: each kind's own)

    @property
    def warnings(self) -> tuple[str, ...]:
        warnings = self.headers.warnings
        positions = self.headers.positions
        shipped_unknown = "carrier_tracking" in positions and "shipped_at" not in positions
        if self.kind == Kind.ORDERS and shipped_unknown:
            warnings += (
                f"no {COLUMNS_BY_FIELD['shipped_at'].both_names} column: a shipped order is "
                "recorded as shipped at its payment time (else its confirmation time)",
            )
        return warnings

    def results(self) -> Iterator[RowResult]:
        parse = ROW_PARSERS[self.kind]
        options: dict[str, object] = {}
        if self.kind in (Kind.ORDERS, Kind.PROMOTION):
            options["store"] = self.store
            if self.currency:
                options["currency"] = self.currency
        if self.kind == Kind.ORDERS:
            options["columns"] = frozenset(self.headers.positions)
        for raw in self.table.rows:
            row, errors = parse(
                self.headers.cells(raw.values),
                line=raw.line,
                tz=self.tz,
                labels=self.headers.labels,
                **options,
            )
            yield RowResult(raw.line, row, errors)


STORE_KINDS = (Kind.ORDERS, Kind.PROMOTION)


@contextmanager
def open_export(
    source: Source,
    *,
    kind: Kind | str | None = None,
    tz: tzinfo = PLATFORM_TZ,
    store: str | None = None,
    currency: str | None = None,
) -> Iterator[Export]:
    """Open ``source`` as an export of ``kind`` (guessed from the headers when ``None``), for
    ``store`` (a platform store id: a file of one store may have no store column) with amounts
    that name no currency in ``currency``.

    Raises :class:`FileError` when the file cannot be read or its headers do not fit.
    """
    with open_table(source) as table:
        chosen = Kind(kind) if kind else guess_kind(table.headers)
        if store is not None and chosen not in STORE_KINDS:
            raise FileError(
                gettext(
                    "%(chosen)s files are not imported for one store: their rows say whose they "
                    "are (leave the store out)"
                )
                % {"chosen": chosen}
            )
        headers = map_headers(chosen, table.headers, store_given=store is not None)
        yield Export(chosen, table, headers, tz, store=store, currency=currency)
