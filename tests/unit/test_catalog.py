"""The catalog: every shipped file loads and lints clean; broken files say where and what."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.catalog.lint import lint, stats
from desk.catalog.loader import default_catalog_dir, load_catalog, read_catalog
from desk.catalog.text import LocalizedText, ruby_segments, strip_ruby
from desk.errors import CatalogError
from ui.cli import main

CATALOG = default_catalog_dir()
CATALOG_FILES = sorted(CATALOG.rglob("*.yaml"))
PROBLEMS = lint(CATALOG)


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: p.relative_to(CATALOG).as_posix())
def test_every_catalog_file_loads_and_lints_clean(path: Path) -> None:
    name = path.relative_to(CATALOG).as_posix()
    assert [str(p) for p in PROBLEMS if p.file == name] == []


def test_the_shipped_catalog_has_no_problem_at_all() -> None:
    assert [str(p) for p in PROBLEMS] == []
    load_catalog()  # strict loading agrees


def test_stats_count_what_the_files_hold(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "stats", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    catalog = load_catalog()
    assert figures == stats(catalog)
    assert figures["procedures"] == len(list(CATALOG.rglob("*.yaml"))) - len(
        list((CATALOG / "items").glob("*.yaml"))) - len(
        list((CATALOG / "life-events").glob("*.yaml"))) - 1  # minus business-areas.yaml
    assert figures["procedures"] >= 30
    assert figures["business_areas"] >= 15
    assert figures["life_events"] == 8
    assert {"ja", "ja-easy", "en", "zh-Hans", "ko", "vi", "pt-BR"} <= set(figures["languages"])


def test_every_business_area_id_is_one_of_the_twenty() -> None:
    catalog = load_catalog()
    assert len(catalog.business_areas) == 20
    assert {p.business_area for p in catalog.procedures.values()} <= set(catalog.business_areas)


def test_mynumber_only_in_counter_only_procedures() -> None:
    for procedure in load_catalog().procedures.values():
        kinds = {i.type for s in procedure.steps for i in s.items}
        kinds |= {i.type for s in procedure.steps for m in s.members for i in m.items}
        if "mynumber" in kinds:
            assert procedure.channels == ("counter",), procedure.id


# -- broken catalogs ---------------------------------------------------------------------------

AREAS = "schema_version: 1\nareas:\n  koseki: {ja: 戸籍, en: Family register}\n"
ITEMS = """schema_version: 1
items:
  shimei:
    type: name
    label: {ja: 氏名, ja-easy: "{名前|なまえ}", en: Name}
  seinengappi:
    type: date
    label: {ja: 生年月日, ja-easy: "{生|う}まれた {日|ひ}", en: Date of birth}
  x_kodomo:
    type: group
    members: [shimei, seinengappi]
    label: {ja: 子, ja-easy: "{子|こ}ども", en: Children}
  kojin_bango:
    type: mynumber
    label: {ja: 個人番号, ja-easy: マイナンバー, en: My Number}
"""
GOOD = """schema_version: 1
id: todoke
business_area: koseki
form_name: 届
channels: [kiosk]
identity_check: false
title: {ja: 届, ja-easy: とどけ, en: Notice}
declaration: {ja: 宣言, ja-easy: はい, en: I declare}
steps:
  - id: shimei
    item: shimei
    question: {ja: 名前, ja-easy: なまえ, en: Name}
"""


def _catalog(tmp_path: Path, procedure: str = GOOD, items: str = ITEMS,
             event: str | None = None) -> Path:
    (tmp_path / "items").mkdir(parents=True)
    (tmp_path / "business-areas.yaml").write_text(AREAS, encoding="utf-8")
    (tmp_path / "items" / "a.yaml").write_text(items, encoding="utf-8")
    (tmp_path / "koseki").mkdir()
    (tmp_path / "koseki" / "todoke.yaml").write_text(procedure, encoding="utf-8")
    if event is not None:
        (tmp_path / "life-events").mkdir()
        (tmp_path / "life-events" / "e.yaml").write_text(event, encoding="utf-8")
    return tmp_path


def _errors(folder: Path) -> list[str]:
    return [str(p) for p in lint(folder) if p.severity == "error"]


def test_a_minimal_catalog_is_clean(tmp_path: Path) -> None:
    assert [str(p) for p in lint(_catalog(tmp_path))] == []


def test_unknown_item_names_file_line_and_key(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD.replace("item: shimei", "item: no_such_item"))
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    params = raised.value.params
    assert params["file"] == "koseki/todoke.yaml"
    assert params["key"] == "steps[0].item"
    assert params["line"] == 11
    assert "no_such_item" in params["expected"]
    assert _errors(folder) == [
        "koseki/todoke.yaml:11: steps[0].item: expected an item of the data dictionary "
        "(`no_such_item` is not)"
    ]


def test_missing_japanese_text_is_refused(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD.replace("title: {ja: 届, ja-easy: とどけ, en: Notice}",
                                             "title: {en: Title only}"))
    assert _errors(folder) == ["koseki/todoke.yaml:7: title: expected a Japanese text under "
                               "`ja` (every other language falls back to it)"]


def test_a_rule_syntax_error_gives_its_column(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + "    when: \"age(seinengappi >= 65\"\n")
    (error,) = _errors(folder)
    assert error.startswith("koseki/todoke.yaml:13: steps[0].when: expected a valid rule: ")
    assert "column" in error


def test_a_rule_about_an_unknown_item_is_an_error(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + "    when: \"x_nothing == 'a'\"\n")
    assert any("steps[0].when" in e and "x_nothing" in e for e in _errors(folder))


def test_age_of_something_that_is_not_a_date_is_an_error(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + "    when: \"age(shimei) >= 65\"\n")
    assert any("steps[0].when" in e and "shimei" in e for e in _errors(folder))


def test_a_step_that_can_never_be_shown_is_reported(tmp_path: Path) -> None:
    later = GOOD.replace("""  - id: shimei
    item: shimei
""", """  - id: shimei
    item: shimei
    when: "age(seinengappi) >= 20"
""") + """  - id: seinengappi
    item: seinengappi
    question: {ja: 生年月日, ja-easy: "{生|う}まれた {日|ひ}", en: Date of birth}
"""
    errors = _errors(_catalog(tmp_path, later))
    assert len(errors) == 1
    assert errors[0].startswith("koseki/todoke.yaml:12: steps[0].when: expected a rule that "
                                "can hold")


def test_a_constant_false_rule_is_unreachable(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + "    when: \"1 > 2\"\n")
    assert any("never shown" in e for e in _errors(folder))


def test_missing_translations_are_warnings(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD.replace("question: {ja: 名前, ja-easy: なまえ, en: Name}",
                                             "question: {ja: 名前}"))
    problems = lint(folder)
    assert [str(p) for p in problems] == [
        "koseki/todoke.yaml:12: warning: steps[0].question: expected translations in en, ja-easy "
        "(Japanese is shown meanwhile)"
    ]
    assert main(["catalog", "lint", str(folder)]) == 0
    assert main(["catalog", "lint", "--strict", str(folder)]) == 1


def test_easy_japanese_without_furigana_is_a_warning(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD.replace("ja-easy: なまえ", "ja-easy: 名前"))
    (problem,) = lint(folder)
    assert problem.severity == "warning" and "名前" in problem.expected


def test_an_event_requires_its_languages_for_its_procedures(tmp_path: Path) -> None:
    event = """schema_version: 1
id: e
title: {ja: できごと, ja-easy: できごと, en: Event, vi: Sự kiện}
translations: [vi]
questions:
  - id: seinengappi
    item: seinengappi
    question: {ja: 生年月日, ja-easy: "{生|う}まれた {日|ひ}", en: Born, vi: Ngày sinh}
procedures:
  - procedure: todoke
    when: "age(seinengappi) >= 18"
"""
    problems = [str(p) for p in lint(_catalog(tmp_path, event=event))]
    assert "koseki/todoke.yaml:7: warning: title: expected translations in vi (Japanese is shown " \
           "meanwhile)" in problems
    assert any(p.startswith("items/a.yaml") and "items.seinengappi.label" in p and "vi" in p
               for p in problems)


def test_an_event_rule_must_use_its_own_questions(tmp_path: Path) -> None:
    event = """schema_version: 1
id: e
title: {ja: できごと, ja-easy: できごと, en: Event}
questions:
  - id: shimei
    item: shimei
    question: {ja: 名前, ja-easy: なまえ, en: Name}
procedures:
  - procedure: todoke
    when: "age(seinengappi) >= 18"
  - procedure: nothing
"""
    errors = _errors(_catalog(tmp_path, event=event))
    assert any("life-events/e.yaml:10: procedures[0].when" in e and "seinengappi" in e
               for e in errors)
    assert any("life-events/e.yaml:11: procedures[1].procedure" in e and "nothing" in e
               for e in errors)


def test_mynumber_outside_the_counter_is_refused(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + """  - id: bango
    item: kojin_bango
    question: {ja: 番号, ja-easy: ばんごう, en: Number}
""")
    assert any("steps[1].item" in e and "個人番号" in e for e in _errors(folder))


def test_a_group_step_may_only_ask_members(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + """  - id: kodomo
    group: x_kodomo
    question: {ja: 何人, ja-easy: なんにん, en: How many}
    steps:
      - id: bango
        item: kojin_bango
        question: {ja: 番号, ja-easy: ばんごう, en: Number}
""")
    assert any("steps[1].steps[0].item" in e for e in _errors(folder))


def test_an_item_defined_twice_is_an_error(tmp_path: Path) -> None:
    folder = _catalog(tmp_path)
    (folder / "items" / "b.yaml").write_text(
        "schema_version: 1\nitems:\n  shimei: {type: text, label: {ja: 名}}\n", encoding="utf-8")
    assert any(e.startswith("items/b.yaml:3: items.shimei") for e in _errors(folder))


def test_lint_reports_every_problem_not_only_the_first(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD.replace("channels: [kiosk]", "channels: [kiosk]\n")
                      + """  - id: a
    item: nothing_a
    question: {ja: あ}
  - id: b
    item: nothing_b
    question: {ja: い}
""")
    errors = _errors(folder)
    assert len(errors) == 2 and "nothing_a" in errors[0] and "nothing_b" in errors[1]


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, GOOD + "  - id: [unclosed\n")
    assert _errors(folder) == [
        "koseki/todoke.yaml:14: expected valid YAML (did not find expected ',' or ']')"]


def test_lint_cli_exits_1_with_precise_messages(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = _catalog(tmp_path, GOOD.replace("item: shimei", "item: no_such_item"))
    assert main(["catalog", "lint", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "koseki/todoke.yaml:11: steps[0].item: expected an item" in out


def test_lint_cli_passes_on_the_shipped_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "lint", "--strict"]) == 0
    assert capsys.readouterr().out == ""


# -- fuzzing: never a crash, always a clear problem ---------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                     st.sampled_from(["shimei", "seinengappi", "x_kodomo", "koseki", "kiosk",
                                      "age(seinengappi) >= 1", "count(x_kodomo) > 0"]))
_keys = st.sampled_from(["schema_version", "id", "business_area", "form_name", "channels",
                         "identity_check", "title", "declaration", "steps", "item", "items",
                         "group", "question", "help", "when", "checks", "rule", "message",
                         "ja", "en", "options", "value", "label", "documents_to_bring", "text",
                         "unknown_allowed", "postal_item", "form_version", "members", "type"])
_yaml_data = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_keys, inner, max_size=6)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=_yaml_data)
def test_fuzzed_procedure_files_give_problems_never_crashes(tmp_path: Path, data: object) -> None:
    folder = tmp_path / "fuzz"
    if not folder.exists():
        _catalog(folder)
    if isinstance(data, dict):
        data = {"schema_version": 1, **data}
    (folder / "koseki" / "todoke.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                   encoding="utf-8")
    reading = read_catalog(folder)
    problems = lint(folder)
    assert all(p.file and p.line >= 1 for p in problems)
    if reading.errors:
        with pytest.raises(CatalogError):
            load_catalog(folder)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.text(max_size=200))
def test_fuzzed_raw_text_gives_problems_never_crashes(tmp_path: Path, text: str) -> None:
    folder = tmp_path / "fuzz"
    if not folder.exists():
        _catalog(folder)
    (folder / "koseki" / "todoke.yaml").write_text(text, encoding="utf-8")
    for problem in lint(folder):
        assert problem.file and problem.line >= 1


# -- text ---------------------------------------------------------------------------------------


def test_missing_language_falls_back_to_japanese() -> None:
    text = LocalizedText({"ja": "氏名", "en": "Name"})
    assert text.plain("vi") == "氏名"
    assert text.has("en") and not text.has("vi")


def test_ruby_markup() -> None:
    marked = "{住所|じゅうしょ}を かいて"
    assert strip_ruby(marked) == "住所を かいて"
    segments = ruby_segments(marked)
    assert segments[0].base == "住所" and segments[0].reading == "じゅうしょ"
    assert segments[1].reading is None
