"""Admin imports as jobs on the queue (docs/operations.md "Import jobs").

    upload ─> queued ─> previewing ─> previewed ─(confirm)─> confirmed ─> applying ─> done
                 └──────────┴─────────────┴──────────┴─(cancel)─> cancelled       └─> failed

The web request only stores the upload (:func:`import_job_create`) or records a decision
(:func:`import_job_confirm`, :func:`import_job_cancel`); each of them queues the next stage in
its own transaction (``backoffice.jobs``: on SQLite the stage runs in-process right after the
commit). The stages are procrastinate tasks, ``imports:preview`` and ``imports:apply``, deferred
with a lock and a queueing lock per job (``import-job:<id>``): one stage of a job at a time,
across all workers.

The apply stage runs :func:`~backoffice.composition.imports.runner.import_export` in one
transaction that
also marks the job done: a worker that dies mid-import leaves nothing written and the job
``applying``. Its queue job then stays ``doing`` on a worker without heartbeats; the periodic
``queue:retry_stalled_jobs`` puts it back in the queue and another worker imports the file
again from the start. A job already done is never imported twice (and importing the same file
again would only find its rows unchanged).
"""

import contextlib
import functools
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from procrastinate import App, JobContext, exceptions
from procrastinate.contrib.django import app as queue_app

from backoffice import clock, db, jobs
from backoffice.composition.imports.runner import ImportReport, import_export
from backoffice.errors import error_text, invalid
from backoffice.i18n import language_of
from backoffice.imports.errors import FileError, RowError
from backoffice.models import ImportFile, ImportJob

logger = logging.getLogger(__name__)

PREVIEW_TASK = "imports:preview"
APPLY_TASK = "imports:apply"
RETRY_STALLED_TASK = "queue:retry_stalled_jobs"
IMPORT_QUEUE = "imports"
#: Who may confirm and cancel the jobs of others (the uploader may always).
MANAGE_OTHERS_PERM = "backoffice.manage_others_importjob"
CHUNK = 1 << 16
Status = ImportJob.Status
CANCELLABLE = (Status.QUEUED, Status.PREVIEWING, Status.PREVIEWED, Status.CONFIRMED)


class NotTheUploadedFile(Exception):
    """The stored bytes are gone, or no longer the ones uploaded (and previewed)."""


# --- the reports, kept as JSON on the job ---


def report_to_json(report: ImportReport) -> dict[str, Any]:
    """What the admin's report page shows, as JSON (the money as decimal strings)."""
    return {
        "kind": report.kind,
        "file_name": report.file_name,
        "file_hash": report.file_hash,
        "dry_run": report.dry_run,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rows": report.rows,
        "errors": [[e.line, e.column, e.message] for e in report.errors],
        "more_errors": report.more_errors,
        "warnings": report.warnings,
        "row_warnings": report.row_warnings,
        "moves": [[source, target, n] for (source, target), n in report.moves.items()],
        "money": {
            store: {account: str(amount) for account, amount in accounts.items()}
            for store, accounts in report.money.items()
        },
        "stores_created": report.stores_created,
        "store_names": report.store_names,
    }


def report_from_json(data: dict[str, Any], import_file: ImportFile | None = None) -> ImportReport:
    """The report as the runner made it, for the report page."""
    return ImportReport(
        kind=data["kind"],
        file_name=data["file_name"],
        file_hash=data["file_hash"],
        dry_run=data["dry_run"],
        created=data["created"],
        updated=data["updated"],
        unchanged=data["unchanged"],
        rows=data["rows"],
        errors=[RowError(line, column, message) for line, column, message in data["errors"]],
        more_errors=data["more_errors"],
        warnings=list(data["warnings"]),
        row_warnings=data["row_warnings"],
        moves=Counter({(source, target): n for source, target, n in data["moves"]}),
        money={
            store: {account: Decimal(amount) for account, amount in accounts.items()}
            for store, accounts in data["money"].items()
        },
        stores_created=list(data["stores_created"]),
        store_names=dict(data.get("store_names", {})),  # absent from older jobs' reports
        import_file=import_file,
    )


# --- the services the admin calls ---


def _sha256_of_upload(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


@transaction.atomic
def import_job_create(
    *, upload: UploadedFile, kind: str, tz: str, store: str, store_name: str, actor: Any
) -> ImportJob:
    """Keep the upload in the storage and queue its preview."""
    now = clock.now()
    job = ImportJob(
        file_name=(upload.name or "upload")[:255],  # Django keeps only the base name
        sha256=_sha256_of_upload(upload),
        size=upload.size or 0,
        kind=kind,
        tz=tz,
        store=store,
        store_name=store_name.strip() if store else "",
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    job.file.save("upload", upload, save=False)  # streamed in chunks, under a name of ours
    try:
        job.save()
    except Exception:
        default_storage.delete(job.file.name)
        raise
    _defer(PREVIEW_TASK, job)
    return job


def may_manage(job: ImportJob, user: Any) -> bool:
    """The uploader, or whoever may manage other users' imports."""
    return job.created_by_id == user.pk or user.has_perm(MANAGE_OTHERS_PERM)


def _locked(job_id: int, actor: Any) -> ImportJob:
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or not may_manage(job, actor):
        raise PermissionDenied(_("This import is someone else's."))
    return job


def import_job_confirm(*, job_id: int, actor: Any) -> ImportJob:
    """Queue the import of a previewed file without errors, after checking that the stored
    bytes are still the ones previewed. The rows then run as the uploader, as in the preview.
    A preview too old, or bytes that changed, end the job (and are refused)."""
    job, refusal = _confirm(job_id, actor)
    if refusal:
        raise invalid(refusal)
    return job


@transaction.atomic
def _confirm(job_id: int, actor: Any) -> tuple[ImportJob, str]:
    job = _locked(job_id, actor)
    if job.status != Status.PREVIEWED or job.preview is None or job.preview["errors"]:
        status = job.get_status_display()
        return job, _("This import cannot be confirmed now (it is %s).") % status
    age = timedelta(seconds=settings.IMPORT_CONFIRM_MAX_AGE)
    if job.previewed_at is None or clock.now() - job.previewed_at > age:
        refusal = _("This preview is too old: upload the file again.")
        _end(job, Status.CANCELLED, error=refusal)
        return job, refusal
    try:
        _check_stored_bytes(job)
    except NotTheUploadedFile as exc:
        _end(job, Status.FAILED, error=str(exc))
        return job, str(exc)
    job.status, job.confirmed_by, job.confirmed_at = Status.CONFIRMED, actor, clock.now()
    job.rows_done = 0
    _save(job, "status", "confirmed_by", "confirmed_at", "rows_done")
    _defer(APPLY_TASK, job)
    return job, ""


@transaction.atomic
def import_job_cancel(*, job_id: int, actor: Any) -> ImportJob:
    """Drop a job that has not started importing; its bytes go."""
    job = _locked(job_id, actor)
    if job.status not in CANCELLABLE:
        raise invalid(
            _("This import cannot be cancelled now (it is %s).") % job.get_status_display()
        )
    _end(job, Status.CANCELLED)
    return job


# --- helpers of the stages ---


def _save(job: ImportJob, *fields: str) -> None:
    job.updated_at = clock.now()
    job.save(update_fields=[*fields, "updated_at"])


def _end(job: ImportJob, status: str, *, error: str = "", error_field: str = "") -> None:
    """Finish ``job`` (locked by the caller) as ``status``; its bytes go once that commits."""
    job.status, job.finished_at = status, clock.now()
    job.error, job.error_field = error or job.error, error_field or job.error_field
    name, job.file = job.file.name, None
    _save(job, "status", "finished_at", "error", "error_field", "file")
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def _defer(task_name: str, job: ImportJob) -> None:
    """Queue a stage of ``job`` with the job's lock: one stage of a job at a time."""
    task = queue_app.tasks[task_name]
    if not jobs.uses_queue():
        transaction.on_commit(lambda: task(job_id=job.pk))
        return
    lock = f"import-job:{job.pk}"
    with contextlib.suppress(exceptions.AlreadyEnqueued):  # that stage is waiting already
        task.configure(lock=lock, queueing_lock=lock).defer(job_id=job.pk)


def _hash(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _stored(job: ImportJob) -> Iterator[IO[bytes]]:
    """The stored bytes, checked against the upload's SHA-256 and rewound."""
    if not job.file or not default_storage.exists(job.file.name):
        raise NotTheUploadedFile(_("The uploaded file is no longer here: upload it again."))
    with default_storage.open(job.file.name, "rb") as stream:
        if _hash(stream) != job.sha256:
            raise NotTheUploadedFile(
                _("The stored file is not the one uploaded: nothing was imported. Upload it again.")
            )
        stream.seek(0)
        yield stream


def _check_stored_bytes(job: ImportJob) -> None:
    with _stored(job):
        pass


def failure_field(exc: Exception, job: ImportJob) -> str:
    """The upload form's field a refusal of the whole file belongs to: the store options' own
    refusals (``runner.import_export``) are about those fields, the rest about the file."""
    if isinstance(exc, FileError) and job.store:
        if "is not in the back-office" in str(exc):
            return "store_name"
        if str(exc).startswith("store ") or "for one store" in str(exc):
            return "store"
    return "file"


def failure_text(exc: Exception) -> str:
    return error_text(exc) if isinstance(exc, ValidationError) else str(exc)


@contextmanager
def _progress(job_id: int) -> Iterator[Callable[[int], None] | None]:
    """A callback writing the rows done after each batch, from a connection of its own: the
    import's transaction shows nothing until it ends. Only for a worker on the real queue; an
    in-process run (SQLite) finishes before anyone looks."""
    if not jobs.uses_queue():
        yield None
        return
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    done = 0
    table = ImportJob._meta.db_table

    def progress(rows: int) -> None:
        nonlocal done
        done += rows
        with other.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET rows_done = %s, updated_at = %s WHERE id = %s",
                [done, clock.now(), job_id],
            )

    try:
        yield progress
    finally:
        other.close()


def _run_importer(
    job: ImportJob, *, dry_run: bool, progress: Callable[[int], None] | None
) -> ImportReport:
    with _stored(job) as stream:
        report = import_export(
            stream,
            kind=job.kind or None,
            actor=job.created_by,
            dry_run=dry_run,
            tz=job.tz,
            store=job.store or None,
            store_name=job.store_name or None,
            file_name=job.file_name,
            progress=progress,
            batch_size=settings.IMPORT_BATCH_SIZE,
        )
    if report.file_hash != job.sha256:  # the bytes changed while they were read
        raise NotTheUploadedFile(
            _("The stored file is not the one uploaded: nothing was imported. Upload it again.")
        )
    return report


@transaction.atomic
def _start(job_id: int, *, expected: tuple[str, ...], status: str) -> ImportJob | None:
    """Move the job to ``status`` if it is in ``expected`` (else another run saw to it, or it
    was cancelled: nothing to do)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status not in expected:
        return None
    job.status, job.rows_done = status, 0
    fields = ["status", "rows_done"]
    if status == Status.APPLYING:
        job.apply_attempts += 1
        fields.append("apply_attempts")
    _save(job, *fields)
    return job


@transaction.atomic
def _fail(job_id: int, *, expected: str, error: str, error_field: str = "") -> None:
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status == expected:
        _end(job, Status.FAILED, error=error, error_field=error_field)


REFUSALS = (FileError, ValidationError, ValueError, NotTheUploadedFile, PermissionDenied)
UNEXPECTED = gettext_lazy(
    "The import stopped on an unexpected error; nothing was written. Try again."
)


# --- the stages ---


def in_uploader_language(stage: Callable[[int], None]) -> Callable[[int], None]:
    """A stage writes its report and errors in the language of whoever uploaded the file (a
    worker has no request): theirs, else their store's, else LANGUAGE_CODE."""

    @functools.wraps(stage)
    def run(job_id: int) -> None:
        job = ImportJob.objects.select_related("created_by__store").filter(pk=job_id).first()
        with translation.override(language_of(job.created_by if job else None)):
            stage(job_id)

    return run


@in_uploader_language
def run_preview(job_id: int) -> None:
    """The dry run: what importing the file would do."""
    job = _start(job_id, expected=(Status.QUEUED, Status.PREVIEWING), status=Status.PREVIEWING)
    if job is None:
        return
    try:
        with _progress(job_id) as progress:
            report = _run_importer(job, dry_run=True, progress=progress)
    except REFUSALS as exc:
        field = failure_field(exc, job)
        _fail(job_id, expected=Status.PREVIEWING, error=failure_text(exc), error_field=field)
        return
    except Exception:
        logger.exception("preview of import job %s failed", job_id)
        _fail(job_id, expected=Status.PREVIEWING, error=str(UNEXPECTED))
        return
    _previewed(job_id, report)


@transaction.atomic
def _previewed(job_id: int, report: ImportReport) -> None:
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status != Status.PREVIEWING:  # cancelled meanwhile
        return
    job.preview, job.kind = report_to_json(report), report.kind  # the kind the confirm reads
    job.rows_total = job.rows_done = report.rows
    job.previewed_at = clock.now()
    _save(job, "preview", "kind", "rows_total", "rows_done", "previewed_at")
    if report.error_count:
        _end(job, Status.FAILED, error=_("The file has errors: nothing can be imported."))
    else:
        job.status = Status.PREVIEWED
        _save(job, "status")


@in_uploader_language
def run_apply(job_id: int) -> None:
    """The import, in one transaction with the job's end: all of it and "done", or nothing."""
    if _start(job_id, expected=(Status.CONFIRMED, Status.APPLYING), status=Status.APPLYING) is None:
        return
    try:
        with _progress(job_id) as progress:
            _apply(job_id, progress)
    except REFUSALS as exc:
        _fail(job_id, expected=Status.APPLYING, error=failure_text(exc))
    except Exception:
        logger.exception("import job %s failed", job_id)
        _fail(job_id, expected=Status.APPLYING, error=str(UNEXPECTED))


@transaction.atomic
def _apply(job_id: int, progress: Callable[[int], None] | None) -> None:
    db.serialize("imports")  # as the importer does: after another run of this job, not beside
    job = ImportJob.objects.get(pk=job_id)
    if job.status != Status.APPLYING:  # an earlier run finished it
        return
    report = _run_importer(job, dry_run=False, progress=progress)
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    job.result, job.import_file = report_to_json(report), report.import_file
    job.rows_done = report.rows
    _save(job, "result", "import_file", "rows_done")
    if report.landed:
        _end(job, Status.DONE)
    else:
        _end(job, Status.FAILED, error=_("The file was not imported: %s.") % report.summary())


# --- the tasks ---


def preview_task(job_id: int) -> None:
    run_preview(job_id)


def apply_task(job_id: int) -> None:
    run_apply(job_id)


async def retry_stalled_jobs(context: JobContext, timestamp: int = 0) -> None:
    """Queue again the jobs left ``doing`` by a worker that stopped (killed, its machine gone):
    its heartbeat is older than QUEUE_STALLED_WORKER_SECONDS. Import stages are safe to rerun
    (a crashed import wrote nothing; a finished one is not redone), deadline runs too."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.QUEUE_STALLED_WORKER_SECONDS
    )
    for job in stalled:
        logger.warning("queue job %s (%s) stalled on a dead worker: retried", job.id, job.task_name)
        await manager.retry_job(job)


def register_import_tasks(app: App) -> None:
    """Called by ``backoffice.jobs.on_app_ready``."""
    if PREVIEW_TASK in app.tasks:
        return
    app.task(name=PREVIEW_TASK, queue=IMPORT_QUEUE)(preview_task)
    app.task(name=APPLY_TASK, queue=IMPORT_QUEUE)(apply_task)
    retry = app.task(
        name=RETRY_STALLED_TASK,
        pass_context=True,
        lock=RETRY_STALLED_TASK,
        queueing_lock=RETRY_STALLED_TASK,
    )(retry_stalled_jobs)
    app.periodic(cron=settings.QUEUE_STALLED_CRON)(retry)
