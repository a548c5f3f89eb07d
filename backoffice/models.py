"""What the back-office keeps about itself: the platform export files that were imported.

Records that an import creates or moves (orders, disputes, promotion movements, exchange rates)
point back at the file and the line that last changed them (:class:`ImportedRecord`), so staff
can trace any of them to the spreadsheet it came from.
"""

from django.conf import settings
from django.db import models


class ImportFile(models.Model):
    """One platform export that landed (a rejected file or a dry run leaves no row)."""

    class Kind(models.TextChoices):  # backoffice.imports.headers.Kind
        ORDERS = "orders", "Orders"
        DISPUTES = "disputes", "Disputes"
        PROMOTION = "promotion", "Promotion statement"
        EXCHANGE_RATES = "exchange_rates", "Exchange rates"

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for the system (the command line).",
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Non-empty rows read.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
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
        help_text="The platform export that last created or moved it.",
    )
    source_line = models.PositiveIntegerField(
        null=True, blank=True, help_text="Its line in that file (the header is line 1)."
    )

    class Meta:
        abstract = True
