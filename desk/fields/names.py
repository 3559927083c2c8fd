"""氏名 characters: NFC-only normalization and 外字 flagging (outside JIS X 0208/0213)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_private_use", "nonstandard_chars", "normalize_name"]

_SPACES = frozenset(" \u3000")
_VOICING_MARKS = frozenset("\u3099\u309a")


def _is_variation_selector(char: str) -> bool:
    code = ord(char)
    # IVS (U+E0100–U+E01EF) and the standardized variation selectors VS1–VS16.
    return 0xE0100 <= code <= 0xE01EF or 0xFE00 <= code <= 0xFE0F


def is_private_use(char: str) -> bool:
    """Tell whether a character is in a private use area (BMP or planes 15-16).

    Args:
        char: One character.

    Returns:
        True for U+E000–U+F8FF, U+F0000–U+FFFFD and U+100000–U+10FFFD.
    """
    return unicodedata.category(char) == "Co"


def _units(text: str) -> list[str]:
    """Split text into a base character followed by its variation selectors and combining marks."""
    units: list[str] = []
    for char in text:
        attaches = _is_variation_selector(char) or char in _VOICING_MARKS
        attaches = attaches or unicodedata.combining(char) != 0
        if attaches and units and units[-1][0] not in _SPACES:
            units[-1] += char
        else:
            units.append(char)
    return units


def _is_standard(unit: str) -> bool:
    if any(_is_variation_selector(c) or is_private_use(c) for c in unit):
        return False
    try:
        # The codec knows the JIS X 0213 sequences made of a kana and a combining mark (か゚).
        unit.encode("euc_jis_2004")
    except UnicodeEncodeError:
        return False
    return True


def nonstandard_chars(text: str) -> list[str]:
    """List the characters of a name that staff should review as 外字.

    A character is nonstandard when it is not in JIS X 0208/0213 (it cannot be encoded as
    EUC-JIS-2004), when it is a private use character, or when it carries a variation selector
    (IVS U+E0100–U+E01EF or VS1–VS16): the selector is reported together with its base
    character, since it asks for a specific glyph. Spaces are ignored. Each distinct item is
    listed once, in order of first appearance. Nothing is rejected or changed.

    Args:
        text: A name as entered.

    Returns:
        The nonstandard characters (each possibly with its selector or combining marks).
    """
    found: list[str] = []
    for unit in _units(text):
        if unit in _SPACES or unit in found:
            continue
        if not _is_standard(unit):
            found.append(unit)
    return found


# CJK compatibility ideographs: NFC maps most of them to a unified ideograph with a different
# glyph (U+FA19 神 → U+795E 神), which would silently change a name, so they are kept.
_COMPATIBILITY_IDEOGRAPHS = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")


def normalize_name(text: str) -> str:
    """Normalize a name to NFC, and no further.

    Never NFKC: full-width/half-width forms, IVS and private use characters are kept. CJK
    compatibility ideographs are also kept, because NFC would replace them with a different
    glyph.

    Args:
        text: A name as entered.

    Returns:
        The NFC form of `text`, compatibility ideographs preserved.
    """
    pieces = _COMPATIBILITY_IDEOGRAPHS.split(text)
    # split() with a capturing group alternates: text, kept ideographs, text, ...
    return "".join(
        piece if index % 2 else unicodedata.normalize("NFC", piece)
        for index, piece in enumerate(pieces)
    )
