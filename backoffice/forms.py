"""Form fields shared by every admin form."""

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from backoffice.money import parse_decimal


class StrictDecimalField(forms.DecimalField):
    """Django's DecimalField reads ``Decimal(value.strip())``, which takes ``1_000``, ``1e5``,
    ``١٢`` and padding. This one reads what :func:`backoffice.money.parse_decimal` reads (ASCII
    digits, optional minus sign and decimal point; at most ``decimal_places`` decimals, 2 when
    not given) and shows its refusal on the field. Bounds stay with the services."""

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values:
            return None
        places = 2 if self.decimal_places is None else self.decimal_places
        try:
            return parse_decimal(value, field="value", places=places)
        except ValidationError as error:
            raise ValidationError(error.messages, code="invalid") from None


DECIMAL_OVERRIDES = {"form_class": StrictDecimalField}
