"""``manage.py export_schema [SCHEMA] [--path PATH] [--check]``: write the GraphQL schema (SDL)
to ``schema.graphql`` at the repository root, or with ``--check`` fail when that file is stale.

It replaces strawberry-django's command of the same name (``backoffice`` comes first in
INSTALLED_APPS) and accepts its arguments, so ``export_schema backoffice.composition.schema`` still
works.
"""

import difflib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from strawberry import Schema
from strawberry.printer import print_schema
from strawberry.utils.importer import import_module_symbol

DEFAULT_SCHEMA = "backoffice.composition.schema"


def default_path() -> Path:
    return Path(settings.BASE_DIR) / "schema.graphql"


def schema_text(location: str = DEFAULT_SCHEMA) -> str:
    try:
        schema = import_module_symbol(location, default_symbol_name="schema")
    except (ImportError, AttributeError) as exc:
        raise CommandError(str(exc)) from exc
    if not isinstance(schema, Schema):
        raise CommandError(f"{location} is not a strawberry.Schema")
    return print_schema(schema) + "\n"


class Command(BaseCommand):
    help = "Write the GraphQL schema to schema.graphql; with --check, fail if it is out of date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema", nargs="?", default=DEFAULT_SCHEMA, help="module[:symbol]")
        parser.add_argument("--path", type=Path, default=None, help="default: schema.graphql")
        parser.add_argument(
            "--check", action="store_true", help="compare only; exit 1 if the file differs"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"] or default_path()
        text = schema_text(options["schema"])
        if options["check"]:
            self.compare(path, text)
            return
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {path}")

    def compare(self, path: Path, text: str) -> None:
        if not path.exists():
            raise CommandError(f"{path} is missing: run `python manage.py export_schema`.")
        current = path.read_text(encoding="utf-8")
        if current == text:
            self.stdout.write(f"{path} is up to date.")
            return
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{path.name} (committed)",
            tofile=f"{path.name} (from the code)",
        )
        self.stderr.write("".join(diff))
        raise CommandError(
            f"{path} is out of date with the code: run `python manage.py export_schema` "
            "and commit the result."
        )
