"""Parsers for one cell: each returns a value, ``None`` for an empty cell, or raises
:class:`CellError` with the message the report shows. They raise nothing else.

A cell is what the reader gives: ``str`` from a CSV, a typed value from an XLSX. Typed values
are read as Excel shows them (an ``int`` is its digits; a ``float`` of 1e15 or more shows in
scientific notation, so an order number stored that way has lost its digits).

Empty means "not given": ``None``, never zero. Amounts are ``Decimal``, never ``float``.
"""

import math
import re
import unicodedata
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Context, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.money import CENT, MAX_RATE, Currency, Money, has_more_than_cents, max_amount

from .errors import CellError
from .reading import Cell

PLATFORM_TZ = ZoneInfo("America/Los_Angeles")
FULL_WIDTH_COLON = "\uff1a"

DIGITS_LOST = gettext_lazy("scientific notation: digits lost")
NOT_AN_ORDER_NUMBER = gettext_lazy("not an order number")
NOT_AN_AMOUNT = gettext_lazy("not an amount")
NEGATIVE_AMOUNT = gettext_lazy("negative amount")
MORE_THAN_2_DECIMALS = gettext_lazy("more than 2 decimals")
NOT_A_TIMESTAMP = gettext_lazy("not a date and time (e.g. 2026-03-09 14:05:33)")
NOT_A_DATE = gettext_lazy("not a date (e.g. 2026-03-09)")


def timezone_named(name: str) -> ZoneInfo:
    """The IANA time zone for ``--timezone``; ``ValueError`` when there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (e.g. America/Los_Angeles)") from exc


# Text ----------------------------------------------------------------------------------------


def cell_text(value: Cell) -> str | None:
    """The cell as stripped text, as Excel would show it; ``None`` when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def parse_text(value: Cell) -> str | None:
    return cell_text(value)


def parse_free_text(value: Cell) -> str | None:
    """Free text kept exactly as written (spaces and all); ``None`` when blank."""
    if isinstance(value, str):
        return value if value.strip() else None
    return cell_text(value)


def _float_text(value: float) -> str:
    """Excel's "General" display: whole numbers as digits up to 15 of them, then E notation."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e15:
        mantissa, exponent = f"{value:.14E}".split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
    if value.is_integer():
        return str(int(value))
    return repr(value)


# Numbers that are names: order numbers and platform ids -------------------------------------

_SCIENTIFIC = re.compile(r"[-+]?\d+(?:[.,]\d*)?[eE][-+]?\d+")
_EXCEL_TEXT_FORMULA = re.compile(r'="(.*)"')  # ="8756160904301048", Excel's keep-as-text trick
_ORDER_NUMBER = re.compile(r"\d{1,20}")
_PLATFORM_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")


def _id_text(value: Cell) -> str | None:
    text = cell_text(value)
    if text is None:
        return None
    if match := _EXCEL_TEXT_FORMULA.fullmatch(text):
        text = match.group(1).strip()
    text = text.removeprefix("'")
    if _SCIENTIFIC.fullmatch(text):
        raise CellError(DIGITS_LOST)
    return text


def parse_order_number(value: Cell) -> str | None:
    """Digits only, up to 20; an Excel-mangled ``8.1234567890123E+15`` is refused, not guessed."""
    text = _id_text(value)
    if text is None:
        return None
    if _ORDER_NUMBER.fullmatch(text):
        return text
    if text.isdigit():
        raise CellError(
            _("%(not_an_order_number)s: more than 20 digits")
            % {"not_an_order_number": NOT_AN_ORDER_NUMBER}
        )
    raise CellError(NOT_AN_ORDER_NUMBER)


def parse_platform_id(value: Cell, *, what: str = "platform id") -> str | None:
    """A store, dispute or statement id: letters, digits, ``-`` and ``_``, up to 32."""
    text = _id_text(value)
    if text is None:
        return None
    if not _PLATFORM_ID.fullmatch(text):
        raise CellError(_("not a %(what)s") % {"what": what})
    return text


_REFERENCE = re.compile(r"\S{1,64}")


def parse_reference(value: Cell) -> str | None:
    """A statement line's reference: up to 64 characters without spaces."""
    text = _id_text(value)
    if text is None:
        return None
    if not _REFERENCE.fullmatch(text):
        raise CellError(_("not a reference"))
    return text


# Money ----------------------------------------------------------------------------------------

_AMOUNT = re.compile(
    r"""
    (?P<open>\()?\s*
    (?P<sign>[-+])?\s*
    (?P<prefix>US\s*\$|USD|CN\s*¥|CNY|RMB|\$|¥)?\s*
    (?P<sign2>[-+])?\s*
    (?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*
    (?P<suffix>USD|CNY|RMB|元)?\s*
    (?P<close>\))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_CURRENCY_MARKS = {
    "US$": Currency.USD,
    "USD": Currency.USD,
    "$": Currency.USD,
    "CN¥": Currency.CNY,
    "CNY": Currency.CNY,
    "RMB": Currency.CNY,
    "¥": Currency.CNY,
    "元": Currency.CNY,
}
_CURRENCY_NAMES = {
    **{mark.casefold(): code for mark, code in _CURRENCY_MARKS.items()},
    "美元": Currency.USD,
    "人民币": Currency.CNY,
}


NOT_ASCII_DIGITS = gettext_lazy("digits other than ASCII 0-9")


def _normal_text(value: Cell) -> str | None:
    """Stripped text in NFKC (full-width yen and dollar signs become ASCII), with U+2212 MINUS
    SIGN read as a hyphen-minus. Digits must be ASCII already: full-width or other
    scripts' digits (١٢) are refused, never read as a number."""
    text = cell_text(value)
    if text is None or text.isascii():  # NFKC leaves ASCII as it is; no U+2212 in it
        return text
    if any(char.isdigit() and not char.isascii() for char in text):
        raise CellError(NOT_ASCII_DIGITS)
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-")


def parse_amount(value: Cell, *, allow_negative: bool = False) -> tuple[Decimal, str | None] | None:
    """``US $1,234.56``, ``$12.34``, ``USD 12.34``, ``12.34``, ``CN¥88.00``, ``￥88.00``,
    ``RMB 88`` -> (amount to the cent, currency the cell names or ``None``)."""
    if isinstance(value, Decimal):
        value = str(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float | None):
        raise CellError(NOT_AN_AMOUNT)
    text = _normal_text(value)
    if text is None:
        return None
    match = _AMOUNT.fullmatch(text)
    if (
        match is None
        or bool(match["open"]) != bool(match["close"])
        or (match["prefix"] and match["suffix"])
        or (match["sign"] and match["sign2"])
        or (match["open"] and (match["sign"] or match["sign2"]))
    ):
        raise CellError(NOT_AN_AMOUNT)
    amount = Decimal(match["number"].replace(",", ""))
    if match["open"] or "-" in (match["sign"], match["sign2"]):
        amount = -amount
    if amount < 0 and not allow_negative:
        raise CellError(NEGATIVE_AMOUNT)
    if has_more_than_cents(amount):
        raise CellError(MORE_THAN_2_DECIMALS)
    if abs(amount) > max_amount():
        raise CellError(
            _("more than the largest amount, %(value)s") % {"value": f"{max_amount():,}"}
        )
    mark = match["prefix"] or match["suffix"]
    currency = _CURRENCY_MARKS[re.sub(r"\s+", "", mark).upper()] if mark else None
    amount = amount.quantize(CENT) if amount else Decimal("0.00")  # no "-0.00"
    return amount, currency


def parse_money(
    value: Cell, *, default_currency: str, allow_negative: bool = False
) -> Money | None:
    """:func:`parse_amount` as :class:`Money`; the cell's currency wins over the file default."""
    parsed = parse_amount(value, allow_negative=allow_negative)
    if parsed is None:
        return None
    amount, currency = parsed
    return Money(amount, currency or default_currency)


def parse_currency(value: Cell) -> str | None:
    """``USD``, ``CNY`` (or ``$``, ``RMB``, ``¥``, 美元, 人民币) -> ISO code."""
    text = _normal_text(value)
    if text is None:
        return None
    try:
        return _CURRENCY_NAMES[re.sub(r"\s+", "", text).casefold()]
    except KeyError:
        raise CellError(_("unknown currency: %(value)r") % {"value": text[:20]}) from None


RATE_PLACES = Decimal("0.000001")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_rate(value: Cell) -> Decimal | None:
    """An exchange rate: more than zero, up to 6 decimals."""
    if isinstance(value, Decimal):
        value = str(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float | None):
        raise CellError(_("not a rate"))
    text = _normal_text(value)
    if text is None:
        return None
    if not _PLAIN_NUMBER.fullmatch(text):
        raise CellError(_("not a rate"))
    rate = Decimal(text)
    if rate <= 0:
        raise CellError(_("rate must be more than zero"))
    if rate != rate.quantize(RATE_PLACES, context=Context(prec=len(text) + 7)):
        raise CellError(_("more than 6 decimals"))
    low, high = settings.EXCHANGE_RATE_MIN, min(settings.EXCHANGE_RATE_MAX, MAX_RATE)
    if not low <= rate <= high:
        raise CellError(
            _("rate must be from %(low)s to %(high)s (CNY per USD)") % {"low": low, "high": high}
        )
    return rate


# Time -----------------------------------------------------------------------------------------

_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S",  # month first, as the platform's US locale writes it
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y")


def parse_timestamp(value: Cell, *, tz: tzinfo = PLATFORM_TZ) -> datetime | None:
    """A moment as an aware UTC datetime. Without an offset it is wall time in ``tz``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str | None):
        text = cell_text(value)
        if text is None:
            return None
        moment = _datetime_from_text(text)
    else:
        raise CellError(NOT_A_TIMESTAMP)
    if moment.year < 1900:
        raise CellError(NOT_A_TIMESTAMP)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return _localize(moment, tz)


# The common shapes of _NAIVE_FORMATS, read without strptime (which rebuilds a regex per format
# tried: most of a row's parsing time). A text they match means what strptime would make of it;
# anything else, or an impossible date, goes through the formats as before.
_YEAR_FIRST = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2}) (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")
_MONTH_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def _quick_datetime(text: str) -> datetime | None:
    if match := _YEAR_FIRST.fullmatch(text):
        year, _, month, day, hour, minute, second = match.groups()
    elif match := _MONTH_FIRST.fullmatch(text):
        month, day, year, hour, minute, second = match.groups()
    else:
        return None
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None


def _datetime_from_text(text: str) -> datetime:
    if (quick := _quick_datetime(text)) is not None:
        return quick
    # No format above has a letter T: ISO 8601's "2026-03-09T14:05:33-07:00" skips them.
    for fmt in () if "T" in text.upper() else _NAIVE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    if ":" in text:  # ISO 8601, with or without an offset; a bare date is not a moment
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise CellError(NOT_A_TIMESTAMP)


def _localize(wall: datetime, tz: tzinfo) -> datetime:
    moment = wall.replace(tzinfo=tz).astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) != wall:
        raise CellError(
            _("%(wall)s does not exist in %(tz)s (clocks went forward)")
            % {"wall": f"{wall:%Y-%m-%d %H:%M}", "tz": tz}
        )
    return moment


def parse_date(value: Cell) -> date | None:
    """A calendar date: ``2026-03-09``, ``2026/03/09`` or ``03/09/2026`` (month first)."""
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise CellError(_("%(not_a_date)s: it has a time of day") % {"not_a_date": NOT_A_DATE})
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str | None):
        raise CellError(NOT_A_DATE)
    text = cell_text(value)
    if text is None:
        return None
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if parsed.year >= 1900:
            return parsed
    raise CellError(NOT_A_DATE)


# Shipping -------------------------------------------------------------------------------------


MAX_PARCELS = 20
_LINES = re.compile(r"\r\n|\r|\n")


def parse_parcels(value: Cell) -> tuple[tuple[str, str], ...] | None:
    """The parcels of a tracking cell, each (carrier, tracking number): ``Cainiao:LP00123456789CN``,
    one parcel a line (``美国邮政:9400...`` then ``4PX:LP...``), a line that starts with the colon
    continuing the line before (``Seller Shipping US`` / ``:9400...``). Each is split on its last
    colon (ASCII or full-width): carrier names may be long, tracking numbers never hold a colon."""
    text = cell_text(value)
    if text is None:
        return None
    lines: list[str] = []
    for line in _LINES.split(text.replace(FULL_WIDTH_COLON, ":")):
        line = line.strip()
        if line.startswith(":") and lines:
            lines[-1] += line
        elif line:
            lines.append(line)
    if len(lines) > MAX_PARCELS:
        raise CellError(_("more than %(MAX_PARCELS)s parcels") % {"MAX_PARCELS": MAX_PARCELS})
    parcels = []
    for line in lines:
        carrier, colon, tracking = line.rpartition(":")
        carrier, tracking = carrier.strip(), tracking.strip()
        if not (colon and carrier and tracking):
            raise CellError(
                _(
                    "expected carrier:tracking number (e.g. Cainiao:LP00123456789CN), one parcel "
                    "a line: %(value)r"
                )
                % {"value": line[:60]}
            )
        if len(carrier) > 100 or len(tracking) > 100:
            raise CellError(
                _("a carrier or tracking number longer than 100 characters: %(value)r")
                % {"value": line[:60]}
            )
        parcels.append((carrier, tracking))
    return tuple(parcels)
