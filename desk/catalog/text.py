"""Localized catalog text: per-language strings with Japanese fallback and furigana markup."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FALLBACK_LANGUAGE = "ja"

# Furigana markup in catalog text: {漢字|かんじ}. The UI may show it as ruby or drop the reading.
_RUBY = re.compile(r"\{([^{}|]+)\|([^{}|]+)\}")


@dataclass(frozen=True)
class RubySegment:
    """A piece of text, with its reading when the catalog gave one."""

    base: str
    reading: str | None = None


@dataclass(frozen=True)
class LocalizedText:
    """One string in several languages; a missing language falls back to Japanese."""

    values: dict[str, str] = field(default_factory=dict)

    def raw(self, language: str) -> str:
        """Return the text in `language` (or Japanese), markup included."""
        return self.values.get(language) or self.values.get(FALLBACK_LANGUAGE, "")

    def plain(self, language: str) -> str:
        """Return the text in `language` with furigana markup removed."""
        return strip_ruby(self.raw(language))

    def has(self, language: str) -> bool:
        """Say whether the catalog has this text in `language` itself (no fallback)."""
        return bool(self.values.get(language))


def strip_ruby(text: str) -> str:
    """Remove furigana markup, keeping the base text: ``{住所|じゅうしょ}`` → ``住所``."""
    return _RUBY.sub(lambda m: m.group(1), text)


def ruby_segments(text: str) -> list[RubySegment]:
    """Split marked-up text into plain pieces and pieces with readings."""
    segments: list[RubySegment] = []
    position = 0
    for match in _RUBY.finditer(text):
        if match.start() > position:
            segments.append(RubySegment(text[position : match.start()]))
        segments.append(RubySegment(match.group(1), match.group(2)))
        position = match.end()
    if position < len(text):
        segments.append(RubySegment(text[position:]))
    return segments


def without_ruby(text: str) -> str:
    """Drop the marked-up pieces entirely: what is left has no reading (for the linter)."""
    return _RUBY.sub("", text)
