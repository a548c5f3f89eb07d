"""Where an imported record came from, on its admin page: "imported from".

Orders, disputes, promotion movements and exchange rates remember the platform export and the
line that last created or moved them (:class:`backoffice.models.ImportedRecord`). Their admins
show it with :class:`ImportedFromMixin` (one read-only field, ``imported_from``); the imported
file's page (backoffice/composition/admin_imports.py) links back to the records.

Only Django and the back-office's own models are imported here: the apps' admins import this
module (payouts.admin among them, so its ``admin_link`` cannot be imported back).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from backoffice.models import ImportedRecord

IMPORT_FILE_VIEW_PERM = "backoffice.view_importfile"
NOT_IMPORTED = "not imported"


def imported_from(record: ImportedRecord, *, link: bool = True) -> SafeString | str:
    """``orders-2026-03.csv, line 42 (sha256 1a2b3c4d5e6f…)``, the file and line linked to the
    imported file's admin page (unless ``link`` is false: a user who may not open it), the full
    hash in the title; :data:`NOT_IMPORTED` for a record no import created or moved."""
    source = record.source_file
    if source is None:
        return NOT_IMPORTED
    where = source.file_name
    if record.source_line is not None:
        where = f"{where}, line {record.source_line}"
    if link:
        url = reverse("admin:backoffice_importfile_change", args=[source.pk])
        where = format_html('<a href="{}">{}</a>', url, where)
    return format_html(
        '{} (<span title="{}">sha256 {}…</span>)', where, source.sha256, source.sha256[:12]
    )


class ImportedFromMixin:
    """The read-only field ``imported_from`` for the admin of an :class:`ImportedRecord`: put it
    in the admin's fields or fieldsets (and read-only fields), and the mixin first among the
    bases. The file is linked for those who may view imported files."""

    @admin.display(description=_("imported from"))
    def imported_from(self, record: ImportedRecord) -> SafeString | str:
        return imported_from(record, link=getattr(record, "viewer_may_open_import_file", False))

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        record = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if record is not None:
            record.viewer_may_open_import_file = request.user.has_perm(IMPORT_FILE_VIEW_PERM)
        return record
