"""``manage.py compile_catalogue [--check] [--force]``: writes the ``.mo`` of each catalogue in
``LOCALE_PATHS`` (pure Python, no GNU gettext needed); ``--check`` instead lists what keeps a
catalogue from being complete (untranslated, fuzzy, placeholders changed) and fails on any."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.catalogue import catalogues, compile_catalogues, problems


class Command(BaseCommand):
    help = "Compile the translation catalogues (.po to .mo), or check them with --check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="only check the catalogues")
        parser.add_argument("--force", action="store_true", help="compile even when up to date")

    def handle(self, *args: Any, check: bool, force: bool, **options: Any) -> None:
        roots = [Path(p) for p in settings.LOCALE_PATHS]
        if check:
            found = [p for root in roots for po in catalogues(root) for p in problems(po)]
            if found:
                raise CommandError("\n".join(["incomplete catalogue:", *found]))
            self.stdout.write("catalogues complete")
            return
        written = compile_catalogues(roots, force=force)
        self.stdout.write(f"{len(written)} catalogue(s) compiled")
