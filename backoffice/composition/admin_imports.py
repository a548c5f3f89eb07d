"""The admin page "Import a platform export": upload, then a job page with the preview and
the confirm.

It is the add page of the imported files' list (:class:`ImportFileAdmin`): importing a file is
what adds one, so "Add" on the admin index and the list leads here, for whoever holds
:data:`IMPORT_PERM`.

1. **Upload.** The file (CSV or XLSX), the kind (or guessed from the headers), the time zone of
   timestamps without an offset and, for a file of one store (the seller center's exports have no
   store column), the store's platform id and, when the back-office does not know it yet, the new
   store's name. The request only keeps the bytes in the storage as an
   :class:`~backoffice.models.ImportJob` and queues its preview
   (:mod:`backoffice.composition.import_jobs`), then redirects to the job's page.
2. **The job's page** refreshes itself while a worker previews the file (a dry run of
   :func:`backoffice.composition.imports.runner.import_export`), then shows what would change:
   created/updated/unchanged, the state moves, the money per store, the warnings, and every error
   as ``line L: column: message``, or why the whole file was refused. A file with errors lands
   whole or not at all (SPEC.md), so it gets no confirm button.
3. **Confirm** (the uploader, or staff who may manage other users' imports) re-checks the stored
   bytes' SHA-256 and queues the import; the page follows it to the result. **Cancel** drops a
   job that has not started importing.

On SQLite (``make run``, the tests) the stages run in-process right after the request commits,
so the page shows the finished preview at once.

An imported file's change page links to the records it created or moved ("Orders from this file
(N)", each to the list filtered on the file); the records' pages link back
(backoffice/admin_sources.py).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import SellerAccount
from backoffice.composition.import_jobs import (
    CANCELLABLE,
    MANAGE_OTHERS_PERM,
    import_job_cancel,
    import_job_confirm,
    import_job_create,
    may_manage,
    report_from_json,
)
from backoffice.composition.imports.runner import MAX_ROW_WARNINGS, ImportReport
from backoffice.errors import error_text
from backoffice.imports.errors import CellError
from backoffice.imports.headers import Kind
from backoffice.imports.values import PLATFORM_TZ, parse_platform_id
from backoffice.models import ImportFile, ImportJob
from backoffice.money import Currency
from payouts.admin import (
    ACCOUNT_LABELS,
    STORE_CURRENCY,
    ReadOnlyAdmin,
    admin_link,
    changelist_link,
    signed,
)

#: Who may import: adding an imported file is importing one.
IMPORT_PERM = "backoffice.add_importfile"
KIND_LABELS = dict(ImportFile.Kind.choices)
#: While a worker has the job, its page reloads itself this often (seconds).
JOB_REFRESH_SECONDS = 2
#: Existing stores offered as suggestions of the upload form's store field (any id may be typed).
STORE_OPTIONS_MAX = 1000
#: What an import creates or moves (backoffice.models.ImportedRecord), in the order of the
#: kinds; by label, so that the back-office does not import the apps' models.
IMPORTED_MODELS = (
    "orders.Order",
    "disputes.Dispute",
    "payouts.PromotionMovement",
    "payouts.ExchangeRate",
)


# --- the forms ---


#: The zones exports come in most: the platform's own first, then the sellers' and buyers'.
COMMON_TIMEZONES = (
    PLATFORM_TZ.key,
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Mexico_City",
)


def timezone_choices() -> list[tuple[str, Any]]:
    """The common zones first, then every zone grouped by region (Africa, America, ...): the
    browser's type-ahead finds a zone within its group."""
    zones = sorted(available_timezones())
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in zones:
        region = name.split("/", 1)[0] if "/" in name else _("Other")
        groups.setdefault(region, []).append((name, name))
    common = [(name, name) for name in COMMON_TIMEZONES if name in zones]
    return [(_("Common"), common), *sorted(groups.items())]


def store_options() -> list[tuple[str, str]]:
    """``(platform id, "name (status)")`` of the existing stores, by name."""
    stores = SellerAccount.objects.order_by("name", "platform_store_id").values_list(
        "platform_store_id", "name", "status"
    )[:STORE_OPTIONS_MAX]
    statuses = dict(SellerAccount.Status.choices)
    return [(pk, f"{name} ({statuses.get(status, status)})") for pk, name, status in stores]


class StoreInput(forms.TextInput):
    """A text input with a ``<datalist>`` of the existing stores: pick one or type a new id."""

    template_name = "admin/imports/store_input.html"

    def __init__(self, *, options: Any, attrs: dict | None = None) -> None:
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})
        self.options = options  # called at render time

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-options"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"]["list_id"] = list_id
        context["widget"]["options"] = self.options()
        return context


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text=gettext_lazy(
            "A platform export, CSV (UTF-8 or GB18030, comma or tab) or XLSX (first sheet)."
        )
    )
    kind = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Guess from the headers")),
            *((k.value, KIND_LABELS[k.value]) for k in Kind),
        ],
        required=False,
    )
    tz = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=timezone_choices,
        initial=PLATFORM_TZ.key,
        help_text=gettext_lazy(
            "Of timestamps written without an offset; the platform exports in %(key)s."
        )
        % {"key": PLATFORM_TZ.key},
    )

    store = forms.CharField(
        label=gettext_lazy("Store"),
        required=False,
        widget=StoreInput(options=store_options),
        max_length=SellerAccount._meta.get_field("platform_store_id").max_length,
        help_text=gettext_lazy(
            "For a file of one store (the seller center's exports have no store column): "
            "its platform store id, one of the stores listed or a new one. Leave it empty for a "
            "file whose rows name their stores."
        ),
    )
    store_name = forms.CharField(
        label=gettext_lazy("New store's name"),
        required=False,
        max_length=SellerAccount._meta.get_field("name").max_length,
        help_text=gettext_lazy(
            "Only for a store not in the back-office yet: it is created with this name "
            "(or the file's store name column, when it has one)."
        ),
    )

    def clean_store(self) -> str:
        """The platform id, checked as the importer checks it (so the error shows here)."""
        text = self.cleaned_data["store"].strip()
        if not text:
            return ""
        try:
            return parse_platform_id(text, what="platform store id") or ""
        except CellError as exc:
            raise ValidationError(
                _("%(message)s: letters, digits, - and _ only.") % {"message": exc.message},
                code="invalid",
            ) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("store_name") and not data.get("store"):
            self.add_error("store_name", "Give the store's id too, or leave the name empty.")
        return data

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise ValidationError(
                _(
                    "The file is larger than %(value)s MB: "
                    "import it with the import command instead."
                )
                % {"value": settings.IMPORT_MAX_UPLOAD_BYTES // (1 << 20)},
                code="too_large",
            )
        return upload


# --- the report page ---


@dataclass(frozen=True)
class ChosenStore:
    """The store a file of one store is imported for, as the report page names it."""

    platform_id: str
    name: str  # the existing store's name, or the name it is created with ("" from the file)
    new: bool  # not in the back-office before this import


def chosen_store(job: ImportJob, report: ImportReport) -> ChosenStore | None:
    if not job.store:
        return None
    name = (
        SellerAccount.objects.filter(platform_store_id=job.store)
        .values_list("name", flat=True)
        .first()
    )
    new = name is None or job.store in report.stores_created
    return ChosenStore(job.store, job.store_name if name is None else name, new)


def warning_count(report: ImportReport) -> int:
    """The file's warnings and every row's, also those past the ones kept (the report keeps
    MAX_ROW_WARNINGS rows' warnings, then a line saying the rest are not shown)."""
    kept = min(report.row_warnings, MAX_ROW_WARNINGS)
    capped = report.row_warnings > MAX_ROW_WARNINGS
    return len(report.warnings) - kept - capped + report.row_warnings


@dataclass(frozen=True)
class MoneyRow:
    store_id: str
    store_name: str
    account: str
    change: str
    negative: bool


def money_rows(
    money: dict[str, dict[str, Decimal]], new_names: dict[str, str] | None = None
) -> list[MoneyRow]:
    """The report's money per store, one row per store and ledger account, with the store's
    name: the existing store's, or for a store the import creates the file's (``new_names``),
    marked new. An account is keyed by its name, or ``account:currency`` when the money is not
    in the account's usual currency."""
    new = {
        store_id: _("%(name)s (new store)") % {"name": name}
        for store_id, name in (new_names or {}).items()
        if name
    }
    names = new | dict(
        SellerAccount.objects.filter(platform_store_id__in=list(money)).values_list(
            "platform_store_id", "name"
        )
    )
    return [
        MoneyRow(
            store_id=store_id,
            store_name=names.get(store_id, "(new store)"),
            account=ACCOUNT_LABELS.get(account, account),
            change=signed(amount, currency or STORE_CURRENCY.get(account, Currency.USD)),
            negative=amount < 0,
        )
        for store_id, accounts in sorted(money.items())
        for key, amount in sorted(accounts.items())
        for account, _, currency in [key.partition(":")]
        if amount
    ]


def moves_rows(moves: dict[tuple[str, str], int]) -> list[tuple[str, str, int]]:
    """``(from, to, count)``, new records first (as the import command prints them)."""
    order = sorted(moves.items(), key=lambda item: (item[0][0] != "new", item[0]))
    return [(source, target, count) for (source, target), count in order if count]


# --- the records of an imported file ---


def record_counts(import_file: ImportFile, record_models: list[type[models.Model]]) -> list[int]:
    """How many records of each of ``record_models`` point at ``import_file`` (the file that
    last created or moved them): one query, whatever the models and the counts."""
    if not record_models:
        return []
    counts = {
        f"n{i}": Coalesce(
            Subquery(
                model._default_manager.filter(source_file=OuterRef("pk"))
                .order_by()
                .values("source_file")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
            0,
        )
        for i, model in enumerate(record_models)
    }
    row = ImportFile.objects.filter(pk=import_file.pk).annotate(**counts).values_list(*counts)
    return list(row.get())


def record_links(
    request: HttpRequest, import_file: ImportFile, site: admin.AdminSite
) -> list[SafeString]:
    """``Orders from this file (N)`` and so on, each to the model's list filtered on the file:
    only the kinds with records, and only the lists the user may view."""
    viewable = [
        model
        for model in map(apps.get_model, IMPORTED_MODELS)
        if site.is_registered(model) and site.get_model_admin(model).has_view_permission(request)
    ]
    return [
        changelist_link(
            model,
            f"{str(model._meta.verbose_name_plural).capitalize()} from this file ({count})",
            source_file__id__exact=import_file.pk,
        )
        for model, count in zip(viewable, record_counts(import_file, viewable), strict=True)
        if count
    ]


# --- the admin ---


# When an import ran and what it did: in the list and on the file's page.
IMPORT_RUN = ("started_at", "finished_at", "rows", "created", "updated", "unchanged")


@admin.register(ImportFile)
class ImportFileAdmin(ReadOnlyAdmin):
    """The platform exports that landed, and (as its add page) the import itself."""

    list_display = ("file_name", "kind", "actor", *IMPORT_RUN)
    list_filter = ("kind",)
    search_fields = ("file_name", "=sha256", "actor__username")
    date_hierarchy = "started_at"
    list_select_related = ("actor",)
    fields = ("file_name", "kind", "sha256", "actor", *IMPORT_RUN, "warnings", "records")
    readonly_fields = fields
    upload_template = "admin/imports/upload.html"
    report_template = "admin/imports/report.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and request.user.has_perm(
            IMPORT_PERM
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        import_file = super().get_object(request, object_id, from_field)
        # the links depend on who looks (nothing is counted for who may not see the file)
        if import_file is not None and self.has_view_permission(request, import_file):
            import_file.record_links = record_links(request, import_file, self.admin_site)
        return import_file

    @admin.display(description=gettext_lazy("records from this file"))
    def records(self, import_file: ImportFile) -> SafeString | str:
        links = getattr(import_file, "record_links", [])
        if not links:
            return "None you may view (a record moved by a later file points at that file)."
        return format_html_join(mark_safe("<br>"), "{}", ((link,) for link in links))

    def get_urls(self) -> list[URLPattern]:
        def view(func: Any) -> Any:
            return self.admin_site.admin_view(func)

        return [
            path("add/job/<int:job_id>/", view(self.job_view), name="backoffice_importjob_page"),
            path(
                "add/job/<int:job_id>/confirm/",
                view(require_POST(self.confirm_view)),
                name="backoffice_importjob_confirm",
            ),
            path(
                "add/job/<int:job_id>/cancel/",
                view(require_POST(self.cancel_view)),
                name="backoffice_importjob_cancel",
            ),
            *super().get_urls(),
        ]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """Upload: the file becomes a job, whose page follows it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            return self.render_upload(request, form)
        job = import_job_create(
            upload=form.cleaned_data["file"],
            kind=form.cleaned_data["kind"],
            tz=form.cleaned_data["tz"],
            store=form.cleaned_data["store"],
            store_name=form.cleaned_data["store_name"],
            actor=request.user,
        )
        return HttpResponseRedirect(job_url(job))

    def managed_job(self, request: HttpRequest, job_id: int) -> ImportJob:
        """The job, for whoever may import and may manage it (else a 404: no one else's jobs
        are even confirmed to exist)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        job = ImportJob.objects.select_related("import_file").filter(pk=job_id).first()
        if job is None or not may_manage(job, request.user):
            raise Http404(_("No such import."))
        return job

    def job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        return self.render_job(request, self.managed_job(request, job_id))

    def confirm_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Queue the import of the previewed bytes (checked again)."""
        job = self.managed_job(request, job_id)
        try:
            job = import_job_confirm(job_id=job.pk, actor=request.user)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        return HttpResponseRedirect(job_url(job))

    def cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self.managed_job(request, job_id)
        try:
            import_job_cancel(job_id=job.pk, actor=request.user)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            return HttpResponseRedirect(job_url(job))
        messages.info(request, _("%(file)s: the import was cancelled.") % {"file": job.file_name})
        return HttpResponseRedirect(reverse("admin:backoffice_importfile_add"))

    # --- pages ---

    def context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "has_view_permission": self.has_view_permission(request),
            "upload_url": reverse("admin:backoffice_importfile_add"),
        }

    def render_upload(self, request: HttpRequest, form: UploadForm, status: int = 200) -> Any:
        context = {
            **self.context(request, _("Import a platform export")),
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.upload_template, context, status=status)

    def render_job(self, request: HttpRequest, job: ImportJob) -> TemplateResponse:
        """The job's state; its report once there is one (the result, else the preview)."""
        data = job.result if job.result is not None else job.preview
        report = report_from_json(data, job.import_file) if data is not None else None
        context = {
            **self.context(request, job_title(job)),
            "job": job,
            "report": report,
            "refresh_seconds": JOB_REFRESH_SECONDS if job.running else None,
            "error_label": UploadForm.base_fields[job.error_field].label
            if job.error_field in UploadForm.base_fields
            else None,
            "may_confirm": job.status == ImportJob.Status.PREVIEWED,
            "may_cancel": job.status in CANCELLABLE,
            "confirm_url": reverse("admin:backoffice_importjob_confirm", args=[job.pk]),
            "cancel_url": reverse("admin:backoffice_importjob_cancel", args=[job.pk]),
        }
        if report is not None:
            landed = report.import_file if report.landed else None
            context |= {
                "kind_label": KIND_LABELS.get(report.kind, report.kind),
                "store": chosen_store(job, report),
                "errors": report.error_lines(),
                "warning_count": warning_count(report),
                "import_file_link": admin_link(landed, landed.file_name) if landed else None,
                "moves": moves_rows(report.moves),
                "money": money_rows(report.money, report.store_names),
            }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.report_template, context)


def job_url(job: ImportJob) -> str:
    return reverse("admin:backoffice_importjob_page", args=[job.pk])


def job_title(job: ImportJob) -> str:
    if job.status == ImportJob.Status.PREVIEWED:
        return str(_("Preview: nothing is imported yet"))
    if job.status == ImportJob.Status.DONE:
        return str(_("Import result"))
    return str(_("Import: %(status)s") % {"status": job.get_status_display()})


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """The admin imports and where each stands; a row opens the job's page."""

    list_display = ("page", "status", "created_by", "created_at", "rows_done", "rows_total")
    list_filter = ("status",)
    search_fields = ("file_name", "=sha256", "created_by__username")
    list_select_related = ("created_by",)
    list_display_links = None

    def get_queryset(self, request: HttpRequest) -> Any:
        jobs = super().get_queryset(request)
        if request.user.has_perm(MANAGE_OTHERS_PERM):
            return jobs
        return jobs.filter(created_by=request.user)

    @admin.display(description=_("file"), ordering="file_name")
    def page(self, job: ImportJob) -> SafeString:
        return format_html('<a href="{}">{}</a>', job_url(job), job.file_name)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """A job's page is the import's own page."""
        job = self.get_object(request, object_id)
        if job is None or not self.has_view_permission(request, job):
            raise Http404(_("No such import."))
        return HttpResponseRedirect(job_url(job))
