"""Catalog text for the screen: the active language, with furigana shown as small readings."""

from __future__ import annotations

import html

from desk.catalog.text import LocalizedText, ruby_segments
from ui.i18n import current_language


def plain(text: LocalizedText) -> str:
    """The text in the active language without furigana (for accessible names, buttons)."""
    return text.plain(current_language())


def rich(text: LocalizedText, *, furigana: bool = True) -> str:
    """The text as Qt rich text; readings follow their kanji in small type.

    Qt's rich text has no <ruby>, so 住所 with reading じゅうしょ shows as 住所（じゅうしょ）
    in smaller type, which elderly readers found easier than nothing at all.
    """
    parts = []
    for segment in ruby_segments(text.raw(current_language())):
        parts.append(html.escape(segment.base))
        if segment.reading and furigana:
            parts.append(f"<small>（{html.escape(segment.reading)}）</small>")
    return "".join(parts)
