"""The catalog loader: every shipped file loads, and broken files say where and what."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.catalog.loader import ITEMS_FILE, load_catalog, load_items, load_procedure
from desk.catalog.text import LocalizedText, ruby_segments, strip_ruby
from desk.errors import CatalogError
from desk.resources import resources_dir

CATALOG = resources_dir() / "procedures"
PROCEDURE_FILES = sorted(p for p in CATALOG.glob("*.yaml") if p.name != ITEMS_FILE)


@pytest.mark.parametrize("path", PROCEDURE_FILES, ids=lambda p: p.name)
def test_every_procedure_file_loads(path: Path) -> None:
    procedure = load_procedure(path, load_items(CATALOG / ITEMS_FILE))
    assert procedure.steps
    for step in procedure.steps:
        assert step.question.has("ja") and step.question.has("en")


def test_catalog_has_the_certificate_procedure() -> None:
    procedure = load_catalog().procedure("juminhyo-utsushi")
    assert [s.id for s in procedure.steps][:3] == ["shimei", "shimei_furigana", "seinengappi"]
    assert procedure.identity_check is True
    assert "kiosk" in procedure.channels


def _broken(tmp_path: Path, text: str) -> Path:
    (tmp_path / ITEMS_FILE).write_text((CATALOG / ITEMS_FILE).read_text(encoding="utf-8"),
                                       encoding="utf-8")
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_item_names_file_line_and_key(tmp_path: Path) -> None:
    _broken(tmp_path, """schema_version: 1
id: x
business_area: koseki
form_name: 届
channels: [kiosk]
identity_check: false
title: {ja: 題}
declaration: {ja: 宣言}
steps:
  - id: a
    item: no_such_item
    question: {ja: 質問}
""")
    with pytest.raises(CatalogError) as raised:
        load_catalog(tmp_path)
    params = raised.value.params
    assert params["file"] == "broken.yaml"
    assert params["key"] == "steps[0].item"
    assert params["line"] == 11
    assert "no_such_item" in params["expected"]


def test_missing_japanese_text_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, """schema_version: 1
id: x
business_area: koseki
form_name: 届
channels: [kiosk]
identity_check: false
title: {en: Title only}
steps:
  - {id: a, item: shimei, question: {ja: 質問}}
""")
    with pytest.raises(CatalogError) as raised:
        load_procedure(path, load_items(tmp_path / ITEMS_FILE))
    assert raised.value.params["key"] == "title"
    assert raised.value.params["line"] == 7


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "schema_version: 1\nsteps: [\n")
    with pytest.raises(CatalogError) as raised:
        load_procedure(path, load_items(tmp_path / ITEMS_FILE))
    assert raised.value.message_id == "catalog.syntax"
    assert raised.value.params["line"] >= 2


def test_wrong_schema_version_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, "schema_version: 99\n")
    with pytest.raises(CatalogError) as raised:
        load_procedure(path, load_items(tmp_path / ITEMS_FILE))
    assert raised.value.params["key"] == "schema_version"


def test_furigana_markup() -> None:
    text = "{住所|じゅうしょ}を かいてください"
    assert strip_ruby(text) == "住所を かいてください"
    segments = ruby_segments(text)
    assert (segments[0].base, segments[0].reading) == ("住所", "じゅうしょ")
    assert segments[1].reading is None


def test_missing_language_falls_back_to_japanese() -> None:
    text = LocalizedText({"ja": "氏名", "en": "Name"})
    assert text.plain("vi") == "氏名"
    assert not text.has("vi")
