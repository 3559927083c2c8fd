"""Full-width digit folding: the one place digits are folded (never NFKC for anything else)."""

from __future__ import annotations

# Full-width digits ０-９ (U+FF10–U+FF19) to ASCII; every other character is left as entered.
_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})


def normalize_digits(text: str) -> str:
    """Fold full-width digits to ASCII digits, leaving every other character as it is.

    Args:
        text: Any text.

    Returns:
        `text` with ０-９ replaced by 0-9.
    """
    return text.translate(_DIGITS)
