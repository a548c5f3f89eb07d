"""What the back-office keeps about itself: the platform export files that were imported.

Records that an import creates or moves (orders, disputes, promotion movements, exchange rates)
point back at the file and the line that last changed them (:class:`ImportedRecord`), so staff
can trace any of them to the spreadsheet it came from.
"""

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportFile(models.Model):
    """One platform export that landed (a rejected file or a dry run leaves no row)."""

    class Kind(models.TextChoices):  # backoffice.imports.headers.Kind
        ORDERS = "orders", _("Orders")
        DISPUTES = "disputes", _("Disputes")
        PROMOTION = "promotion", _("Promotion statement")
        EXCHANGE_RATES = "exchange_rates", _("Exchange rates")

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the system (the command line)."),
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text=_("Non-empty rows read."))
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("import file")
        verbose_name_plural = _("import files")
        ordering = ("-started_at", "-id")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.kind}, {self.started_at:%Y-%m-%d %H:%M})"


class ImportedRecord(models.Model):
    """The file and line that last created or moved a record (empty when no import did)."""

    source_file = models.ForeignKey(
        ImportFile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="imported_%(class)ss",
        help_text=_("The platform export that last created or moved it."),
    )
    source_line = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Its line in that file (the header is line 1).")
    )

    class Meta:
        abstract = True


class FailedDeadlineItem(models.Model):
    """A due row that a deadline job could not apply (its change raised).

    The row is retried on the job's later runs until ``attempts`` reaches
    ``DEADLINES_MAX_ATTEMPTS``; then it is parked: the job skips it until staff retry it from the
    admin. A row that later succeeds loses its record. Every other row and job goes on.
    """

    job = models.CharField(
        max_length=100, help_text=_("The deadline job, e.g. orders.cancel_unpaid.")
    )
    model = models.CharField(max_length=100, help_text=_("The row's model, e.g. orders.Order."))
    object_pk = models.CharField(_("object id"), max_length=64)
    error = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    parked = models.BooleanField(
        default=False, help_text=_("Skipped by the job until retried from the admin.")
    )
    dismissed = models.BooleanField(
        default=False, help_text=_("Staff looked at it and chose to leave the row as it is.")
    )

    class Meta:
        verbose_name = _("failed deadline item")
        verbose_name_plural = _("failed deadline items")
        ordering = ("-last_failed_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["job", "model", "object_pk"], name="failed_deadline_item_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job}: {self.model} {self.object_pk}"


class JobHeartbeat(models.Model):
    """The last run of one deadline job: written when it starts and when it ends."""

    job = models.CharField(max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    items_done = models.PositiveIntegerField(
        default=0, help_text=_("Rows changed by the last run.")
    )
    failures = models.PositiveIntegerField(
        default=0, help_text=_("Rows that failed in the last run.")
    )
    last_error = models.TextField(
        blank=True, help_text=_("Why the last run itself failed, or its last failing row's error.")
    )

    class Meta:
        verbose_name = _("job heartbeat")
        verbose_name_plural = _("job heartbeats")
        ordering = ("job",)

    def __str__(self) -> str:
        return self.job


# --- outbound events and webhooks (backoffice/events.py, backoffice/composition/webhooks.py)
# ---------------


class Event(models.Model):
    """Something that changed (a state change, a ledger posting), written in the same
    transaction as the change. Never updated nor deleted: the outbox webhooks are fed from."""

    type = models.CharField(max_length=40, db_index=True)
    store = models.ForeignKey(
        "accounts.SellerAccount",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,  # history: it outlives a deleted store
        related_name="+",
        db_constraint=False,
    )
    object_type = models.CharField(
        max_length=20, help_text=_("order, dispute, payout, store or posting")
    )
    object_id = models.BigIntegerField()
    payload = models.JSONField()
    occurred_at = models.DateTimeField(help_text=_("When the change happened (its own time)."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.type} {self.object_type} {self.object_id}"


def new_webhook_secret() -> str:
    import secrets

    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where events are POSTed, signed with ``secret``."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80, default=new_webhook_secret, editable=False)
    event_types = models.JSONField(
        default=list, blank=True, help_text=_("Event types sent to it; empty: every type.")
    )
    store = models.ForeignKey(
        "accounts.SellerAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text=_("Only this store's events; empty: every store's and the platform's."),
    )
    active = models.BooleanField(default=True)
    failure_count = models.PositiveIntegerField(
        default=0, help_text=_("Consecutive deliveries that failed for good.")
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("webhook endpoints")
        verbose_name = _("webhook endpoint")
        ordering = ("id",)

    def __str__(self) -> str:
        return self.url

    @property
    def masked_secret(self) -> str:
        return f"{self.secret[:10]}…{self.secret[-4:]}"

    def wants(self, event_type: str, store_id: int | None) -> bool:
        return (not self.event_types or event_type in self.event_types) and (
            self.store_id is None or self.store_id == store_id
        )


class WebhookDelivery(models.Model):
    """One event to one endpoint, attempted until it succeeds or the attempts run out."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        DISABLED = "disabled", _("Endpoint disabled")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the answer's status code, how long, what went wrong."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"


def import_upload_path(job: "ImportJob", filename: str) -> str:
    """Where an import job's upload is kept in the default storage: never the client's name."""
    return f"{settings.IMPORT_STORAGE_PREFIX.rstrip('/')}/{uuid.uuid4().hex}.upload"


class ImportJob(models.Model):
    """An admin import of a platform export, run off the request
    (backoffice/composition/import_jobs.py).

    The upload waits in the default storage; a worker previews it (a dry run), the uploader
    confirms, a worker imports it in one transaction, which also marks the job done. The bytes
    are removed once the job is over (done, failed or cancelled)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued for the preview")
        PREVIEWING = "previewing", _("Previewing")
        PREVIEWED = "previewed", _("Previewed: waiting for a confirmation")
        CONFIRMED = "confirmed", _("Confirmed: queued for the import")
        APPLYING = "applying", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    file = models.FileField(upload_to=import_upload_path, max_length=255, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(default=0, help_text=_("Bytes uploaded."))
    kind = models.CharField(
        max_length=16,
        choices=ImportFile.Kind.choices,
        blank=True,
        help_text=_("Empty: guessed from the headers (the preview settles it)."),
    )
    tz = models.CharField(_("time zone"), max_length=64)
    store = models.CharField(
        _("store"), max_length=32, blank=True, help_text=_("For a file of one store.")
    )
    store_name = models.CharField(_("new store's name"), max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(
        _("rows in the file"), null=True, blank=True, help_text=_("Known once previewed.")
    )
    preview = models.JSONField(null=True, blank=True, help_text=_("The dry run's report."))
    result = models.JSONField(null=True, blank=True, help_text=_("The import's report."))
    error = models.TextField(blank=True, help_text=_("Why the whole file was refused."))
    error_field = models.CharField(
        max_length=16, blank=True, help_text=_("The upload form's field the error is about.")
    )
    import_file = models.OneToOneField(
        ImportFile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="job",
        help_text=_("The imported file this job landed."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    previewed_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    apply_attempts = models.PositiveIntegerField(
        default=0, help_text=_("Runs of the import stage (more than one: a worker stopped).")
    )

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ("-created_at", "-id")
        permissions = [
            ("manage_others_importjob", _("Can confirm and cancel other users' import jobs")),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def running(self) -> bool:
        """A worker has (or will have) something to do: the page keeps refreshing."""
        return self.status in {
            self.Status.QUEUED,
            self.Status.PREVIEWING,
            self.Status.CONFIRMED,
            self.Status.APPLYING,
        }

    @property
    def over(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED}


class FieldChange(models.Model):
    """One field of a store or an order changed by a person (the admin's Save, a service):
    the old and new values as text, who and when. Written by :func:`backoffice.field_history.
    record_field_changes`; read as ``changes`` in GraphQL and on the admin change page."""

    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    field = models.CharField(max_length=64)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the system."),
    )
    at = models.DateTimeField(db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = _("field changes")
        ordering = ("at", "id")
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]
        verbose_name = _("field change")

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"
