"""The unit of work: where every write of a service goes, and when it reaches the database.

Services never see it. They lock rows with :func:`backoffice.db.lock`, save them with
:func:`backoffice.db.save` (or create them with :func:`backoffice.db.create`), record audit rows
(:func:`backoffice.audit.record_transition`), events (:mod:`backoffice.events`) and postings
(:func:`payouts.ledger.post`); all of these hand the write to :func:`current`, the unit of work
of the running code:

- outside any :func:`unit_of_work` block, an implicit unit of size 1 that writes at once (one
  ``SELECT ... FOR UPDATE`` and one ``UPDATE`` per call, an audit row per transition);
- inside one (an import's batches of 2,000 rows, a deadline job's batches), a unit that holds
  the rows locked up front (an identity map: :func:`~backoffice.db.lock` of a held row costs no
  query, and every service sees the changes the others made), and collects new rows, changed
  rows, postings, audit rows and events, then writes them in bulk at :meth:`UnitOfWork.flush`,
  always in this order: new rows, changed rows, each participant (the ledger: postings, entries,
  running totals), audit rows, events (with their webhook deliveries).

So a service writes the same code whether one row or 20,000 run. A read that needs the written
state flushes first (the ledger flushes its postings before reading entries).

Participants: an app whose writes a unit collects registers a participant
(:func:`register`): a factory for the batched part, and the object that does the same work at
once for the implicit unit. The kernel imports no app: payouts registers its ledger
(``payouts.ledger``), and reaches it back with ``current().part("ledger")``.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from django.db import models, transaction

from backoffice import db, events
from backoffice.errors import not_found

M = TypeVar("M", bound=models.Model)


class Participant(Protocol):
    def flush(self) -> None: ...


# name -> (factory of the batched part, the part of the implicit unit)
_participants: dict[str, tuple[Callable[[], Participant], Participant]] = {}


def register(name: str, batched: Callable[[], Participant], immediate: Participant) -> None:
    """Let units of work collect the writes of ``name`` (e.g. the ledger's postings)."""
    _participants[name] = (batched, immediate)


class UnitOfWork:
    """The writes of a batch, flushed together (see the module's docstring)."""

    batching = True

    def __init__(self) -> None:
        self.rows = db.RowBatch()
        self.audit_rows: list[models.Model] = []
        self.events: list[Any] = []
        self._parts: dict[str, Participant] = {}

    # --- rows ---

    def hold(self, rows: Iterable[models.Model]) -> None:
        """Rows the caller locked: :func:`~backoffice.db.lock` returns them, their saves wait
        for the flush."""
        for row in rows:
            self.rows.hold(row)

    def lock_all(self, queryset: models.QuerySet[M]) -> list[M]:
        """Load, lock and hold ``queryset``'s rows in one query."""
        return self.rows.lock(queryset)

    def lock(self, model: type[M], pk: Any, what: str | None) -> M:
        held = self.rows.get(model, pk)
        return held if held is not None else _lock_now(model, pk, what)

    def save(self, instance: models.Model, fields: Iterable[str]) -> None:
        if not self.rows.defer(instance, fields):
            instance.save(update_fields=list(fields))

    def create(self, model: type[M], values: dict[str, Any]) -> M:
        instance = model(**values)
        instance.pk = self.rows.new_id(model)
        self.rows.add(instance)
        return instance

    # --- what is recorded with the changes ---

    def record_audit(self, row: models.Model) -> None:
        self.audit_rows.append(row)

    def record_event(self, event: Any) -> None:
        self.events.append(event)

    def part(self, name: str) -> Any:
        """The participant ``name`` of this unit, made on first use."""
        part = self._parts.get(name)
        if part is None:
            part = self._parts[name] = _participants[name][0]()
        return part

    def flush(self) -> None:
        """Write everything collected so far, in the fixed order of the module's docstring."""
        self.rows.flush()
        for part in self._parts.values():
            part.flush()
        by_model: dict[type[models.Model], list[models.Model]] = {}
        for row in self.audit_rows:
            by_model.setdefault(type(row), []).append(row)
        for model, rows in by_model.items():
            db.insert_many(model, rows)
        self.audit_rows.clear()
        events.write(self.events)


class _Immediate(UnitOfWork):
    """The implicit unit of size 1: every write goes to the database at once."""

    batching = False

    def __init__(self) -> None:  # holds nothing
        pass

    def hold(self, rows: Iterable[models.Model]) -> None:
        pass

    def lock_all(self, queryset: models.QuerySet[M]) -> list[M]:
        return list(queryset.select_for_update())

    def lock(self, model: type[M], pk: Any, what: str | None) -> M:
        return _lock_now(model, pk, what)

    def save(self, instance: models.Model, fields: Iterable[str]) -> None:
        instance.save(update_fields=list(fields))

    def create(self, model: type[M], values: dict[str, Any]) -> M:
        return model.objects.create(**values)

    def record_audit(self, row: models.Model) -> None:
        row.save()

    def record_event(self, event: Any) -> None:
        events.write([event])

    def part(self, name: str) -> Any:
        return _participants[name][1]

    def flush(self) -> None:
        pass


def _lock_now(model: type[M], pk: Any, what: str | None) -> M:
    try:
        return model.objects.select_for_update().get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise not_found(what or model._meta.verbose_name.capitalize()) from None


IMMEDIATE = _Immediate()
_current: ContextVar[UnitOfWork] = ContextVar("unit_of_work", default=IMMEDIATE)

# The unit of work of the running code: the innermost unit_of_work() block, else the implicit
# one that writes at once. (The context variable's own getter: called for every write, so no
# Python frame of its own.)
current: Callable[[], UnitOfWork] = _current.get


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Collect the writes of the block and flush them at its end (or earlier, with
    :meth:`UnitOfWork.flush`), in one transaction. A nested block joins the outer unit."""
    if (outer := _current.get()) is not IMMEDIATE:
        yield outer
        return
    unit = UnitOfWork()
    token = _current.set(unit)
    try:
        with transaction.atomic():
            yield unit
            unit.flush()
    finally:
        _current.reset(token)
