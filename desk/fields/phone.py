"""Japanese domestic telephone numbers: normalization, classification, validation and display."""

from __future__ import annotations

from typing import Literal

from desk.errors import FieldError
from desk.fields.digits import normalize_digits

__all__ = [
    "PhoneKind",
    "classify_phone",
    "format_phone",
    "is_valid_phone",
    "normalize_phone",
    "validate_phone",
]

PhoneKind = Literal["fixed", "mobile", "ip", "toll_free"]

# What people type between digit groups: ASCII and full-width spaces, parentheses around the
# area code ("03(1234)5678"), and every hyphen look-alike an IME produces (ー is what the
# hiragana mode gives for the "-" key).
_SEPARATORS = str.maketrans(dict.fromkeys(" \u3000()（）-ー－‐―−‑–—ｰ", None))
_ASCII_DIGITS = frozenset("0123456789")
_MAX_INPUT = 64  # far longer than any phone number; keeps the work on junk input bounded

# Non-geographic prefixes with their kind and total length. Checked in this order, so the
# 4-digit 0800 (toll-free) wins over the 3-digit 080 (mobile) it starts with.
_PLANS: tuple[tuple[str, PhoneKind, int], ...] = (
    ("0120", "toll_free", 10),
    ("0800", "toll_free", 11),
    ("050", "ip", 11),
    ("070", "mobile", 11),
    ("080", "mobile", 11),
    ("090", "mobile", 11),
)
_FIXED_LENGTH = 10
# Area code + local exchange always take the first 6 digits of a fixed number (0 included), so
# only the area code length decides where the first hyphen goes.
_FIXED_EXCHANGE_END = 6
_ONE_DIGIT_AREAS = frozenset({"03", "06"})  # Tokyo 23 wards, Osaka
# 2-digit area codes (3 with the 0) of large cities that no longer area code starts with, so
# the split is exact: Sapporo, Yokohama, Nagoya, Kyoto, Kobe.
_TWO_DIGIT_AREAS = frozenset({"011", "045", "052", "075", "078"})


def normalize_phone(text: str) -> str:
    """Reduce a phone number as typed to its ASCII digits.

    Full-width digits are folded; spaces, parentheses and hyphens (- ー － ‐ ― and similar) are
    dropped. Nothing about the number itself is checked here: see `validate_phone`.

    Args:
        text: The number as entered, e.g. 「０９０ー１２３４ー５６７８」 or "03(1234)5678".

    Returns:
        The digits only, e.g. "09012345678".

    Raises:
        FieldError: "phone.format" when the text holds any other character (letters, "+81",
            non-ASCII digits) or no digit at all. The input is never part of the error.
    """
    if len(text) > _MAX_INPUT:
        raise FieldError("phone.format")
    digits = normalize_digits(text).translate(_SEPARATORS)
    if not digits or not _ASCII_DIGITS.issuperset(digits):
        raise FieldError("phone.format")
    return digits


def _kind_and_length(digits: str) -> tuple[PhoneKind, int]:
    # Domestic numbers start with one 0; "00…" is an international or carrier prefix.
    if not digits.startswith("0") or digits[1:2] in ("", "0"):
        raise FieldError("phone.format")
    for prefix, kind, length in _PLANS:
        if digits.startswith(prefix):
            return kind, length
    return "fixed", _FIXED_LENGTH


def validate_phone(text: str) -> str:
    """Check a Japanese domestic phone number and return its digits.

    Rules: mobile 070/080/090 + 8 digits; IP phone 050 + 8 digits; toll-free 0120 + 6 digits
    and 0800 + 7 digits; fixed (geographic) numbers are 10 digits starting with 0 and a second
    digit 1-9, outside the prefixes above. Other non-geographic services (0570 ナビダイヤル,
    0990, 020) are not told apart: a 10-digit one passes as "fixed".

    Args:
        text: The number as entered (anything `normalize_phone` accepts).

    Returns:
        The ASCII digits, e.g. "0312345678".

    Raises:
        FieldError: "phone.format" (not a domestic number: bad characters, no leading 0, or
            "00…"), or "phone.length" with param `expected` (the digit count the number's
            prefix calls for) when the prefix is right but the length is not.
    """
    digits = normalize_phone(text)
    _, length = _kind_and_length(digits)
    if len(digits) != length:
        raise FieldError("phone.length", expected=length)
    return digits


def is_valid_phone(text: str) -> bool:
    """Tell whether `text` is a valid Japanese domestic phone number.

    Args:
        text: The number as entered.

    Returns:
        True when `validate_phone` accepts it.
    """
    try:
        validate_phone(text)
    except FieldError:
        return False
    return True


def classify_phone(text: str) -> PhoneKind:
    """Tell what kind of number a valid phone number is.

    Args:
        text: The number as entered.

    Returns:
        "mobile" (070/080/090), "ip" (050), "toll_free" (0120/0800) or "fixed".

    Raises:
        FieldError: As `validate_phone`.
    """
    kind, _ = _kind_and_length(validate_phone(text))
    return kind


def format_phone(text: str) -> str:
    """Write a valid phone number with hyphens for display.

    Mobile and IP: 090-1234-5678, 050-1234-5678. Toll-free: 0120-123-456, 0800-123-4567.

    Fixed numbers are a simplification: the exact split needs the full MIC numbering table
    (area codes have 1-4 digits after the 0). 03 and 06 give 03-1234-5678; the 3-digit codes
    011, 045, 052, 075 and 078 give 045-123-4567; every other fixed number is split as if its
    area code had 4 digits, 0123-45-6789. That is right for most of the country but puts the
    first hyphen in the wrong place for other 3-digit (042-…) and 5-digit (01267-…) codes.
    The digits are never changed, only where the hyphens go.

    Args:
        text: The number as entered.

    Returns:
        The hyphenated number.

    Raises:
        FieldError: As `validate_phone`.
    """
    digits = validate_phone(text)
    kind, _ = _kind_and_length(digits)
    if kind in ("mobile", "ip"):
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if kind == "toll_free":
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if digits[:2] in _ONE_DIGIT_AREAS:
        area = 2
    elif digits[:3] in _TWO_DIGIT_AREAS:
        area = 3
    else:
        area = 4
    end = _FIXED_EXCHANGE_END
    return f"{digits[:area]}-{digits[area:end]}-{digits[end:]}"
