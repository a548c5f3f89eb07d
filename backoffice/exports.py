"""Exports from the admin changelists (orders, disputes, payouts, ledger entries) as CSV and XLSX.

Each app declares an export-only resource in its ``resources.py`` from the column helpers below
(:func:`text`, :func:`label`, :func:`amount`, :func:`timestamp`, ...) on :class:`ExportResource`,
and its ModelAdmin mixes in :class:`ExportAdminMixin`:

    class OrderAdmin(TransitionAdminMixin, ExportAdminMixin, admin.ModelAdmin):
        resource_classes = [OrderResource]

That adds an "Export" button (the filtered, searched changelist) and an "Export selected" action.

**Formula injection.** A spreadsheet runs a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula (``=HYPERLINK(...)`` in a buyer name). Every text cell
of every export goes through :func:`cell` in :meth:`ExportResource.export_field`, whichever
widget or ``dehydrate_`` method produced it, and such a cell gets a leading ``'``. Amounts are
``Decimal`` values, not text: they are never prefixed, so a negative ledger amount stays a number
(``-12.34`` in CSV, a numeric cell in XLSX). import-export's own
``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` is not used: it only strips ``=`` and turns every
cell, amounts included, into text.

**Who may export.** Active staff with the model's view permission and ``<app>.export_<model>``
(``IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"``). Seller users are never staff, so they never
reach the admin at all.

**Size.** An export is built in memory (tablib), so it is capped at ``settings.EXPORT_MAX_ROWS``
rows (20,000 by default): a bigger selection is refused with a message asking to narrow the
filters (the date hierarchy, a store), never silently cut short. The cap also keeps the
"Export selected" form, which carries the selected ids, within SQLite's parameter limit.

The resources are export-only: :meth:`ExportResource.import_data` refuses. Imports of platform
files go through ``backoffice.composition.imports`` (see
``backoffice/composition/admin_imports.py``).
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.admin import ExportActionMixin
from import_export.formats.base_formats import CSV, XLSX
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# What makes a spreadsheet read a text cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CENT = Decimal("0.01")


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would take it for a formula."""
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def cell(value: Any, *, binary: bool = False) -> Any:
    """One exported cell: numbers stay numbers, ``None`` stays empty, anything else is text,
    neutralised. In a binary format (XLSX) characters XML cannot hold become U+FFFD instead of
    failing the whole export."""
    if value is None or (isinstance(value, int | float | Decimal) and not isinstance(value, bool)):
        return value
    text = neutralise(str(value))
    return ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", text) if binary else text


# --- widgets: how one column renders (the resource neutralises text afterwards) ---


class TextWidget(widgets.Widget):
    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value)


class AmountWidget(widgets.Widget):
    """A money amount as a ``Decimal`` with ``places`` decimals (CSV ``-12.34``, XLSX a numeric
    cell); empty when there is none. The currency is a column of its own."""

    def __init__(self, places: int = 2) -> None:
        super().__init__(coerce_to_string=False)
        self.quantum = Decimal(1).scaleb(-places)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(self.quantum)


class TimestampWidget(widgets.Widget):
    """ISO 8601 in UTC to the second (``2026-03-09T22:05:33Z``), the same text in CSV and XLSX:
    no time zone is guessed by the spreadsheet."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if not isinstance(value, datetime):
            return ""
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FlagWidget(widgets.Widget):
    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else ("Yes" if value else "No")


# --- columns ---


def text(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=TextWidget())


def label(field: str, column: str) -> fields.Field:
    """A choice field's label (``Awaiting return``), not its stored code."""
    return fields.Field(attribute=f"get_{field}_display", column_name=column, widget=TextWidget())


def amount(attribute: str, column: str, *, places: int = 2) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=AmountWidget(places))


def timestamp(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=TimestampWidget())


def flag(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=FlagWidget())


def constant(value: str, column: str) -> fields.Field:
    """The same text on every row (the currency of amounts always kept in USD)."""
    return fields.Field(column_name=column, dehydrate_method=lambda obj: value)


class ExportResource(resources.Resource):
    """The base of every export resource: safe cells, related rows fetched with the rows."""

    #: Relations each row reads (``store`` for ``store__name``): joined, never one query a row.
    select_related: tuple[str, ...] = ()

    @classmethod
    def get_display_name(cls) -> str:
        """The name on the export form (``Meta.name``)."""
        return getattr(cls._meta, "name", None) or cls.__name__

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def export_field(self, field: fields.Field, instance: Any, **kwargs: Any) -> Any:
        value = super().export_field(field, instance, **kwargs)
        return cell(value, binary=bool(kwargs.get("force_native_type")))

    def import_data(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} is export-only: platform files are imported through "
            "backoffice.composition.imports."
        )


# --- the admin side ---


def max_rows() -> int:
    return settings.EXPORT_MAX_ROWS


def too_many(count: int) -> str:
    return (
        f"{count:,} rows are more than an export may hold ({max_rows():,}). Narrow the list "
        "with the filters (dates, store) and export again."
    )


class ExportAdminMixin(ExportActionMixin):
    """Export buttons and the "Export selected" action on a changelist. Put it after
    ``TransitionAdminMixin`` (whose change form template must win) and before
    ``admin.ModelAdmin``; set ``resource_classes``."""

    export_formats = [CSV, XLSX]
    # The change page keeps its own template (transition buttons); no export button there.
    change_form_template = None
    show_change_form_export = False

    def has_export_permission(self, request: HttpRequest) -> bool:
        user = request.user
        opts = self.model._meta
        perm = f"{opts.app_label}.{get_permission_codename('export', opts)}"
        return bool(
            user.is_active
            and user.is_staff
            and self.has_view_permission(request)
            and user.has_perm(perm)
        )

    def get_export_data(
        self, file_format: Any, request: HttpRequest, queryset: QuerySet, **kwargs: Any
    ) -> Any:
        count = queryset.count()
        if count > max_rows():
            raise ValueError(too_many(count))  # export_action shows it above the form
        return super().get_export_data(file_format, request, queryset, **kwargs)

    def export_admin_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if not self.has_export_permission(request):
            messages.error(request, _("You may not export these rows."))
            return None
        count = queryset.count()
        if count > max_rows():
            messages.error(request, too_many(count))
            return None
        return super().export_admin_action(request, queryset)

    def init_request_context_data(self, request: HttpRequest, form: Any) -> dict[str, Any]:
        """The export page says how many rows the export holds (the list's filters applied),
        unless rows were picked with the "Export selected" action (it says that itself)."""
        context = super().init_request_context_data(request, form)
        if not form.initial.get("export_items") and "export_items" not in request.POST:
            count = self.get_export_queryset(request).count()
            context["export_row_count"] = count
            context["export_too_many"] = count > max_rows()
        return context

    def get_valid_export_item_pks(self, request: HttpRequest) -> QuerySet:
        """The posted ids that the viewer's export list holds (import-export's default loads
        every id of the table)."""
        wanted = request.POST.getlist("export_items")[: max_rows() + 1]
        return self.get_export_queryset(request).filter(pk__in=wanted).values_list("pk", flat=True)
