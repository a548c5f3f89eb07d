"""Money: a Decimal amount with a currency. Never a float."""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from backoffice.errors import invalid

CENT = Decimal("0.01")
# Amount columns hold 14 digits, 2 of them after the point.
MAX_AMOUNT = Decimal("999999999999.99")


class Currency:
    USD = "USD"
    CNY = "CNY"
    CHOICES = [(USD, "US dollar"), (CNY, "Chinese yuan")]


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


def has_more_than_cents(value: Decimal) -> bool:
    """Whether ``value`` is not a whole number of cents (NaN and infinities are not). Never
    raises: a huge amount (``1E+30``) is judged too instead of overflowing the context."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity
        return True
    if exponent >= -2:
        return False
    precision = len(digits) + 1  # enough for the value rounded to the cent
    return value != value.quantize(CENT, context=Context(prec=precision))


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", quantize(to_decimal(self.amount)))

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"


def clean_amount(
    value: Any, *, field: str = "amount", allow_zero: bool = False, allow_negative: bool = False
) -> Decimal:
    """An amount from input, or ``invalid`` naming ``field``: exact, whole cents, in range."""
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        raise invalid(f"{value!r} is not an amount.", field=field) from None
    if not amount.is_finite():
        raise invalid(f"{value!r} is not an amount.", field=field)
    if amount < 0 and not allow_negative:
        raise invalid(
            "The amount must not be negative."
            if allow_zero
            else "The amount must be greater than zero.",
            field=field,
        )
    if amount == 0 and not allow_zero:
        raise invalid(
            "The amount must not be zero."
            if allow_negative
            else "The amount must be greater than zero.",
            field=field,
        )
    if abs(amount) > MAX_AMOUNT:
        raise invalid(f"The amount must be at most {MAX_AMOUNT:,}.", field=field)
    if has_more_than_cents(amount):
        raise invalid("Amounts have at most 2 decimals.", field=field)
    return amount
