"""UI translations: gettext catalogs read with Babel; `_` is imported explicitly, never a builtin.

Message ids are English. Catalogs live in `resources/i18n/<language>.po` and are read at run
time (no compile step), so a translator's edit shows up on the next start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from babel.messages.pofile import read_po

from desk.resources import resources_dir


@dataclass(frozen=True)
class Language:
    """A UI language: catalog code, the name shown in its own script, Babel locale."""

    code: str
    native_name: str
    locale: str


LANGUAGES: tuple[Language, ...] = (
    Language("ja", "日本語", "ja_JP"),
    Language("ja-easy", "やさしい にほんご", "ja_JP"),
    Language("en", "English", "en_US"),
    Language("zh-Hans", "简体中文", "zh_Hans_CN"),
    Language("ko", "한국어", "ko_KR"),
    Language("vi", "Tiếng Việt", "vi_VN"),
    Language("pt-BR", "Português", "pt_BR"),
)
DEFAULT_LANGUAGE = "ja"


def _load(code: str) -> dict[str, str]:
    path = resources_dir() / "i18n" / f"{code}.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


class _Translator:
    """Holds the active language; falls back to Japanese, then to the English message id."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}
        self.language = DEFAULT_LANGUAGE
        self._listeners: list[Callable[[str], None]] = []

    def catalog(self, code: str) -> dict[str, str]:
        if code not in self._cache:
            self._cache[code] = _load(code)
        return self._cache[code]

    def gettext(self, message: str) -> str:
        if self.language == "en":
            return message
        for code in (self.language, DEFAULT_LANGUAGE):
            translated = self.catalog(code).get(message)
            if translated:
                return translated
        return message


_translator = _Translator()


def _(message: str, **params: object) -> str:
    """Translate a message id into the active language and fill its named placeholders."""
    text = _translator.gettext(message)
    return text.format(**params) if params else text


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a string for extraction without translating it now."""
    return message


def current_language() -> str:
    """The active UI language code."""
    return _translator.language


def set_language(code: str) -> None:
    """Switch the UI language; widgets retranslate through their `retranslate_ui()`."""
    if code not in {lang.code for lang in LANGUAGES}:
        raise ValueError(code)
    _translator.language = code


def catalog_entries(code: str) -> dict[str, str]:
    """Return the translations of one language (for tests and the translation linter)."""
    return dict(_translator.catalog(code))
