"""和暦: era table data, boundaries, parsing, formatting and age."""

from __future__ import annotations

import datetime
import itertools
import random
from pathlib import Path

import pytest

from desk.errors import CatalogError, FieldError
from desk.fields import wareki
from desk.fields.wareki import (
    age_on,
    era_of,
    eras,
    from_parts,
    load_eras,
    parse_wareki,
    to_wareki,
    wareki_year,
)

D = datetime.date


def test_era_table_is_loaded_from_data_in_order() -> None:
    table = eras()
    assert [e.key for e in table] == ["meiji", "taisho", "showa", "heisei", "reiwa"]
    assert [e.name for e in table] == ["明治", "大正", "昭和", "平成", "令和"]
    assert [e.initial for e in table] == ["M", "T", "S", "H", "R"]
    assert table[-1].end is None
    assert eras() is table  # cached
    for previous, current in itertools.pairwise(table):
        assert previous.end is not None
        assert current.start == previous.end + datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("last_day", "first_day", "last_text", "first_text"),
    [
        (D(1912, 7, 29), D(1912, 7, 30), "明治45年7月29日", "大正元年7月30日"),
        (D(1926, 12, 24), D(1926, 12, 25), "大正15年12月24日", "昭和元年12月25日"),
        (D(1989, 1, 7), D(1989, 1, 8), "昭和64年1月7日", "平成元年1月8日"),
        (D(2019, 4, 30), D(2019, 5, 1), "平成31年4月30日", "令和元年5月1日"),
    ],
)
def test_boundaries_round_trip(last_day: D, first_day: D, last_text: str, first_text: str) -> None:
    assert to_wareki(last_day) == last_text
    assert to_wareki(first_day) == first_text
    assert parse_wareki(last_text) == last_day
    assert parse_wareki(first_text) == first_day
    assert era_of(last_day) != era_of(first_day)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昭和64年1月7日", D(1989, 1, 7)),
        ("令和元年5月1日", D(2019, 5, 1)),
        ("令和1年5月1日", D(2019, 5, 1)),
        ("R1.5.1", D(2019, 5, 1)),
        ("r01.05.01", D(2019, 5, 1)),
        ("S64/1/7", D(1989, 1, 7)),
        ("H1-1-8", D(1989, 1, 8)),
        ("H元-1-8", D(1989, 1, 8)),
        ("昭和６４年１月７日", D(1989, 1, 7)),
        ("Ｒ７．５．１２", D(2025, 5, 12)),
        ("Ｈ１－１－８", D(1989, 1, 8)),
        (" 令和 元年 5月 1日 ", D(2019, 5, 1)),
        ("令和\u30007年\u30005月\u300012日", D(2025, 5, 12)),
        ("平成 31 年 4 月 30 日", D(2019, 4, 30)),
        ("明治6年1月1日", D(1873, 1, 1)),
        ("M45.7.29", D(1912, 7, 29)),
        ("T1.7.30", D(1912, 7, 30)),
        ("大正元年12月24日", D(1912, 12, 24)),
        ("令和7年5月12日", D(2025, 5, 12)),
        ("令和７年５月１２日", D(2025, 5, 12)),
    ],
)
def test_parse_accepts(text: str, expected: D) -> None:
    assert parse_wareki(text) == expected


@pytest.mark.parametrize(
    ("text", "era", "last"),
    [
        ("平成31年5月1日", "平成", "平成31年4月30日"),
        ("昭和65年1月1日", "昭和", "昭和64年1月7日"),
        ("昭和64年1月8日", "昭和", "昭和64年1月7日"),
        ("S64.1.8", "昭和", "昭和64年1月7日"),
        ("大正15年12月25日", "大正", "大正15年12月24日"),
        ("明治45年7月30日", "明治", "明治45年7月29日"),
    ],
)
def test_parse_rejects_dates_after_the_era(text: str, era: str, last: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_wareki(text)
    assert info.value.message_id == "wareki.out_of_era"
    assert info.value.params == {"era": era, "last": last}


@pytest.mark.parametrize(
    ("text", "era", "first"),
    [
        ("令和元年4月30日", "令和", "令和元年5月1日"),
        ("平成元年1月7日", "平成", "平成元年1月8日"),
        # Before 1873 Japan used the lunisolar calendar: not converted.
        ("明治5年12月31日", "明治", "明治6年1月1日"),
        ("明治元年10月23日", "明治", "明治6年1月1日"),
    ],
)
def test_parse_rejects_dates_before_the_era(text: str, era: str, first: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_wareki(text)
    assert info.value.message_id == "wareki.before_era"
    assert info.value.params == {"era": era, "first": first}


@pytest.mark.parametrize(
    ("text", "message_id"),
    [
        ("平成2年2月30日", "wareki.invalid_date"),
        ("令和2年13月1日", "wareki.invalid_date"),
        ("令和0年5月1日", "wareki.invalid_date"),
        ("令和2年2月0日", "wareki.invalid_date"),
        ("天保3年1月1日", "wareki.unknown_era"),
        ("X1.1.1", "wareki.unknown_era"),
        ("2019-05-01", "wareki.format"),
        ("", "wareki.format"),
        ("令和", "wareki.format"),
        ("S64/1-7", "wareki.format"),
        ("令和元年五月一日", "wareki.format"),
        ("R" + "1" * 100, "wareki.format"),
    ],
)
def test_parse_rejects_malformed(text: str, message_id: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_wareki(text)
    assert info.value.message_id == message_id


def test_errors_never_contain_the_input() -> None:
    with pytest.raises(FieldError) as info:
        parse_wareki("昭和64年1月8日")
    assert "64年1月8日" not in repr(info.value.params)
    assert "64年1月8日" not in str(info.value)


def test_era_errors_name_the_era_and_its_last_day() -> None:
    # The message the counter shows: 「平成は平成31年4月30日までです」, without the input.
    for text, era, last in (
        ("平成31年5月1日", "平成", "平成31年4月30日"),
        ("昭和65年1月1日", "昭和", "昭和64年1月7日"),
    ):
        with pytest.raises(FieldError) as info:
            parse_wareki(text)
        assert (info.value.message_id, info.value.params) == (
            "wareki.out_of_era",
            {"era": era, "last": last},
        )


def test_from_parts() -> None:
    assert from_parts("reiwa", 1, 5, 1) == D(2019, 5, 1)
    assert from_parts("showa", 64, 1, 7) == D(1989, 1, 7)
    with pytest.raises(FieldError) as info:
        from_parts("showa", 64, 1, 8)
    assert info.value.message_id == "wareki.out_of_era"
    with pytest.raises(FieldError) as info:
        from_parts("tenpo", 1, 1, 1)
    assert info.value.message_id == "wareki.unknown_era"
    with pytest.raises(FieldError) as info:
        from_parts("reiwa", 9_000, 1, 1)
    assert info.value.message_id == "wareki.invalid_date"


def test_to_wareki_uses_gannen_and_ascii_digits() -> None:
    assert to_wareki(D(2019, 5, 1)) == "令和元年5月1日"
    assert to_wareki(D(2020, 1, 1)) == "令和2年1月1日"
    assert to_wareki(D(1873, 1, 1)) == "明治6年1月1日"
    with pytest.raises(FieldError) as info:
        to_wareki(D(1872, 12, 31))
    assert info.value.message_id == "wareki.before_supported"


def test_wareki_year() -> None:
    era, year = wareki_year(D(1989, 1, 7))
    assert (era.key, year) == ("showa", 64)
    era, year = wareki_year(D(1989, 1, 8))
    assert (era.key, year) == ("heisei", 1)
    assert wareki_year(D(1912, 7, 29))[1] == 45


def test_round_trip_on_random_days() -> None:
    rng = random.Random(20190501)
    start = D(1873, 1, 1).toordinal()
    end = D(2100, 12, 31).toordinal()
    for _ in range(2_000):
        day = D.fromordinal(rng.randint(start, end))
        assert parse_wareki(to_wareki(day)) == day
        era, year = wareki_year(day)
        assert from_parts(era.key, year, day.month, day.day) == day


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (D(2000, 5, 12), D(2025, 5, 11), 24),
        (D(2000, 5, 12), D(2025, 5, 12), 25),
        (D(2000, 5, 12), D(2000, 5, 12), 0),
        (D(2000, 2, 29), D(2001, 2, 28), 0),
        (D(2000, 2, 29), D(2001, 3, 1), 1),
        (D(2000, 2, 29), D(2004, 2, 29), 4),
        (D(1959, 12, 31), D(2025, 1, 1), 65),
    ],
)
def test_age_on_counts_completed_years(birth: D, on: D, age: int) -> None:
    assert age_on(birth, on) == age


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(FieldError) as info:
        age_on(D(2000, 1, 2), D(2000, 1, 1))
    assert info.value.message_id == "age.before_birth"


def test_fuzzed_text_gives_field_errors_only() -> None:
    rng = random.Random(7)
    alphabet = "0123456789０１２３元年月日明治大正昭和平成令和MTSHRr./-－ 　ｰ天X"
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        try:
            result = parse_wareki(text)
        except FieldError:
            continue
        assert isinstance(result, D)


_VALID = """\
schema_version: 1
eras:
  - {key: a, name: 甲, initial: A, start: 2000-01-01, end: 2000-12-31}
  - {key: b, name: 乙, initial: B, start: 2001-01-01, end: null}
"""


def test_load_eras_reads_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "eras.yaml"
    path.write_text(_VALID, encoding="utf-8")
    table = load_eras(path)
    assert [e.key for e in table] == ["a", "b"]
    assert table[0].supported_from == D(2000, 1, 1)


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        (_VALID.replace("schema_version: 1", "schema_version: 2"), "schema_version"),
        (_VALID.replace("start: 2001-01-01", "start: 2001-01-02"), "eras[1].start"),
        (_VALID.replace("initial: B", "initial: bb"), "eras[1].initial"),
        (_VALID.replace("start: 2000-01-01", "start: '2000-01-01'"), "eras[0].start"),
        (_VALID.replace("key: b", "key: a"), "eras[1]"),
        (_VALID.replace("end: 2000-12-31", "end: null"), "eras[1].start"),
        ("eras: [", ""),
        ("schema_version: 1\neras: []\n", "eras"),
    ],
)
def test_load_eras_names_file_key_path_and_expectation(
    tmp_path: Path, text: str, key_path: str
) -> None:
    path = tmp_path / "eras.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_eras(path)
    assert info.value.params["file"] == str(path)
    assert info.value.params["key_path"] == key_path
    assert info.value.params["expected"]


def test_bundled_table_is_the_one_in_resources() -> None:
    from desk.resources import resources_dir

    assert load_eras(resources_dir() / "data" / "eras.yaml") == wareki.eras()
