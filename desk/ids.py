"""ULIDs for application ids and short reference codes for resuming drafts."""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Reference codes are read aloud and typed at a counter: no 0/O, 1/I/L, U.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """Return a new ULID: 48-bit millisecond time and 80 random bits in Crockford base32."""
    timestamp = int(time.time() * 1000) if now_ms is None else now_ms
    value = (timestamp << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 0x1F] for shift in range(125, -1, -5))


def new_reference_code(length: int = 8) -> str:
    """Return a random reference code such as ``K7QX-3MPA`` for resuming a draft at the counter."""
    raw = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(length))
    return f"{raw[: length // 2]}-{raw[length // 2 :]}"


def normalize_reference_code(typed: str) -> str | None:
    """Return the stored form (``K7QX-3MPA``) of a code as typed, or None if it cannot be one.

    Accepts any case, full-width characters, spaces and a missing or different hyphen.
    """
    import unicodedata

    # NFKC only folds full-width letters and digits of the ASCII code alphabet; a reference
    # code is never a name or address, which must keep their characters as entered.
    raw = "".join(ch for ch in unicodedata.normalize("NFKC", typed).upper() if ch.isalnum())
    if len(raw) != 8 or any(ch not in _REFERENCE_ALPHABET for ch in raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"
