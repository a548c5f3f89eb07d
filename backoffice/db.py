"""Small database helpers shared by the services, and the rows part of a unit of work.

Services load the rows they change with :func:`lock` and write them with :func:`save` (new rows
no one reads before the flush: :func:`create`). All three go through the unit of work of the
running code (:mod:`backoffice.unit_of_work`): at once outside a batch (one ``SELECT ... FOR
UPDATE`` and one ``UPDATE`` per call); inside one, against the rows the batch locked up front
(:class:`RowBatch`, a few queries for the whole batch), and the writes wait for the flush:

- :func:`lock` returns a row the batch holds from its identity map (the same instance, so every
  service sees the changes the others made);
- :func:`save` of such a row is deferred to :meth:`RowBatch.flush`, which inserts the batch's new
  rows with one ``INSERT`` statement per model (:func:`insert_many`; their ids were taken up
  front with :func:`reserve_ids`, so the services could reference them) and writes the changed
  ones with one ``UPDATE`` statement per model and set of fields (:func:`update_many`).

The rules stay in the services; the batch only changes when their reads and writes happen.
"""

import functools
import hashlib
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.utils import timezone

from backoffice import unit_of_work

M = TypeVar("M", bound=models.Model)


class RowBatch:
    """The rows a batch has locked, the new rows it will insert and the changes it will write."""

    def __init__(self) -> None:
        self._rows: dict[tuple[type[models.Model], Any], models.Model] = {}
        self._new: dict[type[models.Model], dict[Any, models.Model]] = defaultdict(dict)
        self._dirty: dict[type[models.Model], dict[Any, tuple[models.Model, set[str]]]] = (
            defaultdict(dict)
        )
        self._ids: dict[type[models.Model], list[int]] = defaultdict(list)

    def lock(self, queryset: models.QuerySet[M]) -> list[M]:
        """Load and lock ``queryset``'s rows (one query); :func:`lock` then returns them."""
        rows = list(queryset.select_for_update())
        for row in rows:
            self.hold(row)
        return rows

    def hold(self, instance: models.Model) -> None:
        """Hold a row the caller has locked (or created) itself."""
        self._rows[(type(instance), instance.pk)] = instance

    def add(self, instance: models.Model) -> None:
        """A new row with a reserved id (:func:`reserve_ids`), inserted whole at :meth:`flush`.
        Services may reference it (foreign keys are checked at commit)."""
        if instance.pk is None:
            raise ValueError("reserve an id for a row added to a batch")
        self.hold(instance)
        self._new[type(instance)][instance.pk] = instance

    def new_id(self, model: type[models.Model]) -> int:
        """An id for a new row of ``model`` (:func:`reserve_ids`, taken 500 at a time; the
        ones left unused at the end are a gap in the sequence, nothing more)."""
        pool = self._ids[model]
        if not pool:
            pool.extend(reversed(reserve_ids(model, 500)))
        return pool.pop()

    def get(self, model: type[M], pk: Any) -> M | None:
        return self._rows.get((model, pk))  # type: ignore[return-value]

    def defer(self, instance: models.Model, fields: Iterable[str]) -> bool:
        """Take a save of ``fields`` for :meth:`flush`; False for a row the batch does not hold."""
        model, pk = type(instance), instance.pk
        if self._rows.get((model, pk)) is not instance:
            return False
        if pk not in self._new[model]:  # a new row is inserted with all its fields anyway
            _, pending = self._dirty[model].setdefault(pk, (instance, set()))
            pending.update(fields)
        return True

    def flush(self) -> None:
        """Insert the new rows, then write the changed ones. The rows inserted are no longer
        held (a later :func:`lock` reads them again), so memory does not grow batch by batch."""
        for model, rows in self._new.items():
            insert_many(model, list(rows.values()))
            for pk in rows:
                self._rows.pop((model, pk), None)
        self._new.clear()
        for model, changes in self._dirty.items():
            by_fields: dict[frozenset[str], list[models.Model]] = defaultdict(list)
            for instance, fields in changes.values():
                by_fields[frozenset(fields)].append(instance)
            for fields, rows in by_fields.items():
                update_many(model, rows, sorted(fields))
        self._dirty.clear()

    def forget(self, model: type[models.Model]) -> None:
        """Drop the held rows of ``model`` (flushed first), so memory does not grow batch by
        batch; the next :func:`lock` of one of them queries again."""
        if self._new.get(model) or self._dirty.get(model):
            raise RuntimeError(f"flush the batch before forgetting its {model.__name__} rows")
        for key in [key for key in self._rows if key[0] is model]:
            del self._rows[key]


def create(model: type[M], **values: Any) -> M:
    """``model.objects.create(**values)``; inside a batch, the row with a reserved id, inserted
    at the flush. Only for rows no one queries before then (the caller knows)."""
    return unit_of_work.current().create(model, values)


def build(model: type[M], **values: Any) -> M:
    """``model(**values)`` for values given by attname, without running ``Model.__init__`` (a
    tenth of its cost) nor its ``pre_init``/``post_init`` signals: for rows built by the
    thousand in a batch (postings, audit rows, new orders). Fields not given take their
    defaults."""
    instance = model.__new__(model)
    fixed, computed = _defaults(model)
    instance.__dict__.update(fixed)
    for attname, field in computed:
        instance.__dict__[attname] = field.get_default()
    instance.__dict__.update(values)
    instance._state = models.base.ModelState()
    return instance


@functools.cache
def _defaults(
    model: type[models.Model],
) -> tuple[dict[str, Any], tuple[tuple[str, models.Field], ...]]:
    """A model's fixed defaults, and the fields whose default is computed for each row (a
    ``default=list`` must not be one list shared by every row)."""
    fields = model._meta.concrete_fields
    computed = tuple(
        (field.attname, field)
        for field in fields
        if field.has_default() and callable(field.default)
    )
    fixed = {
        field.attname: field.get_default()
        for field in fields
        if (field.attname, field) not in computed
    }
    return fixed, computed


def serialize(name: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Wait for, then hold until the transaction ends, the lock called ``name``: transactions
    that take the same one run one after another. A PostgreSQL advisory lock; SQLite runs one
    writing transaction at a time anyway (IMMEDIATE). Must run inside ``atomic``."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def lock(model: type[M], pk: int | str, *, what: str | None = None) -> M:
    """Load one row with ``SELECT ... FOR UPDATE`` (a no-op on SQLite, whose writers are
    serialised by the IMMEDIATE transactions set in settings). Must run inside ``atomic``.
    A row the batch holds comes back without a query."""
    return unit_of_work.current().lock(model, pk, what)


def save(instance: models.Model, fields: Iterable[str]) -> None:
    """``instance.save(update_fields=fields)``, deferred to the flush for a row the batch
    holds."""
    unit_of_work.current().save(instance, fields)


def insert_many(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """INSERT the rows: one single-row statement run for all of them (``executemany``). What
    ``bulk_create`` does, without compiling a multi-row statement for every ~100 rows in Python,
    most of its time; and without reading ids back: a row carries its id (:func:`reserve_ids`)
    or does not need it. A foreign key set to an object saved after it was assigned is taken
    from that object, as ``save()`` does."""
    if not rows:
        return
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    relations = [f for f in meta.concrete_fields if f.is_relation]
    pk_name = meta.pk.attname  # read from the row: the pk property costs more than the test
    for with_id in (True, False):
        group = [row for row in rows if (row.__dict__.get(pk_name) is not None) == with_id]
        if not group:
            continue
        for row in group:
            for field in relations:
                if row.__dict__.get(field.attname) is None and field.is_cached(row):
                    setattr(row, field.attname, getattr(field.get_cached_value(row), "pk", None))
        fields = [f for f in meta.concrete_fields if with_id or not f.primary_key]
        sql = _insert_sql(model, connection, fields)
        _execute_many(connection, sql, _values(group, fields, connection))
        for row in group:
            row._state.adding = False
            row._state.db = connection.alias


def insert_values(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT rows given as ``{attname: value}`` (a field left out takes its default), for
    rows no one needs as model instances: building a dict costs a hundredth of building an
    instance. No automatic dates: give them."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields if not callable(f.default)}
    complete = [row if len(row) == len(fields) else {**defaults, **row} for row in rows]
    sql = _insert_sql(model, connection, fields)
    _execute_many(connection, sql, _values(complete, fields, connection, mappings=True))


def insert_rows(
    model: type[models.Model],
    attnames: Sequence[str],
    rows: list[list[Any]],
    *,
    moments: Sequence[int] = (),
) -> None:
    """INSERT ``rows``, each a list of values in the order of ``attnames``, already as the
    database takes them (text, numbers, ``None``) except the aware datetimes at the positions
    ``moments``, adapted here as :func:`insert_many` adapts them (the rows are changed): for
    rows a batch builds by the thousand without a model instance (events)."""
    if not rows:
        return
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    fields = [meta.get_field(name) for name in attnames]
    adapt, adapted = _moment_adapter(connection), _moments(connection)
    for row in rows:
        for i in moments:
            value = row[i]
            if type(value) is datetime and value.tzinfo is not None:
                if (done := adapted.get(value)) is None:
                    done = adapted[value] = adapt(value)
                row[i] = done
            elif value is not None:  # what the field makes of anything else
                row[i] = fields[i].get_db_prep_save(value, connection)
    _execute_many(connection, _insert_sql(model, connection, fields), rows)


def update_many(model: type[models.Model], rows: list[models.Model], fields: list[str]) -> None:
    """Write ``fields`` (and ``auto_now`` fields) of each row: one ``UPDATE ... WHERE pk = %s``
    run for all rows (``executemany``). ``bulk_update`` builds a ``CASE`` per field instead,
    which costs far more, in Python and in the database, for thousands of rows."""
    if not rows:
        return
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    columns = [meta.get_field(name) for name in fields]
    columns += [
        f for f in meta.concrete_fields if getattr(f, "auto_now", False) and f not in columns
    ]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    _execute_many(connection, sql, _values(rows, [*columns, meta.pk], connection, adding=False))


def _insert_sql(model: type[models.Model], connection: Any, fields: list[models.Field]) -> str:
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )


def _execute_many(connection: Any, sql: str, params: list[list[Any]]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# Field types whose database value is the Python value itself when it is of one of the plain
# types (what the drivers take as they are); any other value goes through the field's
# get_db_prep_save, as Django's own writes do.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,  # with the auto fields, positive and big integers
    models.BooleanField,
    models.DecimalField,
    models.ForeignKey,  # the id
)
_PLAIN_VALUES = frozenset({str, int, bool, Decimal, type(None)})


MOMENTS_KEPT = 20_000  # adapted datetimes kept per connection (see _moments)


def _moments(connection: Any) -> dict[datetime, Any]:
    """The connection's adapted datetimes, shared by the inserts of a batch: an order's times
    come back in its audit rows, postings, entries and events. Started over when full."""
    zone = connection.timezone  # what they were adapted to (settings may change it)
    kept = connection.__dict__.get("_backoffice_moments")
    if kept is None or kept[0] is not zone or len(kept[1]) > MOMENTS_KEPT:
        kept = connection.__dict__["_backoffice_moments"] = (zone, {})
    return kept[1]


def _moment_adapter(connection: Any) -> Any:
    """The backend's adaptation of an aware datetime. SQLite's (text, in the connection's time
    zone) is done here as Django's adapt_datetimefield_value does it, without its checks of
    the settings on every value."""
    if connection.vendor == "sqlite" and settings.USE_TZ:
        zone = connection.timezone
        return lambda moment: str(moment.astimezone(zone).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


def _as_text(prepare: Any) -> Any:
    """Text passes as it is, a str subclass (a choices member) too, as Django's own
    get_prep_value lets it; anything else is converted."""

    def convert(value: Any, connection: Any) -> Any:
        return value if isinstance(value, str) else prepare(value, connection)

    return convert


def _values(
    rows: Sequence[Any],
    fields: list[models.Field],
    connection: Any,
    *,
    adding: bool = True,
    mappings: bool = False,
) -> list[list[Any]]:
    """Each row's values for ``fields`` as the database takes them, the way ``save()`` prepares
    them (``pre_save`` sets automatic dates, ``get_db_prep_save`` converts) but without the
    per-value calls for plain values and aware datetimes, which are most of the time a bulk
    write spends in Python. ``rows`` are model instances, or ``{attname: value}`` with
    ``mappings``."""
    attnames = [f.attname for f in fields]
    read_all = operator.itemgetter(*attnames) if len(attnames) > 1 else lambda d: [d[attnames[0]]]
    stamped = [
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or (adding and getattr(f, "auto_now_add", False))
    ]
    now = timezone.now()
    checked, moments, converted = [], [], []
    for i, field in enumerate(fields):
        prepare = field.get_db_prep_save
        if isinstance(field, models.CharField | models.TextField):
            checked.append((i, _as_text(prepare)))
        elif isinstance(field, _PLAIN_FIELDS):
            checked.append((i, prepare))
        elif isinstance(field, models.DateTimeField):
            moments.append((i, prepare))
        else:
            converted.append((i, prepare))
    # An aware datetime needs only the backend's adaptation (get_prep_value returns it as it
    # is); rows of a batch share their moments, so each is adapted once.
    adapt, adapted = _moment_adapter(connection), _moments(connection)
    plain = _PLAIN_VALUES
    params = []
    for row in rows:
        values_of = row if mappings else row.__dict__
        for attname in stamped:  # what pre_save() does for them
            values_of[attname] = now
        try:
            values = list(read_all(values_of))
        except KeyError:  # a deferred field: read it the long way
            values = [getattr(row, attname) for attname in attnames]
        for i, prep in checked:
            if type(values[i]) not in plain:
                values[i] = prep(values[i], connection)
        for i, prep in moments:
            value = values[i]
            if value is None:
                continue
            if type(value) is datetime and value.tzinfo is not None:
                if (done := adapted.get(value)) is None:
                    done = adapted[value] = adapt(value)
                values[i] = done
            else:
                values[i] = prep(value, connection)
        for i, prep in converted:
            values[i] = prep(values[i], connection)
        params.append(values)
    return params


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Take ``count`` ids of ``model``'s auto-increment key for rows inserted later in this
    transaction (:meth:`RowBatch.add`), so that rows referring to them can be built first.
    No insert without an id can take them. Must run inside ``atomic``."""
    if count <= 0:
        return []
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    table, column = meta.db_table, meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        if connection.vendor == "sqlite":
            # Django's SQLite keys are AUTOINCREMENT: ids come from sqlite_sequence (never
            # reused). Move it past the reserved ids; the IMMEDIATE transaction holds the write
            # lock, so no other connection takes ids meanwhile.
            quote = connection.ops.quote_name
            cursor.execute(
                f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                f"coalesce((SELECT max({quote(column)}) FROM {quote(table)}), 0))",
                [table],
            )
            first = cursor.fetchone()[0] + 1
            last = first + count - 1
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [last, table])
            if cursor.rowcount == 0:
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, last]
                )
            return list(range(first, last + 1))
    raise NotImplementedError(f"reserve_ids does not support {connection.vendor}")
