"""The Simplified Chinese catalogue is complete and matches the code.

- Every entry is translated, none fuzzy, every placeholder kept (``%(name)s``, ``{obj.x}``).
- ``makemessages`` run on a copy of the code finds exactly the catalogue's entries: a string
  marked for translation but missing from the catalogue (or an entry no longer in the code)
  fails here, whatever line numbers moved. Fix: ``make messages``, then translate.
- A user-facing string in the usual places (choice labels, field names and help texts, form
  labels, admin columns, actions and messages, service refusals) that is not wrapped in
  ``gettext``/``gettext_lazy`` fails ``test_user_facing_strings_are_marked``.
"""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
from django.conf import settings
from django.utils import translation

from backoffice.catalogue import problems
from backoffice.field_names import FIELD_NAMES
from backoffice.i18n import auto_named_fields

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
APPS = ("accounts", "backoffice", "disputes", "orders", "payouts")
# As the Makefile's `messages` target runs it (the copy holds only the apps and the locale).
MAKEMESSAGES = ("-l", "zh_Hans", "--no-obsolete", "--add-location", "file")


def _msgids(path: Path) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in polib.pofile(str(path)) if not e.obsolete}


def test_the_catalogue_is_complete():
    entries = polib.pofile(str(CATALOGUE))

    assert len(entries) > 600
    assert problems(CATALOGUE) == []
    assert entries.percent_translated() == 100
    assert entries.fuzzy_entries() == []


def test_makemessages_finds_exactly_the_catalogues_entries(tmp_path):
    assert shutil.which("xgettext"), "GNU gettext is needed (make test installs it)"
    for app in APPS:
        shutil.copytree(
            ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", "static")
        )
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    shutil.copytree(ROOT / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings_test", "PYTHONPATH": ""}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", *MAKEMESSAGES],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

    new = sorted(_msgids(fresh) - _msgids(CATALOGUE), key=str)
    gone = sorted(_msgids(CATALOGUE) - _msgids(fresh), key=str)
    assert new == [], "marked but not in the catalogue: run `make messages` and translate"
    assert gone == [], "in the catalogue but no longer in the code: run `make messages`"
    assert problems(fresh) == []


# --- unmarked user-facing strings ---

WRAPPERS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "gettext_noop"}
KEYWORDS = {"verbose_name", "verbose_name_plural", "help_text", "label", "empty_label"}
REFUSALS = {"invalid": 0, "ValidationError": 0, "PermissionDenied": 0, "TransitionCheck": 2}
HELD = {"ObjectAction": 0, "bulk_action": 1, "message_user": 1}
RELATION_FIELDS = {"ForeignKey", "OneToOneField", "ManyToManyField", "GenericRelation"}
# Read by strawberry when the schema is built (English in schema.graphql; a client's text).
SCHEMA_MODULES = ("schema.py", "schema_types.py", "scalars.py", "seed_demo.py")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return _name(node)


def _words(node: ast.expr | None) -> bool:
    """A literal text people read (not an identifier, a placeholder or empty)."""
    if isinstance(node, ast.JoinedStr):
        return True
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    text = node.value.strip()
    return bool(text) and not text.startswith("{obj.") and any(c.isalpha() for c in text)


class _Unmarked(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[str] = []

    def flag(self, node: ast.expr | None, why: str) -> None:
        if node is not None and _words(node):
            self.found.append(f"{self.path}:{node.lineno}: {why}: {ast.unparse(node)[:70]}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any("Choices" in _dotted(base) for base in node.bases):
            for item in node.body:
                pair = item.value if isinstance(item, ast.Assign) else None
                if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                    self.flag(pair.elts[1], "choice label")
        names = {"verbose_name", "verbose_name_plural", "title"}
        for item in node.body:
            if isinstance(item, ast.Assign) and _name(item.targets[0]) in names:
                self.flag(item.value, _name(item.targets[0]))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name, dotted = _name(node.func), _dotted(node.func)
        if name in WRAPPERS:
            return
        strawberry = self.path.endswith(SCHEMA_MODULES) or "/graphql/" in self.path
        for keyword in node.keywords:
            if keyword.arg in KEYWORDS or (keyword.arg == "description" and not strawberry):
                self.flag(keyword.value, keyword.arg)
            if keyword.arg == "choices" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                for pair in keyword.value.elts:
                    if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                        self.flag(pair.elts[1], "choice label")
        field = dotted.startswith("models.") and name.endswith("Field")
        if field and node.args and name not in RELATION_FIELDS:
            self.flag(node.args[0], "field name")
        position = REFUSALS.get(name, HELD.get(name))
        if position is not None and len(node.args) > position:
            self.flag(node.args[position], name)
        if dotted.startswith("messages.") and len(node.args) > 1:
            self.flag(node.args[1], dotted)
        self.generic_visit(node)

    def visit_Tuple(self, node: ast.Tuple) -> None:
        """An admin fieldset: ``("Title", {"fields": ...})``."""
        if len(node.elts) == 2 and isinstance(node.elts[1], ast.Dict):
            keys = [k.value for k in node.elts[1].keys if isinstance(k, ast.Constant)]
            if "fields" in keys:
                self.flag(node.elts[0], "fieldset")
        self.generic_visit(node)


def test_user_facing_strings_are_marked():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            visitor = _Unmarked(str(path.relative_to(ROOT)))
            visitor.visit(ast.parse(path.read_text()))
            found += visitor.found

    assert found == []


def test_every_field_named_by_django_is_listed_for_the_catalogue():
    with translation.override("en"):
        names = {str(field.verbose_name) for field in auto_named_fields()}

    assert sorted(names - set(FIELD_NAMES)) == [], "add them to backoffice/field_names.py"
