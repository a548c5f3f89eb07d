from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backoffice.composition.imports.runner import import_export
from backoffice.imports.errors import FileError
from backoffice.imports.headers import Kind
from backoffice.imports.values import timezone_named


class Command(BaseCommand):
    help = (
        "Import a platform export (orders, disputes, promotion statement, exchange rates). "
        "The file lands whole or not at all. Prints 'created N, updated N, unchanged N, "
        "errors N', then each error as 'line L: column: message'; exits 1 when errors kept "
        "the file out."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="a CSV or XLSX export")
        parser.add_argument(
            "--kind", choices=[kind.value for kind in Kind], help="default: from the headers"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="write nothing; show what would be created, updated and unchanged, the state "
            "moves and the money that would move per store",
        )
        parser.add_argument(
            "--timezone",
            default=None,
            help="time zone of timestamps without an offset (default: America/Los_Angeles, "
            "the platform's)",
        )
        parser.add_argument(
            "--store",
            default=None,
            metavar="PLATFORM_STORE_ID",
            help="the store the file belongs to (orders and promotion files): the seller "
            "center exports one store per file, without a store column; a row naming another "
            "store is an error",
        )
        parser.add_argument(
            "--store-name",
            default=None,
            help="the name of the --store to create when it is not in the back-office yet",
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="show a progress bar even when stderr is not a terminal",
        )

    def handle(self, *args, **options) -> None:
        if options["timezone"]:
            try:
                timezone_named(options["timezone"])
            except ValueError as exc:
                raise CommandError(f"--timezone: {exc}") from None
        dry_run = options["dry_run"]
        with self._progress_bar(options["progress"]) as progress:
            try:
                report = import_export(
                    options["path"],
                    kind=options["kind"],
                    dry_run=dry_run,
                    tz=options["timezone"],
                    store=options["store"],
                    store_name=options["store_name"],
                    progress=progress,
                )
            except FileError as exc:
                raise CommandError(str(exc)) from None
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(report.summary())
        for line in report.error_lines():
            self.stdout.write(line)
        if dry_run or options["verbosity"] >= 2:
            if report.stores_created:
                self.stdout.write(f"new stores: {', '.join(report.stores_created)}")
            for heading, lines in (("moves", report.move_lines()), ("money", report.money_lines())):
                if lines:
                    self.stdout.write(f"{heading}:")
                    for line in lines:
                        self.stdout.write(f"  {line}")
        if report.error_count:
            raise CommandError(f"nothing was written: {report.error_count} errors", returncode=1)
        if dry_run:
            self.stdout.write("dry run: nothing was written")

    @contextmanager
    def _progress_bar(self, forced: bool) -> Iterator[Callable[[int], object] | None]:
        """A tqdm bar of rows done on stderr when it is a terminal (or with --progress)."""
        if not (forced or self.stderr.isatty()):
            yield None
            return
        with tqdm(unit=" rows", file=self.stderr._out, dynamic_ncols=True) as bar:
            yield bar.update
