"""UI catalogs: every message has a Japanese translation, placeholders match everywhere."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from desk.resources import resources_dir

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted((resources_dir() / "i18n").glob("*.po"))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _used_message_ids() -> set[str]:
    return {
        str(message)
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "ui"), keywords={"_": None, "N_": None}
        )
    }


def test_all_seven_languages_have_catalogs() -> None:
    assert {p.stem for p in CATALOGS} == {"ja", "ja-easy", "zh-Hans", "ko", "vi", "pt-BR"}


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.stem)
def test_every_used_message_is_translated_with_the_same_placeholders(path: Path) -> None:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translations = {str(m.id): str(m.string) for m in catalog if m.id}
    missing = sorted(_used_message_ids() - {k for k, v in translations.items() if v})
    assert missing == []
    for message_id, text in translations.items():
        assert _placeholders(text) == _placeholders(message_id), message_id


def test_extraction_finds_the_messages() -> None:
    used = _used_message_ids()
    assert "Next" in used and "Please bring" in used
    assert not any(re.fullmatch(r"[a-z_.]+", m) for m in used), "message keys leaked into _()"
