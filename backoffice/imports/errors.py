"""The kinds of problem an import can have.

- :class:`FileError`: the file as a whole cannot be read (encoding, format, headers). Nothing in
  it is imported and there is no line to point at.
- :class:`ImportConflict`: the database refused the import's writes (a record it creates was
  created meanwhile by someone else, a database locked too long). Nothing is imported;
  importing again will do.
- :class:`CellError`: one cell's value is wrong. Raised by the parsers in ``values.py``; the row
  parsers catch it and turn it into a :class:`RowError`.
- :class:`RowError`: what the report shows, ``line L: column: message``.
"""

from dataclasses import dataclass

from django.utils.translation import gettext


class _Message:
    """An error whose ``message`` (and ``str()``) is its text, in the language active where it
    was raised (a lazy text is rendered then)."""

    def __init__(self, message: str) -> None:
        message = str(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FileError(_Message, Exception):
    """The whole file is refused: it cannot be read, or its headers do not fit the kind."""


class ImportConflict(FileError):
    """The database refused the import's writes: nothing was written."""


class CellError(_Message, ValueError):
    """One cell's value is wrong; ``message`` is what the report shows for it."""


@dataclass(frozen=True, slots=True)
class RowError:
    """An error on one row: ``column`` is the header text as the file spells it."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return gettext("line %(line)s: %(column)s: %(message)s") % {
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }
