"""The strict ``Decimal`` scalar: strawberry's own parses with ``Decimal(str(value))``, which
takes ``1_000``, ``1e5``, ``١٢``, `` 12 ``, ``NaN`` and floats. Ours takes what
:func:`backoffice.money.read_number` takes (a string of ASCII digits with an optional minus
sign and decimal point, or a GraphQL/JSON integer) and refuses the rest with a GraphQL error,
which :mod:`backoffice.graphql.errors` reports as ``invalid`` naming the input field. The
scale and bounds of each field are the services' (:mod:`backoffice.money`)."""

from decimal import Decimal

from django.utils.translation import gettext as _
from graphql import GraphQLError, ValueNode, value_from_ast_untyped
from strawberry.types.scalar import ScalarDefinition

from backoffice.money import not_a_number, read_number


def parse_decimal_input(value: object) -> Decimal:
    if isinstance(value, float):
        raise GraphQLError(
            _('Send decimals as strings (e.g. "12.30"): a floating-point number is not exact.')
        )
    number = read_number(value)
    if number is None:
        raise GraphQLError(not_a_number(value))
    return number


def parse_decimal_literal(node: ValueNode, variables: dict | None = None) -> Decimal:
    """A literal in the query: the same rules; the error points at the literal, so that the
    error's ``field`` is the input field that holds it."""
    try:
        return parse_decimal_input(value_from_ast_untyped(node, variables))
    except GraphQLError as error:
        raise GraphQLError(error.message, node) from None


StrictDecimal = ScalarDefinition(
    name="Decimal",
    description=(
        "Decimal (fixed-point): a string of ASCII digits with an optional leading minus sign "
        'and decimal point, e.g. "1234.50" (or an integer); no exponent, separators or spaces.'
    ),
    specified_by_url=None,
    serialize=str,
    parse_value=parse_decimal_input,
    parse_literal=parse_decimal_literal,
    origin=Decimal,
)

SCALAR_OVERRIDES = {Decimal: StrictDecimal}
