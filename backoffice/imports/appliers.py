"""What every import applier shares, and the registry the apps register theirs in.

An applier brings the records of one kind of export (``headers.Kind``) to what its rows say,
through the services the admin and GraphQL use, nothing else. Each lives in the app whose
models it writes (``orders/imports.py``, ``disputes/imports.py``, ``payouts/imports.py``) and
registers itself with :func:`register`, as deadline jobs do; the composition root lists the
kinds in order (``backoffice/composition/imports/appliers.py``, ``IMPORT_APPLIERS``) and
:func:`set_order` refuses, at start-up, a list that does not name every kind and every
registered applier once. The runner (``backoffice/composition/imports/runner.py``) hands each
batch of parsed rows to :func:`applier_for` the file's kind.

An applier takes one batch of parsed rows at a time (``RowResult``: a row, or the errors of its
cells). By default (:meth:`Applier.apply`) each row runs in a savepoint and every row is tried;
the orders applier replaces that with the batch machinery of the unit of work.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models, transaction

from backoffice import db
from backoffice.models import ImportFile
from backoffice.money import Currency, Money, cny_to_usd

from .errors import RowError
from .headers import Kind
from .parse import RowResult

REFUSED = (ValidationError, DjangoPermissionDenied)


class RowProblem(Exception):
    """A row that does not fit what is stored (another store's order, another amount)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Context:
    report: Any  # runner.ImportReport
    record: ImportFile
    actor: Any
    labels: Mapping[str, str]  # field -> the column's header as the file writes it
    tz: tzinfo  # the file's time zone
    rows: db.RowBatch  # the unit of work's rows, flushed after each batch of rows
    ledger: Any  # payouts.ledger.LedgerBatch: the unit of work's postings and balances
    store: str | None = None  # the store the import is for (platform id)
    store_name: str | None = None  # its name, to create it when it is new
    stopped_at: int | None = None  # the line whose refusal stopped the applying

    def error(self, line: int, field: str, message: str) -> None:
        self.report.add_error(RowError(line, self.labels.get(field, field), message))

    def refused(self, line: int, exc: Exception, fields: Mapping[str, str], default: str) -> None:
        """A service's refusal as a row error, at the column of the field it names."""
        field, message = explain(exc)
        column = fields.get(field or "") or (field if field in self.labels else default)
        self.error(line, column, message)

    def stop(self, line: int) -> None:
        self.stopped_at = line
        self.report.warnings.append(
            f"line {line} was refused, so nothing will be written: the rows after it were "
            "checked for errors in their cells only"
        )

    def mark(self, instance: models.Model, line: int) -> None:
        """Remember the file and line that created or moved ``instance`` (its next save, or
        the batch's flush, writes them)."""
        # by id, the record cached: what assigning it does, without the descriptor's checks of
        # type and database (a saved ImportFile), once per row of an import
        field = instance._meta.get_field("source_file")
        instance.__dict__[field.attname] = self.record.pk
        field.set_cached_value(instance, self.record)
        instance.source_line = line
        db.save(instance, ["source_file", "source_line"])

    def count(self, source: str | None, target: str | None = None, *, changed: bool) -> None:
        """One record done: new (``source == "new"``), moved (``source != target``) or otherwise
        ``changed``, or unchanged. Records without a state pass ``None`` for both."""
        report = self.report
        if source == "new":
            report.created += 1
        elif source != target or changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if source != target and target is not None:
            report.moves[(str(source), str(target))] += 1


def explain(exc: Exception) -> tuple[str | None, str]:
    """(field named, message) of a service's refusal or a :class:`RowProblem`."""
    if isinstance(exc, RowProblem):
        return exc.field, exc.message
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            return (None if field == NON_FIELD_ERRORS else field), " ".join(messages)
        return None, " ".join(exc.messages)
    return None, str(exc) or "Permission denied."


def to_usd(money: Money | None, rate: Decimal, field: str) -> Money | None:
    """CNY to USD at ``rate`` (CNY for one USD), to the cent by the conversions' rule (half
    up, :func:`backoffice.money.round_conversion`)."""
    if money is None:
        return None
    usd = Money(cny_to_usd(money.amount, rate), Currency.USD)
    if field == "amount" and usd.amount <= 0:
        raise RowProblem(field, f"{money}: less than a cent in USD at {rate}")
    return usd


def usd(money: Money | None, field: str) -> Decimal | None:
    """A USD amount of the row, as a number; another currency is the row's problem."""
    if money is None:
        return None
    if money.currency != Currency.USD:
        raise RowProblem(field, f"{money}: this amount is in USD")
    return money.amount


class Applier:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.actor = context.actor

    def parsed(self, results: Iterable[RowResult]) -> list[Any]:
        """The batch's rows that parsed; the errors of the others go to the report."""
        rows = []
        for result in results:
            if result.errors:
                for error in result.errors:
                    self.context.report.add_error(error)
            else:
                rows.append(result.row)
        return rows

    def apply(self, results: list[RowResult]) -> None:
        for row in self.parsed(results):
            try:
                with transaction.atomic():
                    self.apply_row(row)
            except (*REFUSED, RowProblem) as exc:
                self.context.refused(row.line, exc, self.SERVICE_FIELDS, self.DEFAULT_FIELD)

    def apply_row(self, row: Any) -> None:
        raise NotImplementedError

    def forget(self) -> None:
        """After the batch was written: drop what it held."""

    SERVICE_FIELDS: Mapping[str, str] = {}  # a service's field name -> the export's
    DEFAULT_FIELD = "status"


# --- the registry -------------------------------------------------------------------------------

_appliers: dict[str, type[Applier]] = {}
_order: list[str] = []


def register(kind: str) -> Callable[[type[Applier]], type[Applier]]:
    """Class decorator: ``cls`` applies the exports of ``kind`` (a ``headers.Kind``)."""

    def decorate(cls: type[Applier]) -> type[Applier]:
        _appliers[kind] = cls
        return cls

    return decorate


def set_order(kinds: Sequence[str]) -> None:
    """The kinds in the order their files are imported in: every kind of export named once,
    each with its registered applier."""
    expected = {str(kind) for kind in Kind}
    missing, unknown = expected - set(kinds), set(kinds) - expected
    unregistered = expected - set(_appliers)
    if missing or unknown or unregistered or len(set(kinds)) != len(kinds):
        raise ImproperlyConfigured(
            f"IMPORT_APPLIERS must name every kind of export once, each with a registered "
            f"applier: missing {sorted(missing)}, unknown {sorted(unknown)}, without applier "
            f"{sorted(unregistered)}."
        )
    _order[:] = kinds


def appliers() -> dict[str, type[Applier]]:
    """Every registered applier, in the order :func:`set_order` gave."""
    return {kind: _appliers[kind] for kind in _order}


def applier_for(kind: str) -> type[Applier]:
    return _appliers[kind]
