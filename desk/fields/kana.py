"""フリガナ: conversion to full-width katakana, katakana name checks and name spacing."""

from __future__ import annotations

import re

__all__ = ["is_katakana_name", "normalize_name_spacing", "to_katakana"]

_FULL_SPACE = "\u3000"

# Half-width katakana (U+FF61–U+FF9F) to full-width, in code point order.
_HALF_TO_FULL = dict(
    zip(
        "｡｢｣､･ｦｧｨｩｪｫｬｭｮｯｰｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝﾞﾟ",
        "。「」、・ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノ"
        "ハヒフヘホマミムメモヤユヨラリルレロワン゛゜",
        strict=True,
    )
)
_HALF_VOICED = "\uff9e"  # ﾞ
_HALF_SEMI_VOICED = "\uff9f"  # ﾟ
_COMBINING_VOICED = "\u3099"
_COMBINING_SEMI_VOICED = "\u309a"
_VOICED_MARKS = (_HALF_VOICED, _COMBINING_VOICED)
_SEMI_VOICED_MARKS = (_HALF_SEMI_VOICED, _COMBINING_SEMI_VOICED)
_VOICED = dict(
    zip(
        "ウカキクケコサシスセソタチツテトハヒフヘホワヲヽ",
        "ヴガギグゲゴザジズゼゾダヂヅデドバビブベボヷヺヾ",
        strict=True,
    )
)
_SEMI_VOICED = dict(zip("ハヒフヘホ", "パピプペポ", strict=True))


def _katakana_of(char: str) -> str:
    code = ord(char)
    if 0x3041 <= code <= 0x3096 or code in (0x309D, 0x309E):  # ぁ-ゖ, ゝゞ
        return chr(code + 0x60)
    return _HALF_TO_FULL.get(char, char)


def to_katakana(text: str) -> str:
    """Convert hiragana and half-width katakana to full-width katakana.

    Voiced and semi-voiced marks are joined to the kana before them (ｶﾞ → ガ, ﾊﾟ → パ, and a
    combining mark after a full-width kana likewise); small kana stay small; spaces, ー and every
    other character are kept as entered. Nothing else is normalized.

    Args:
        text: Furigana as entered.

    Returns:
        The text in full-width katakana.
    """
    out: list[str] = []
    for char in text:
        if char in _VOICED_MARKS and out and out[-1] in _VOICED:
            out[-1] = _VOICED[out[-1]]
        elif char in _SEMI_VOICED_MARKS and out and out[-1] in _SEMI_VOICED:
            out[-1] = _SEMI_VOICED[out[-1]]
        else:
            out.append(_katakana_of(char))
    return "".join(out)


# ァ-ヺ (includes small kana, ヴ, ヵ, ヶ, ヷ-ヺ), ・, ー, and the small katakana extensions ㇰ-ㇿ.
_KATAKANA_PART = "[\u30a1-\u30fa\u30fb\u30fc\u31f0-\u31ff]+"
_KATAKANA_NAME = re.compile(f"{_KATAKANA_PART}(?:{_FULL_SPACE}{_KATAKANA_PART})*")


def is_katakana_name(text: str) -> bool:
    """Tell whether `text` is a furigana name in full-width katakana.

    Allowed: katakana including small kana and ヴ, ー, ・, and single full-width spaces between
    parts (no leading, trailing or doubled spaces, no ASCII spaces).

    Args:
        text: The name to check.

    Returns:
        True when every character is allowed and the spacing is as above.
    """
    return _KATAKANA_NAME.fullmatch(text) is not None


_SPACES = re.compile("[ \u3000]+")


def normalize_name_spacing(family: str, given: str) -> str:
    """Join family and given name with one full-width space.

    Leading and trailing spaces of each part are dropped and runs of spaces inside a part
    become one full-width space; characters are otherwise kept as entered. An empty part
    yields the other part alone.

    Args:
        family: Family name (氏).
        given: Given name (名).

    Returns:
        "氏　名".
    """
    parts = (_SPACES.sub(_FULL_SPACE, p.strip(" \u3000")) for p in (family, given))
    return _FULL_SPACE.join(p for p in parts if p)
