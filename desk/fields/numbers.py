"""Numbers typed at a counter: full-width digits, thousands separators, sign and range checks."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal, overload

from desk.errors import FieldError
from desk.fields.digits import normalize_digits

__all__ = ["parse_number"]

# The full-width comma, point and minus an IME gives alongside full-width digits (ー is what the
# hiragana mode gives for the "-" key); folded for parsing only.
_FOLD = str.maketrans({"，": ",", "．": ".", "－": "-", "−": "-", "ー": "-"})
_TRIM = " \u3000"
# Python refuses int() of more than 4300 digits; no counter form needs anywhere near this.
_MAX_INPUT = 64
# Either plain digits or correctly grouped thousands ("1,234,567"), never "12,34".
_NUMBER = re.compile(r"(-)?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")

Bound = int | Decimal | None


@overload
def parse_number(
    text: str, *, minimum: Bound = None, maximum: Bound = None, decimals: Literal[0] = 0
) -> int: ...


@overload
def parse_number(
    text: str, *, minimum: Bound = None, maximum: Bound = None, decimals: int
) -> int | Decimal: ...


def parse_number(
    text: str, *, minimum: Bound = None, maximum: Bound = None, decimals: int = 0
) -> int | Decimal:
    """Parse a number as typed, e.g. 「１，２３４」 or "-12.5".

    Full-width digits, comma, point and minus are accepted, and spaces around the number.
    Commas are thousands separators only and must group by three. A leading minus is accepted
    only when `minimum` is below zero, so fields default to non-negative numbers. At most
    `decimals` digits may follow the point; nothing is rounded.

    Args:
        text: The number as entered.
        minimum: Smallest accepted value, or None for no lower bound (minus still refused).
        maximum: Largest accepted value, or None for no upper bound.
        decimals: How many digits may follow the decimal point; 0 for whole numbers.

    Returns:
        An int when `decimals` is 0, else a Decimal with exactly `decimals` places
        ("1.5" with decimals=2 gives Decimal("1.50")).

    Raises:
        FieldError: "number.format" for anything that is not such a number (including a minus
            that is not allowed and too many decimals); "number.range" with params `min` and
            `max` (the bounds, None where unbounded) when the value is outside them. The input
            is never part of the error.
        ValueError: `decimals` is negative or `minimum` is greater than `maximum` (a
            programming error, not bad input).
    """
    if decimals < 0:
        raise ValueError("decimals must not be negative")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ValueError("minimum must not be greater than maximum")
    if len(text) > _MAX_INPUT:
        raise FieldError("number.format")
    match = _NUMBER.fullmatch(normalize_digits(text).translate(_FOLD).strip(_TRIM))
    if match is None:
        raise FieldError("number.format")
    sign, whole, fraction = match.groups()
    if sign and (minimum is None or minimum >= 0):
        raise FieldError("number.format")
    if fraction is not None and len(fraction) > decimals:
        raise FieldError("number.format")
    whole = whole.replace(",", "")
    value: int | Decimal
    if decimals == 0:
        value = int(whole)
        if sign:
            value = -value
    else:
        # Padded as text rather than quantized: exact whatever the decimal context's precision.
        value = Decimal(f"{sign or ''}{whole}.{(fraction or '').ljust(decimals, '0')}")
        if value == 0:
            value = value.copy_abs()  # "-0.0" is zero, not a negative zero
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise FieldError("number.range", min=minimum, max=maximum)
    return value
