"""Properties of the field types: 和暦 round trips, kana conversion laws, 個人番号 check digit."""

from __future__ import annotations

import datetime
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.fields.kana import to_katakana
from desk.fields.mynumber import is_valid
from desk.fields.wareki import eras, parse_wareki, to_wareki

D = datetime.date

# No example database: a run leaves no .hypothesis/ folder in the working tree, and a failure
# is reported with its falsifying example (and a @reproduce_failure blob) instead.
PROPERTY = settings(database=None, deadline=None, max_examples=500)

# The era boundaries as japan.md states them, written out here rather than read from
# eras.yaml, so the round trip is checked against the rule and not against the data itself.
ERA_RANGES = {
    "大正": (D(1912, 7, 30), D(1926, 12, 24)),
    "昭和": (D(1926, 12, 25), D(1989, 1, 7)),
    "平成": (D(1989, 1, 8), D(2019, 4, 30)),
    "令和": (D(2019, 5, 1), D.max),
}
FIRST = D(1912, 7, 30)
LAST = D(2100, 12, 31)


# ---------------------------------------------------------------------------------------------
# 和暦


def test_wareki_round_trip_for_every_day() -> None:
    day = FIRST
    one = datetime.timedelta(days=1)
    count = 0
    while day <= LAST:
        text = to_wareki(day)
        assert parse_wareki(text) == day, day
        era_name = text[:2]
        start, end = ERA_RANGES[era_name]
        assert start <= day <= end, (day, text)
        year = day.year - start.year + 1
        year_text = "元" if year == 1 else str(year)
        assert text == f"{era_name}{year_text}年{day.month}月{day.day}日"
        count += 1
        day += one
    assert count == (LAST - FIRST).days + 1 == 68_821


FULL_WIDTH = str.maketrans({**{str(i): chr(0xFF10 + i) for i in range(10)}, ".": "．", "/": "／"})


@PROPERTY
@given(
    day=st.dates(min_value=FIRST, max_value=LAST),
    separator=st.sampled_from([".", "/", "-"]),
    zero_pad=st.booleans(),
    lower_case=st.booleans(),
    full_width=st.booleans(),
)
def test_wareki_short_forms(
    day: D, separator: str, zero_pad: bool, lower_case: bool, full_width: bool
) -> None:
    (era,) = [e for e in eras() if e.contains(day)]
    year = day.year - era.start.year + 1
    width = 2 if zero_pad else 1
    parts = [f"{n:0{width}d}" for n in (year, day.month, day.day)]
    text = (era.initial.lower() if lower_case else era.initial) + separator.join(parts)
    if full_width:
        text = text.translate(FULL_WIDTH)
    assert parse_wareki(text) == day


# ---------------------------------------------------------------------------------------------
# Kana

HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))  # ぁ-ゖ
HALF_WIDTH_KATAKANA = "".join(chr(c) for c in range(0xFF61, 0xFFA0))  # ｡-ﾟ
MARKS = "\u3099\u309a\u309b\u309c\uff9e\uff9f"  # combining, spacing and half-width (semi-)voiced
KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30FF))  # ァ-ヾ, including ・ and ー
SMALL = frozenset(
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿｧｨｩｪｫｬｭｮｯ"
)
# Everything the conversion looks at, mixed with any other character.
kana_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(HIRAGANA + HALF_WIDTH_KATAKANA + MARKS + KATAKANA + "ゝゞ　 "),
        st.characters(),
    ),
    max_size=30,
)


@PROPERTY
@given(kana_text)
def test_to_katakana_is_idempotent(text: str) -> None:
    once = to_katakana(text)
    assert to_katakana(once) == once


@PROPERTY
@given(kana_text)
def test_to_katakana_never_lengthens(text: str) -> None:
    assert len(to_katakana(text)) <= len(text)


def test_each_hiragana_maps_to_its_own_katakana() -> None:
    converted = [to_katakana(c) for c in HIRAGANA]
    assert converted == [chr(ord(c) + 0x60) for c in HIRAGANA]
    assert len(set(converted)) == len(HIRAGANA) == 86  # one to one
    assert converted[0] == "ァ"
    assert converted[-1] == "ヶ"


@PROPERTY
@given(st.text(alphabet=HIRAGANA, max_size=30))
def test_hiragana_text_maps_character_by_character(text: str) -> None:
    out = to_katakana(text)
    assert len(out) == len(text)
    assert out == "".join(chr(ord(c) + 0x60) for c in text)


# Characters to_katakana changes: hiragana (and ゝゞ), half-width katakana, and the marks that
# combine with the kana before them. Everything else must come out as it went in.
CHANGED = frozenset(HIRAGANA + HALF_WIDTH_KATAKANA + "ゝゞ\u3099\u309a")
unchanged_text = st.text(
    alphabet=st.one_of(st.sampled_from(KATAKANA + "　 ㇰㇿ"), st.characters()).filter(
        lambda c: c not in CHANGED
    ),
    max_size=30,
)


@PROPERTY
@given(unchanged_text)
def test_katakana_and_other_characters_are_unchanged(text: str) -> None:
    assert to_katakana(text) == text


@PROPERTY
@given(kana_text)
def test_small_kana_stay_small(text: str) -> None:
    out = to_katakana(text)
    assert sum(c in SMALL for c in out) == sum(c in SMALL for c in text)
    assert all(to_katakana(c) in SMALL for c in SMALL)


# ---------------------------------------------------------------------------------------------
# 個人番号


def reference_check_digit(first_eleven: str) -> int:
    """The check digit from the published rule, independent of desk.fields.mynumber.

    P_n is the n-th digit counting from the right, not counting the check digit; Q_n = n + 1
    for 1 ≤ n ≤ 6 and n − 5 for 7 ≤ n ≤ 11. With r = Σ P_n × Q_n mod 11 the check digit is
    0 when r ≤ 1 and 11 − r otherwise.
    """
    total = 0
    for n, digit in enumerate(reversed(first_eleven), start=1):
        q = n + 1 if n <= 6 else n - 5
        total += int(digit) * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def reference_is_valid(number: str) -> bool:
    if len(number) != 12 or not all("0" <= c <= "9" for c in number):
        return False
    return reference_check_digit(number[:11]) == int(number[11])


def _wrong_weights_is_valid(number: str) -> bool:
    # A plausible mistake (Q_n = n + 1 for every n): it must disagree with is_valid somewhere,
    # which shows the comparison below can catch a wrong check digit.
    total = sum(int(d) * (n + 1) for n, d in enumerate(reversed(number[:11]), start=1))
    remainder = total % 11
    return int(number[11]) == (0 if remainder <= 1 else 11 - remainder)


def test_reference_on_known_numbers() -> None:
    assert reference_is_valid("621498320257")
    assert is_valid("621498320257")
    for invalid in ("621498320258", "621498320250", "621498320275", "62149832025"):
        assert not reference_is_valid(invalid)
        assert not is_valid(invalid)


TO_FULL_WIDTH = str.maketrans({str(i): chr(0xFF10 + i) for i in range(10)})


def test_is_valid_agrees_with_reference_on_100k_numbers() -> None:
    rng = random.Random(20151005)  # 個人番号 were first notified in October 2015
    valid = disagreements_with_wrong_rule = 0
    for index in range(100_000):
        number = "".join(rng.choices("0123456789", k=12))
        expected = reference_is_valid(number)
        # Every tenth number is given in full-width digits, which is_valid must fold.
        typed = number.translate(TO_FULL_WIDTH) if index % 10 == 0 else number
        assert is_valid(typed) == expected, number
        valid += expected
        disagreements_with_wrong_rule += _wrong_weights_is_valid(number) != expected
    assert 8_000 < valid < 10_500  # one body in ten has the right check digit
    assert disagreements_with_wrong_rule > 1_000


@settings(database=None, deadline=None, max_examples=2_000)
@given(
    body=st.text(alphabet="0123456789", min_size=11, max_size=11),
    check=st.sampled_from("0123456789"),
)
def test_is_valid_agrees_with_reference_hypothesis(body: str, check: str) -> None:
    number = body + check
    assert is_valid(number) == reference_is_valid(number)
    assert is_valid(number.translate(TO_FULL_WIDTH)) == reference_is_valid(number)
    assert is_valid(body + str(reference_check_digit(body)))


@PROPERTY
@given(st.text(alphabet="0123456789", max_size=14).filter(lambda s: len(s) != 12))
def test_wrong_length_is_never_valid(text: str) -> None:
    assert not is_valid(text)
