"""E-mail addresses: a pragmatic check that tells full-width input apart, without folding it."""

from __future__ import annotations

import re
import unicodedata

from desk.errors import FieldError

__all__ = ["MAX_LENGTH", "is_valid_email", "validate_email"]

MAX_LENGTH = 254  # the longest address SMTP can carry (RFC 5321 path limit minus the brackets)
_MAX_LOCAL = 64
_TRIM = " \t\r\n\u3000"
# The local part allows RFC 5322 atext and dots anywhere: Japanese carriers long issued
# addresses such as "taro..yamada.@docomo.ne.jp" (doubled or trailing dots) that are still in
# use, and rejecting them would turn residents away. Quoted local parts are not accepted.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


def _has_full_width(text: str) -> bool:
    # F (Ａ, ＠, the ideographic space) and W (kana, kanji): what an IME left in full-width mode
    # produces. Folding them to ASCII would guess at an address, so they are reported instead.
    return any(unicodedata.east_asian_width(c) in ("F", "W") for c in text)


def validate_email(text: str) -> str:
    """Check an e-mail address and return it trimmed.

    Pragmatic, not RFC-complete: exactly one @; a local part of at most 64 characters made of
    ASCII letters, digits, ``!#$%&'*+/=?^_`{|}~-`` and dots (doubled and trailing dots are
    allowed, see above); a domain of at least two dot-separated labels of letters, digits and
    inner hyphens; no spaces; at most 254 characters. Internationalized (non-ASCII) addresses
    are not accepted. Nothing is folded or lower-cased.

    Args:
        text: The address as entered; spaces (ASCII or full-width) around it are dropped.

    Returns:
        The address without the surrounding spaces.

    Raises:
        FieldError: "email.fullwidth" when it contains a full-width character (＠, Ａ, kana…),
            "email.length" (param `max`) when it is longer than 254 characters, "email.format"
            otherwise. The input is never part of the error.
    """
    address = text.strip(_TRIM)
    if _has_full_width(address):
        raise FieldError("email.fullwidth")
    if len(address) > MAX_LENGTH:
        raise FieldError("email.length", max=MAX_LENGTH)
    local, at, domain = address.partition("@")
    if (
        not at
        or len(local) > _MAX_LOCAL
        or _LOCAL.fullmatch(local) is None
        or _DOMAIN.fullmatch(domain) is None
    ):
        raise FieldError("email.format")
    return address


def is_valid_email(text: str) -> bool:
    """Tell whether `text` is an e-mail address `validate_email` accepts.

    Args:
        text: The address as entered.

    Returns:
        True when it is accepted.
    """
    try:
        validate_email(text)
    except FieldError:
        return False
    return True
