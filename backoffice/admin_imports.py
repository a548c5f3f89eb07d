"""The admin page "Import a platform export": upload, preview (a dry run), confirm.

It is the add page of the imported files' list (:class:`ImportFileAdmin`): importing a file is
what adds one, so "Add" on the admin index and the list leads here, for whoever holds
:data:`IMPORT_PERM`.

1. **Upload.** The file (CSV or XLSX), the kind (or guessed from the headers), the time zone of
   timestamps without an offset and, for a file of one store (the seller center's exports have no
   store column), the store's platform id and, when the back-office does not know it yet, the new
   store's name. The bytes are stored under ``settings.IMPORT_UPLOAD_DIR`` named by
   the uploader and their SHA-256; nothing goes into the session.
2. **Preview.** :func:`backoffice.imports.runner.import_export` runs with ``dry_run=True`` on the
   stored bytes and the page shows what would change: created/updated/unchanged, the state moves,
   the money per store, the warnings, and every error as ``line L: column: message``. A file with
   errors lands whole or not at all (SPEC.md), so it gets no confirm button.
3. **Confirm.** The preview's form carries a signed token (file hash, kind, time zone, store and
   new store's name, file name, uploader; valid ``settings.IMPORT_CONFIRM_MAX_AGE`` seconds).
   Confirming re-reads the stored file, checks that its SHA-256 is still the previewed one, and
   runs the same import for real, for the same store.
   A forged or expired token (a store changed in it too), another user's preview, or a stored
   file whose bytes changed is refused and nothing is imported.

The importer decides everything about the rows (and is safe to run twice: a second run of the
same file changes nothing); this module only carries the bytes from the preview to the confirm.

An imported file's change page links to the records it created or moved ("Orders from this file
(N)", each to the list filtered on the file); the records' pages link back
(backoffice/admin_sources.py).
"""

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from accounts.models import SellerAccount
from backoffice.errors import error_text
from backoffice.imports.errors import CellError, FileError
from backoffice.imports.headers import Kind
from backoffice.imports.runner import MAX_ROW_WARNINGS, ImportReport, import_export
from backoffice.imports.values import PLATFORM_TZ, parse_platform_id
from backoffice.models import ImportFile
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
TOKEN_SALT = "backoffice.admin_imports.confirm"
KIND_LABELS = dict(ImportFile.Kind.choices)
CHUNK = 1 << 16
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


# --- the stored upload ---


def upload_dir() -> Path:
    directory = Path(settings.IMPORT_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def stored_path(user_id: int, sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256")  # never a path of the client's choosing
    return upload_dir() / f"{int(user_id)}-{sha256}.upload"


def sha256_of(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def store_upload(upload: UploadedFile, *, user_id: int) -> str:
    """Write the upload under its uploader and SHA-256 (streamed, never whole in memory) and
    return the hash. Stale uploads (older than a confirm may be) are removed on the way."""
    remove_stale_uploads()
    digest = hashlib.sha256()
    partial = upload_dir() / f"{int(user_id)}-{os.getpid()}-{time.monotonic_ns()}.partial"
    with open(partial, "wb") as out:
        for chunk in upload.chunks(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    sha256 = digest.hexdigest()
    os.replace(partial, stored_path(user_id, sha256))
    return sha256


def remove_stale_uploads() -> None:
    cutoff = time.time() - settings.IMPORT_CONFIRM_MAX_AGE
    for stale in upload_dir().glob("*-*.*"):
        try:
            if stale.stat().st_mtime < cutoff:
                stale.unlink()
        except FileNotFoundError:
            pass  # removed by a concurrent request


# --- the forms ---


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


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
        help_text="A platform export, CSV (UTF-8 or GB18030, comma or tab) or XLSX (first sheet)."
    )
    kind = forms.ChoiceField(
        choices=[("", "Guess from the headers"), *((k.value, KIND_LABELS[k.value]) for k in Kind)],
        required=False,
    )
    tz = forms.ChoiceField(
        label="Time zone",
        choices=timezone_choices,
        initial=PLATFORM_TZ.key,
        help_text="Of timestamps written without an offset; the platform exports in "
        f"{PLATFORM_TZ.key}.",
    )

    store = forms.CharField(
        label="Store",
        required=False,
        widget=StoreInput(options=store_options),
        max_length=SellerAccount._meta.get_field("platform_store_id").max_length,
        help_text="For a file of one store (the seller center's exports have no store column): "
        "its platform store id, one of the stores listed or a new one. Leave it empty for a "
        "file whose rows name their stores.",
    )
    store_name = forms.CharField(
        label="New store's name",
        required=False,
        max_length=SellerAccount._meta.get_field("name").max_length,
        help_text="Only for a store not in the back-office yet: it is created with this name "
        "(or the file's store name column, when it has one).",
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
                f"{exc.message}: letters, digits, - and _ only.", code="invalid"
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
                f"The file is larger than {settings.IMPORT_MAX_UPLOAD_BYTES // (1 << 20)} MB: "
                "import it with the import command instead.",
                code="too_large",
            )
        return upload


@dataclass(frozen=True)
class Pending:
    """What a confirm imports: exactly what was previewed, by whom."""

    sha256: str
    kind: str
    tz: str
    store: str  # the platform id the file is imported for, or "" (its rows name their stores)
    store_name: str  # the new store's name, or ""
    file_name: str
    user_id: int

    def token(self) -> str:
        return signing.dumps(self.__dict__, salt=TOKEN_SALT, compress=True)

    @classmethod
    def from_token(cls, token: str) -> "Pending":
        data = signing.loads(token, salt=TOKEN_SALT, max_age=settings.IMPORT_CONFIRM_MAX_AGE)
        return cls(**data)


class ConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_token(self) -> Pending:
        try:
            pending = Pending.from_token(self.cleaned_data["token"])
        except signing.SignatureExpired as exc:
            raise ValidationError(
                "This preview is too old: upload the file again.", code="expired"
            ) from exc
        except (signing.BadSignature, TypeError) as exc:
            raise ValidationError("This confirmation is not valid.", code="bad_token") from exc
        if pending.user_id != self.user.pk:
            raise ValidationError("This preview is someone else's.", code="bad_token")
        return pending


# --- running the importer ---


class NotThePreviewedFile(Exception):
    """The stored upload is gone, or its bytes are no longer the ones previewed."""


def run_import(pending: Pending, *, actor: Any, dry_run: bool) -> ImportReport:
    """The importer on the stored bytes: the same call for the preview and the confirm.

    The bytes are hashed through the very handle the importer then reads, so what is imported
    is what was previewed even if the stored file were replaced meanwhile."""
    file_path = stored_path(pending.user_id, pending.sha256)
    try:
        source = open(file_path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError as exc:
        raise NotThePreviewedFile("The previewed file is no longer here: upload it again.") from exc
    with source:
        if sha256_of(iter(lambda: source.read(CHUNK), b"")) != pending.sha256:
            file_path.unlink(missing_ok=True)
            raise NotThePreviewedFile(
                "The stored file is not the one previewed: nothing was imported. Upload it again."
            )
        source.seek(0)
        return import_export(
            source,
            kind=pending.kind or None,
            actor=actor,
            dry_run=dry_run,
            tz=pending.tz,
            store=pending.store or None,
            store_name=pending.store_name or None,
            file_name=pending.file_name,
        )


def failure_field(exc: Exception, pending: Pending) -> str:
    """The upload form's field a refusal of the whole file belongs to: the store options' own
    refusals (``runner.import_export``: a new store without a name, a store given for a kind
    of file that names its stores) show on those fields, the rest on the file."""
    if isinstance(exc, FileError) and pending.store:
        if "is not in the back-office" in str(exc):
            return "store_name"
        if str(exc).startswith("store ") or "for one store" in str(exc):
            return "store"
    return "file"


@dataclass(frozen=True)
class ChosenStore:
    """The store a file of one store is imported for, as the report page names it."""

    platform_id: str
    name: str  # the existing store's name, or the name it is created with ("" from the file)
    new: bool  # not in the back-office before this import


def chosen_store(pending: Pending, report: ImportReport) -> ChosenStore | None:
    if not pending.store:
        return None
    name = (
        SellerAccount.objects.filter(platform_store_id=pending.store)
        .values_list("name", flat=True)
        .first()
    )
    new = name is None or pending.store in report.stores_created
    return ChosenStore(pending.store, pending.store_name if name is None else name, new)


def failure_text(exc: Exception) -> str:
    """Why the importer refused the whole file (unreadable, headers of no kind, unknown time
    zone)."""
    return error_text(exc) if isinstance(exc, ValidationError) else str(exc)


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


def money_rows(money: dict[str, dict[str, Decimal]]) -> list[MoneyRow]:
    """The report's money per store, one row per store and ledger account, with the store's
    name where the store exists (a dry run's new stores do not). An account is keyed by its name,
    or ``account:currency`` when the money is not in the account's usual currency."""
    names = dict(
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


@admin.register(ImportFile)
class ImportFileAdmin(ReadOnlyAdmin):
    """The platform exports that landed, and (as its add page) the import itself."""

    list_display = (
        "file_name",
        "kind",
        "actor",
        "started_at",
        "finished_at",
        "rows",
        "created",
        "updated",
        "unchanged",
    )
    list_filter = ("kind",)
    search_fields = ("file_name", "=sha256", "actor__username")
    date_hierarchy = "started_at"
    list_select_related = ("actor",)
    fields = (
        "file_name",
        "kind",
        "sha256",
        "actor",
        "started_at",
        "finished_at",
        "rows",
        "created",
        "updated",
        "unchanged",
        "warnings",
        "records",
    )
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

    @admin.display(description="records from this file")
    def records(self, import_file: ImportFile) -> SafeString | str:
        links = getattr(import_file, "record_links", [])
        if not links:
            return "None you may view (a record moved by a later file points at that file)."
        return format_html_join(mark_safe("<br>"), "{}", ((link,) for link in links))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.confirm_view))
        return [
            path("add/confirm/", view, name="backoffice_importfile_confirm"),
            *super().get_urls(),
        ]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """Upload, then the preview of the dry run."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            return self.render_upload(request, form)
        upload = form.cleaned_data["file"]
        pending = Pending(
            sha256=store_upload(upload, user_id=request.user.pk),
            kind=form.cleaned_data["kind"],
            tz=form.cleaned_data["tz"],
            store=form.cleaned_data["store"],
            store_name=form.cleaned_data["store_name"].strip()
            if form.cleaned_data["store"]
            else "",
            file_name=(upload.name or "upload")[:255],  # Django keeps only the base name
            user_id=request.user.pk,
        )
        try:
            report = run_import(pending, actor=request.user, dry_run=True)
        except (FileError, ValidationError, ValueError) as exc:
            stored_path(pending.user_id, pending.sha256).unlink(missing_ok=True)
            form.add_error(failure_field(exc, pending), failure_text(exc))
            return self.render_upload(request, form)
        if report.error_count:
            stored_path(pending.user_id, pending.sha256).unlink(missing_ok=True)
            confirm = None
        else:
            # the kind the importer settled on, so the confirm reads the file the same way
            pending = Pending(**{**pending.__dict__, "kind": report.kind})
            confirm = ConfirmForm(initial={"token": pending.token()}, user=request.user)
        return self.render_report(
            request, report, pending, title="Preview: nothing is imported yet", confirm=confirm
        )

    def confirm_view(self, request: HttpRequest) -> HttpResponse:
        """The real import of the previewed file, after checking it is still that file."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        confirm = ConfirmForm(request.POST, user=request.user)
        if not confirm.is_valid():
            for error in confirm.errors.get("token", []):
                messages.error(request, error)
            return self.render_upload(request, UploadForm(), status=400)
        pending = confirm.cleaned_data["token"]
        try:
            report = run_import(pending, actor=request.user, dry_run=False)
        except (NotThePreviewedFile, FileError, ValidationError) as exc:
            messages.error(request, failure_text(exc))
            return self.render_upload(request, UploadForm(), status=400)
        if report.landed:
            stored_path(pending.user_id, pending.sha256).unlink(missing_ok=True)
            messages.success(request, f"{pending.file_name} imported: {report.summary()}.")
            if report.import_file is not None:
                self.log_addition(request, report.import_file, [{"added": {}}])
        else:
            messages.error(request, f"{pending.file_name} was not imported: {report.summary()}.")
        return self.render_report(request, report, pending, title="Import result", confirm=None)

    # --- pages ---

    def context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "has_view_permission": self.has_view_permission(request),
            "upload_url": reverse("admin:backoffice_importfile_add"),
            "confirm_url": reverse("admin:backoffice_importfile_confirm"),
        }

    def render_upload(self, request: HttpRequest, form: UploadForm, status: int = 200) -> Any:
        context = {
            **self.context(request, "Import a platform export"),
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.upload_template, context, status=status)

    def render_report(
        self,
        request: HttpRequest,
        report: ImportReport,
        pending: Pending,
        *,
        title: str,
        confirm: ConfirmForm | None,
    ) -> TemplateResponse:
        landed = report.import_file
        context = {
            **self.context(request, title),
            "report": report,
            "kind_label": KIND_LABELS.get(report.kind, report.kind),
            "store": chosen_store(pending, report),
            "errors": report.error_lines(),
            "warning_count": warning_count(report),
            "import_file_link": admin_link(landed, landed.file_name) if landed else None,
            "moves": moves_rows(report.moves),
            "money": money_rows(report.money),
            "confirm": confirm,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.report_template, context)
