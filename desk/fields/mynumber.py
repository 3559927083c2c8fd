"""個人番号 (My Number): digit folding, check digit and masking; never echoes its input."""

from __future__ import annotations

from desk.errors import FieldError
from desk.fields.digits import normalize_digits

__all__ = ["check_digit", "is_valid", "masked", "normalize_digits", "parse"]

# Separators people type between digit groups ("1234 5678 9012", "1234-5678-9012").
_SEPARATORS = str.maketrans(dict.fromkeys(" \u3000-\u2010\u2011\u2212\uff0d\u30fc\uff70", None))
_ASCII_DIGITS = frozenset("0123456789")
_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_LENGTH = 12


def check_digit(first_eleven: str) -> int:
    """Compute the check digit of a 個人番号 from its first 11 ASCII digits.

    Weights 6,5,4,3,2,7,6,5,4,3,2 from the left; r = sum mod 11; check = 0 if r ≤ 1 else 11 − r.

    Args:
        first_eleven: Exactly 11 ASCII digits.

    Returns:
        The check digit, 0-9.

    Raises:
        FieldError: "mynumber.format" when the argument is not 11 ASCII digits (the value is
            never part of the error).
    """
    if len(first_eleven) != len(_WEIGHTS) or not _ASCII_DIGITS.issuperset(first_eleven):
        raise FieldError("mynumber.format")
    remainder = sum(w * int(c) for w, c in zip(_WEIGHTS, first_eleven, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def parse(text: str) -> str:
    """Return the 12 ASCII digits of a 個人番号, checking length and check digit.

    Full-width digits are folded; spaces and hyphens between digit groups are dropped.

    Args:
        text: The number as entered.

    Returns:
        12 ASCII digits.

    Raises:
        FieldError: "mynumber.format" (not 12 digits) or "mynumber.check_digit"; never with the
            input in the message or parameters.
    """
    digits = normalize_digits(text).translate(_SEPARATORS)
    if len(digits) != _LENGTH or not _ASCII_DIGITS.issuperset(digits):
        raise FieldError("mynumber.format")
    if check_digit(digits[:-1]) != int(digits[-1]):
        raise FieldError("mynumber.check_digit")
    return digits


def is_valid(text: str) -> bool:
    """Tell whether `text` is a well-formed 個人番号 with a correct check digit.

    Args:
        text: The number as entered (full-width digits, spaces and hyphens allowed).

    Returns:
        True when `parse` would accept it.
    """
    try:
        parse(text)
    except FieldError:
        return False
    return True


def masked(number: str) -> str:
    """Mask all but the last 4 digits of a 個人番号 for display.

    Args:
        number: A number accepted by `parse`.

    Returns:
        "********0257"-style text.

    Raises:
        FieldError: As `parse`.
    """
    digits = parse(number)
    return "*" * (_LENGTH - 4) + digits[-4:]
