"""``manage.py check_ledger``: prove the books (payouts/checks.py). Prints each offending row
and exits 1 when there is any; records the run, which the ``Ledger`` line of /health/ reads."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from payouts.checks import check_ledger, record


class Command(BaseCommand):
    help = (
        "Check the ledger: balanced postings, running totals, escrow of finished orders, "
        "reserves, idempotency keys. Exit status 1 when any row is wrong."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        found = check_ledger()
        result = record(found)
        for name, lines in found.items():
            if not lines:
                self.stdout.write(f"{name}: OK")
                continue
            self.stdout.write(self.style.ERROR(f"{name}: {len(lines)}"))
            for line in lines:
                self.stdout.write(f"  {line}")
        if result.problems:
            raise CommandError(
                _("%(n)s offending rows in the ledger") % {"n": result.problems}, returncode=1
            )
        self.stdout.write(self.style.SUCCESS(_("The ledger holds.")))
