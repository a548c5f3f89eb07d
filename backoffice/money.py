"""Money: a Decimal amount with a currency. Never a float.

Also THE strict reading of numbers from input (GraphQL, admin forms, services):
:func:`parse_decimal` and the per-kind bounds on top of it (:func:`clean_amount`,
:func:`clean_rate`, :func:`clean_fraction`). docs/money.md "Input rules" lists them.
"""

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from backoffice.errors import invalid

CENT = Decimal("0.01")
# Amount columns hold 14 digits, 2 of them after the point (the ledger's 16): the widest value
# a column can hold and read back. Input stops far below, at settings.MONEY_MAX_AMOUNT.
MAX_AMOUNT = Decimal("999999999999.99")
# Rate columns hold 12 digits, 6 after the point.
MAX_RATE = Decimal("999999.999999")

# ASCII digits, an optional minus sign, an optional point with digits after it. No exponent,
# underscore, other scripts' or full-width digits, spaces, leading "+" or "." or trailing ".".
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
MAX_NUMBER_CHARS = 32


class Currency:
    USD = "USD"
    CNY = "CNY"
    CHOICES = [(USD, gettext_lazy("US dollar")), (CNY, gettext_lazy("Chinese yuan"))]


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Exact conversion for amounts; floats are refused because they are not exact."""
    if isinstance(value, float):
        raise TypeError("money amounts must not be floats")
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def quantize(value: Decimal) -> Decimal:
    """The one rounding rule: to the cent, half to even (banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def round_conversion(value: Decimal) -> Decimal:
    """Currency conversions (USD <-> CNY at the day's rate): to the cent, **half up** (a tie
    x.xx5 goes away from zero: 7.125 -> 7.13), the rule of payment statements. Shares of one
    currency (reserve rates) keep :func:`quantize`."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def usd_to_cny(usd: Decimal, rate: Decimal) -> Decimal:
    """``rate`` is CNY per USD (ExchangeRate.rate_to_cny)."""
    return round_conversion(usd * rate)


def cny_to_usd(cny: Decimal, rate: Decimal) -> Decimal:
    return round_conversion(cny / rate)


def has_more_than_cents(value: Decimal) -> bool:
    """Whether ``value`` is not a whole number of cents (NaN and infinities are not). Never
    raises: a huge amount (``1E+30``) is judged too instead of overflowing the context."""
    return has_more_places(value, 2)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", quantize(to_decimal(self.amount)))

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"


# How the admin shows an amount to its reader. English keeps the ISO code, as the API and the
# exports name currencies ("USD 1,234.50"); Chinese writes the platform's signs ("US$1,234.50",
# "CN￥1,234.50"). Thousands grouped, two decimals, in both. The API, exports and stored notes
# never use this: they keep the code and a plain decimal.
CURRENCY_SIGNS = {"zh-hans": {Currency.USD: "US$", Currency.CNY: "CN￥"}}


def display_money(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    """``amount`` in ``currency`` as the active language writes it; ``signed``: ``+`` too."""
    number = f"{quantize(to_decimal(amount)):{'+' if signed else ''},.2f}"
    sign = CURRENCY_SIGNS.get(get_language() or "", {}).get(currency)
    if sign is None:
        return f"{currency} {number}"
    minus = number[0] if number[0] in "+-" else ""
    return f"{minus}{sign}{number.lstrip('+-')}"


def column_bound(max_digits: int, decimal_places: int) -> Decimal:
    """The largest value a ``DecimalField(max_digits, decimal_places)`` holds."""
    return Decimal(10) ** (max_digits - decimal_places) - Decimal(1).scaleb(-decimal_places)


def max_amount() -> Decimal:
    """The largest amount input may give (either sign): the setting, never past the columns."""
    return _max_amount(settings.MONEY_MAX_AMOUNT)


@functools.lru_cache(maxsize=4)
def _max_amount(setting: Any) -> Decimal:  # every amount checked: once per value of the setting
    return min(Decimal(setting), MAX_AMOUNT)


# Quanta for has_more_places' quick test, and its context: nothing trapped but an invalid
# operation (a result longer than 40 digits, which then takes the exact way).
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}
_QUICK = Context(prec=40, traps=[InvalidOperation])


def has_more_places(value: Decimal, places: int) -> bool:
    """Whether ``value`` has non-zero digits past ``places`` decimals (never raises)."""
    quantum = _QUANTA.get(places)
    if quantum is not None and value.is_finite():  # the usual amount: no tuple of its digits
        try:
            return value != value.quantize(quantum, context=_QUICK)
        except InvalidOperation:
            pass
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity
        return True
    if exponent >= -places:
        return False
    quantum = Decimal(1).scaleb(-places)
    return value != value.quantize(quantum, context=Context(prec=len(digits) + places + 1))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def read_number(value: Any) -> Decimal | None:
    """``value`` as a Decimal when it is a plain number (see :func:`parse_decimal`), else None."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value) if abs(value) < 10**MAX_NUMBER_CHARS else None
    if isinstance(value, str) and len(value) <= MAX_NUMBER_CHARS and _PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)
    return None


def not_a_number(value: Any) -> str:
    return _(
        "%(value)s is not a number: write ASCII digits with an optional minus sign and "
        "decimal point, e.g. 1234.50 (no spaces, exponent, separators or other digits)."
    ) % {"value": _shown(value)}


def _as_decimal(value: Any, *, field: str) -> Decimal:
    number = read_number(value)
    if number is not None:
        return number
    raise invalid(not_a_number(value), field=field)


def parse_decimal(value: Any, *, field: str, places: int) -> Decimal:
    """A number from input, exactly as written, or ``invalid`` naming ``field``.

    Text must be plain: ``-?[0-9]+(.[0-9]+)?``, at most ``MAX_NUMBER_CHARS`` characters and
    ``places`` decimals (trailing zeros aside). A ``Decimal`` (from a form or an import that
    parsed it) must be finite, an ``int`` is exact; floats, booleans and the rest are refused.
    """
    number = _as_decimal(value, field=field)
    if has_more_places(number, places):
        raise invalid(
            _("At most %(places)d decimals.") % {"places": places},
            field=field,
        )
    return number


def clean_amount(
    value: Any, *, field: str = "amount", allow_zero: bool = False, allow_negative: bool = False
) -> Decimal:
    """An amount from input, or ``invalid`` naming ``field``: exact, whole cents, in range."""
    amount = parse_decimal(value, field=field, places=2)
    if amount < 0 and not allow_negative:
        raise invalid(
            _("The amount must not be negative.")
            if allow_zero
            else _("The amount must be greater than zero."),
            field=field,
        )
    if amount == 0 and not allow_zero:
        raise invalid(
            _("The amount must not be zero.")
            if allow_negative
            else _("The amount must be greater than zero."),
            field=field,
        )
    limit = max_amount()
    if abs(amount) > limit:
        raise invalid(
            _("The amount must be at most %(limit)s.") % {"limit": f"{limit:,}"}, field=field
        )
    return quantize(amount) if amount else Decimal("0.00")


def clean_rate(value: Any, *, field: str = "rate") -> Decimal:
    """A USD/CNY rate (CNY per USD) from input: 6 decimals at most, within the configured band."""
    rate = parse_decimal(value, field=field, places=6)
    low = Decimal(settings.EXCHANGE_RATE_MIN)
    high = min(Decimal(settings.EXCHANGE_RATE_MAX), MAX_RATE)
    if not low <= rate <= high:
        raise invalid(
            _("The rate must be from %(low)s to %(high)s CNY per USD.")
            % {"low": low, "high": high},
            field=field,
        )
    return rate


def clean_fraction(value: Any, *, field: str, places: int = 4) -> Decimal:
    """A fraction such as a reserve rate: from 0 to below 1, at most ``places`` decimals."""
    fraction = parse_decimal(value, field=field, places=places)
    if not 0 <= fraction < 1:
        raise invalid(
            _("A fraction from 0 to below 1 with at most %(places)d decimals, e.g. 0.10.")
            % {"places": places},
            field=field,
        )
    return fraction


def fits_column(
    field: str,
    *,
    max_digits: int,
    decimal_places: int,
    name: str,
    minimum: Decimal | None = None,
    nullable: bool = False,
) -> models.CheckConstraint:
    """The database's backstop for a decimal column: its value reads back whatever wrote it.

    SQLite keeps whatever number it is given; reading a value with more integer digits than
    ``max_digits - decimal_places`` back into a Decimal fails, and with it every page that lists
    the row. The bound is one below the first value that does not fit (so that rounding a
    value with more decimals, which SQLite may hold, never carries into a new digit).
    ``minimum`` (default: minus the bound) narrows the range. NULL passes.
    """
    bound = Decimal(10) ** (max_digits - decimal_places) - 1
    low = -bound if minimum is None else minimum
    condition = Q(**{f"{field}__gte": low, f"{field}__lte": bound})
    if nullable:
        condition = Q(**{f"{field}__isnull": True}) | condition
    return models.CheckConstraint(condition=condition, name=name)
