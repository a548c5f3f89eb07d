"""Money: a Decimal amount with a currency. Never a float."""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")


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
    return value != value.quantize(CENT)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", quantize(to_decimal(self.amount)))

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"
