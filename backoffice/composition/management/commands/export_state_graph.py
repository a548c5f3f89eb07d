"""``manage.py export_state_graph [--format mermaid|dot] [--output FILE] [--readme] [--check]``:
the state machines (every model with an FSM field) from their ``@transition`` declarations.

Mermaid (the default) is Markdown, one diagram per model, as README.md shows it between the
``state-graph`` markers; ``--readme`` rewrites that part of the README, ``--check`` fails when it
differs from the declarations (like ``export_schema --check``). ``dot`` is Graphviz.
"""

import difflib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from backoffice.composition.state_graph import FORMATS, export

BEGIN = "<!-- state-graph:begin (manage.py export_state_graph --readme) -->"
END = "<!-- state-graph:end -->"


def readme_path() -> Path:
    return Path(settings.BASE_DIR) / "README.md"


def readme_part(text: str) -> tuple[int, int]:
    """Where the diagrams are in the README's text (after BEGIN, up to END)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise CommandError(
            _("README.md has no %(begin)s ... %(end)s part.") % {"begin": BEGIN, "end": END}
        )
    return start + len(BEGIN) + 1, end


class Command(BaseCommand):
    help = "Write the state machines as Mermaid (default) or Graphviz dot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="mermaid")
        parser.add_argument("--output", type=Path, help="a file instead of standard output")
        parser.add_argument(
            "--readme", action="store_true", help="rewrite the diagrams in README.md (Mermaid)"
        )
        parser.add_argument(
            "--check", action="store_true", help="exit 1 if README.md's diagrams are stale"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["readme"] or options["check"]:
            self.readme(check=options["check"])
            return
        text = export(options["format"])
        if options["output"]:
            options["output"].write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")

    def readme(self, *, check: bool) -> None:
        path = readme_path()
        current = path.read_text(encoding="utf-8")
        start, end = readme_part(current)
        text = export("mermaid")
        if current[start:end] == text:
            self.stdout.write(f"{path}: the state diagrams are up to date.")
            return
        if not check:
            path.write_text(current[:start] + text + current[end:], encoding="utf-8")
            self.stdout.write(f"Wrote the state diagrams into {path}")
            return
        diff = difflib.unified_diff(
            current[start:end].splitlines(keepends=True),
            text.splitlines(keepends=True),
            "README.md",
            "export_state_graph",
        )
        self.stdout.write("".join(diff))
        raise CommandError(
            _("README.md's state diagrams are stale: run `manage.py export_state_graph --readme`."),
            returncode=1,
        )
