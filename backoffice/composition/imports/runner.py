"""Import a platform export: every row through the services, all or nothing, in batches.

    report = import_export(path_or_upload, kind=None, actor=user, dry_run=False, tz=None)
    report.summary()      # "created 3, updated 1, unchanged 36, errors 0"
    report.errors         # [RowError(line, column, message)], str() = "line L: column: message"

The file is parsed as it is read (``parse.open_export``) and applied ``BATCH_SIZE`` rows at a
time inside one transaction, in one unit of work (``backoffice.unit_of_work``): each batch runs
the services against rows it locked up front, a ledger that posts and reads balances in bulk
and audit rows and events inserted in bulk, then flushes the unit and forgets its rows: memory
holds one batch, never the file. Any error, in a cell or against the
rules, means nothing is written: the transaction is rolled back at the end, as it is for a dry
run, which therefore reports exactly what the import would do.

Raises :class:`~backoffice.imports.errors.FileError` when the file cannot be read at
all (not a
CSV/XLSX, headers that fit no kind), its subclass ``ImportConflict`` when the database refuses
the writes (a record created meanwhile by someone else), and ``ValueError`` for an unknown
``tz``. Imports run one at a time (``db.serialize``).
"""

import gc
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import IO, Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils.translation import gettext

from accounts.models import SellerAccount
from backoffice import clock, db
from backoffice.imports.appliers import Context, applier_for
from backoffice.imports.errors import CellError, FileError, ImportConflict, RowError
from backoffice.imports.parse import open_export
from backoffice.imports.reading import CHUNK_SIZE, SPOOL_SIZE, Source
from backoffice.imports.values import PLATFORM_TZ, parse_platform_id, timezone_named
from backoffice.models import ImportFile
from backoffice.unit_of_work import unit_of_work
from payouts import ledger
from payouts.models import Account

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
MAX_ERRORS = 1000  # errors kept in the report; the rest are counted
MAX_ROW_WARNINGS = 1000  # row warnings kept; the rest are counted
IMPORT_GC_THRESHOLDS = (50_000, 20, 10)  # gc.set_threshold() while an import runs
IMPORT_SQLITE_CACHE_KIB = 65_536  # SQLite's page cache while an import runs (default 2 MiB)

# The currency each store account holds (the promotion wallet is in CNY, the rest in USD).
ACCOUNT_CURRENCY = {Account.PROMOTION: "CNY"}


@dataclass
class ImportReport:
    """What an import did, or would do (a dry run, the admin's preview).

    A rejected import (``errors``) wrote nothing: its counts, moves and money are zero, except in a
    dry run, which shows what the rows without errors would have done."""

    kind: str
    file_name: str
    file_hash: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # of the file, and of its rows
    # (state before or "new", state after) -> how many records made that move
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    # store platform id -> {ledger account: net change}, in the account's currency (USD; CNY
    # for the promotion wallet)
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    rows: int = 0  # non-empty rows read
    more_errors: int = 0  # errors beyond the MAX_ERRORS kept in ``errors``
    row_warnings: int = 0  # rows' warnings (a nearest state, a time taken for another)
    stores_created: list[str] = field(default_factory=list)  # platform ids of new stores
    # platform id -> name of each new store (a dry run rolls them back: the preview names them)
    store_names: dict[str, str] = field(default_factory=dict)
    import_file: ImportFile | None = None  # the record of a landed import

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.more_errors

    @property
    def landed(self) -> bool:
        return not self.dry_run and self.error_count == 0

    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"errors {self.error_count}"
        )

    def error_lines(self) -> list[str]:
        lines = [str(error) for error in self.errors]
        if self.more_errors:
            lines.append(f"... and {self.more_errors} more errors")
        return lines

    def move_lines(self) -> list[str]:
        """``paid -> shipped: 12`` per move, new records first."""
        order = sorted(self.moves.items(), key=lambda item: (item[0][0] != "new", item[0]))
        return [f"{source} -> {target}: {count}" for (source, target), count in order]

    def money_lines(self) -> list[str]:
        """``store 2339563: escrow USD +120.00, available USD +57.09`` per store."""
        return [
            f"store {store}: "
            + ", ".join(
                f"{account} {ACCOUNT_CURRENCY.get(account, 'USD')} {amount:+,.2f}"
                for account, amount in accounts.items()
            )
            for store, accounts in sorted(self.money.items())
        ]

    def add_warning(self, warning: RowError) -> None:
        """A row's warning (``line L: column: message``): the first MAX_ROW_WARNINGS kept."""
        self.row_warnings += 1
        if self.row_warnings <= MAX_ROW_WARNINGS:
            self.warnings.append(str(warning))
        elif self.row_warnings == MAX_ROW_WARNINGS + 1:
            self.warnings.append(f"more row warnings than {MAX_ROW_WARNINGS}: the rest not shown")

    def add_error(self, error: RowError) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)
        else:
            self.more_errors += 1


def import_export(
    source: Source,
    *,
    kind: str | None = None,
    actor: Any = None,
    dry_run: bool = False,
    tz: str | None = None,
    file_name: str | None = None,
    store: str | None = None,
    store_name: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import ``source`` (a path or a binary file object, e.g. an upload) as ``kind`` (guessed
    from the headers when ``None``), acting as ``actor`` (``None``: the system). ``tz`` names the
    time zone of timestamps without an offset (default: the platform's). ``store`` is the
    platform id of the store the file belongs to (the seller center exports one store per file,
    without a store column); ``store_name`` names it when it is new. ``progress`` is called
    after each batch with the number of rows it held (an increment, as ``tqdm.update`` takes)."""
    zone = timezone_named(tz) if tz else PLATFORM_TZ
    store, currency, known = _chosen_store(store)
    with _seekable(source) as stream:
        digest = _sha256(stream)
        with open_export(stream, kind=kind, tz=zone, store=store, currency=currency) as export:
            nameless = "store_name" not in export.headers.positions
            if store and not known and not (store_name or "").strip() and nameless:
                raise FileError(
                    gettext(
                        "store %(store)s is not in the back-office: give its name to create it "
                        "(--store-name, or the import page's new store name)"
                    )
                    % {"store": store}
                )
            report = ImportReport(
                kind=str(export.kind),
                file_name=(file_name or _name_of(source))[:255],
                file_hash=digest,
                dry_run=dry_run,
                warnings=list(export.warnings),
            )
            options = {"store": store, "store_name": (store_name or "").strip() or None}
            _apply(export, report, actor, progress, batch_size, options)
    if not report.landed:
        report.import_file = None
        if not dry_run:  # a rejected file changed nothing
            report.created = report.updated = report.unchanged = 0
            report.moves, report.money, report.stores_created = Counter(), {}, []
    return report


def _chosen_store(store: str | None) -> tuple[str | None, str | None, bool]:
    """(platform id, its settlement currency, whether it exists) of the store named for the
    import; a malformed id is a :class:`FileError`."""
    if store is None or not store.strip():
        return None, None, False
    try:
        platform_id = parse_platform_id(store, what="store id")
    except CellError as exc:
        raise FileError(
            gettext("store %(value)r: %(message)s")
            % {"value": store.strip()[:40], "message": exc.message}
        ) from None
    currency = (
        SellerAccount.objects.filter(platform_store_id=platform_id)
        .values_list("settlement_currency", flat=True)
        .first()
    )
    return platform_id, currency, currency is not None


def _apply(
    export: Any,
    report: ImportReport,
    actor: Any,
    progress: Callable[[int], None] | None,
    batch_size: int,
    options: dict[str, Any],
) -> None:
    """Run the import in one transaction, rolled back unless it landed."""
    try:
        with _fewer_collections(), _larger_page_cache(), transaction.atomic():
            # One import at a time: two at once would both create the same new stores and
            # orders, and one of them would fail on the unique indexes.
            db.serialize("imports")
            _run(export, report, actor, progress, batch_size, options)
            if not report.landed:
                transaction.set_rollback(True)
    except (IntegrityError, OperationalError) as exc:
        logger.warning("import of %s refused by the database", report.file_name, exc_info=True)
        raise ImportConflict(
            gettext(
                "the database refused the import (%(value)s), most likely because of another "
                "change made at the same time; nothing was written, import the file again"
            )
            % {"value": str(exc).strip()}
        ) from exc


def _run(
    export: Any,
    report: ImportReport,
    actor: Any,
    progress: Callable[[int], None] | None,
    batch_size: int,
    options: dict[str, Any],
) -> None:
    record = ImportFile.objects.create(
        file_name=report.file_name,
        sha256=report.file_hash,
        kind=report.kind,
        actor=actor if getattr(actor, "pk", None) else None,
        started_at=clock.now(),
        warnings=report.warnings,
    )
    results = export.results()
    with unit_of_work() as unit:
        money = ledger.current()
        money.hold_totals()  # written once, after the last batch
        context = Context(
            report=report,
            record=record,
            actor=actor,
            labels=export.headers.labels,
            tz=export.tz,
            rows=unit.rows,
            ledger=money,
            **options,
        )
        applier = applier_for(export.kind)(context)
        while chunk := list(islice(results, batch_size)):
            report.rows += len(chunk)
            applier.apply(chunk)
            unit.flush()
            money.forget_orders()
            applier.forget()
            if progress is not None:
                progress(len(chunk))
        money.write_totals()
        report.money = _money_by_store(money.moved)
    report.errors.sort(key=lambda error: error.line)  # cell errors come before a batch's others
    record.finished_at = clock.now()
    record.rows = report.rows
    record.created, record.updated, record.unchanged = (
        report.created,
        report.updated,
        report.unchanged,
    )
    record.warnings = report.warnings
    record.save(
        update_fields=["finished_at", "rows", "created", "updated", "unchanged", "warnings"]
    )
    report.import_file = record


def _money_by_store(moved: dict[tuple[int, str, str], Decimal]) -> dict[str, dict[str, Decimal]]:
    platform_ids = dict(
        SellerAccount.objects.filter(pk__in={store for store, _, _ in moved}).values_list(
            "pk", "platform_store_id"
        )
    )
    money: dict[str, dict[str, Decimal]] = {}
    for (store_id, account, currency), amount in sorted(moved.items()):
        if amount == 0:
            continue
        usual = currency == ACCOUNT_CURRENCY.get(account, "USD")
        key = account if usual else f"{account}:{currency}"
        accounts = money.setdefault(platform_ids[store_id], {})
        accounts[key] = accounts.get(key, Decimal("0.00")) + amount
    return money


_collections_lock = threading.Lock()
_imports_running = 0
_saved_thresholds = gc.get_threshold()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Garbage collection tuned for an import. A batch keeps thousands of objects alive (rows,
    orders, postings, audit rows), so the default thresholds run full collections over them, and
    over the whole of Django, again and again: about a tenth of an import's time, measured.
    Objects made before the import are left out of collections (``gc.freeze``) and collections
    come less often; both are undone when the last import running in the process ends. Garbage
    still goes as it always does: by reference counting, and by the rarer collections."""
    global _imports_running, _saved_thresholds
    with _collections_lock:
        _imports_running += 1
        if _imports_running == 1:
            _saved_thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*IMPORT_GC_THRESHOLDS)
    try:
        yield
    finally:
        with _collections_lock:
            _imports_running -= 1
            if _imports_running == 0:
                gc.set_threshold(*_saved_thresholds)
                gc.unfreeze()


@contextmanager
def _larger_page_cache() -> Iterator[None]:
    """SQLite's page cache made larger for the import, then set back. A batch writes to seven
    tables and about thirty indexes (orders, lines, postings, entries, running totals, audit
    rows, events), whose pages do not fit in SQLite's default 2 MiB, so it reads the same pages
    back from the operating system again and again: a tenth of an import's time, measured. One
    connection's setting, for the length of the import; PostgreSQL has no such setting."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{int(IMPORT_SQLITE_CACHE_KIB)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


@contextmanager
def _seekable(source: Source) -> Iterator[IO[bytes]]:
    """The file as a binary stream that can be read twice (hash, then parse)."""
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            try:
                stream = stack.enter_context(open(source, "rb"))
            except OSError as exc:
                raise FileError(
                    gettext("cannot open %(value)s: %(strerror)s")
                    % {"value": os.fspath(source), "strerror": exc.strerror}
                ) from exc
            yield stream
        elif getattr(source, "seekable", lambda: False)():
            yield source
        else:
            spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE))
            shutil.copyfileobj(source, spool, CHUNK_SIZE)
            yield spool  # type: ignore[misc]


def _sha256(stream: IO[bytes]) -> str:
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK_SIZE):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _name_of(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.path.basename(os.fspath(source))
    return os.path.basename(str(getattr(source, "name", "") or "upload"))
