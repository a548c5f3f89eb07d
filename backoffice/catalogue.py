"""The translation catalogues (``locale/<lang>/LC_MESSAGES/*.po``): compiled and checked.

Compiling is pure Python (polib), so neither a server image nor a test run needs GNU gettext;
only ``make messages`` (which runs ``makemessages``, hence ``xgettext``) does. The ``.mo``
files are build products (git-ignored): ``manage.py compile_catalogue``, the Makefile and the
test session write them when a ``.po`` is newer. README "Translations" has the workflow.
"""

import os
import re
from pathlib import Path

import polib

# A placeholder a translation must keep exactly: %(name)s / %s / %d ..., {obj.field:format}.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrfi%]")
_BRACES = re.compile(r"\{[^{}]*\}")


def catalogues(root: Path) -> list[Path]:
    return sorted(root.glob("*/LC_MESSAGES/*.po"))


def compile_catalogues(roots: list[Path], *, force: bool = False) -> list[Path]:
    """Writes each ``.mo`` older than its ``.po`` (or missing); returns those written."""
    written = []
    for root in roots:
        for po_path in catalogues(Path(root)):
            mo_path = po_path.with_suffix(".mo")
            if force or not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
                # Written aside, then renamed: parallel test workers never read half a file.
                partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
                polib.pofile(str(po_path)).save_as_mofile(str(partial))
                os.replace(partial, mo_path)
                written.append(mo_path)
    return written


def placeholders(text: str) -> list[str]:
    return sorted(_PERCENT.findall(text)) + sorted(_BRACES.findall(text))


def problems(po_path: Path) -> list[str]:
    """What keeps a catalogue from being complete: untranslated or fuzzy entries, and
    translations whose placeholders differ from the English text's."""
    found = []
    for entry in polib.pofile(str(po_path)):
        if entry.obsolete:
            continue
        where = f"{po_path.name}: {entry.msgid[:60]!r}"
        if "fuzzy" in entry.flags:
            found.append(f"{where}: fuzzy")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(t.strip() for t in translations):
            found.append(f"{where}: not translated")
            continue
        if "no-python-format" in entry.flags:
            continue
        expected = placeholders(entry.msgid_plural or entry.msgid)
        for text in translations:
            if placeholders(text) != expected and placeholders(text) != placeholders(entry.msgid):
                found.append(f"{where}: placeholders {placeholders(text)} != {expected}")
    return found
