"""個人番号: check digit against an independent implementation, digit folding, no echo in errors."""

from __future__ import annotations

import random

import pytest

from desk.errors import FieldError
from desk.fields.mynumber import check_digit, is_valid, masked, normalize_digits, parse


def _reference_is_valid(number: str) -> bool:
    """The check digit as the ordinance defines it: P_n counted from the right, next to the check.

    Q_n = n + 1 for 1 ≤ n ≤ 6 and n − 5 for 7 ≤ n ≤ 11; check = 0 when the remainder of
    Σ P_n × Q_n by 11 is ≤ 1, else 11 − remainder.
    """
    if len(number) != 12 or any(c not in "0123456789" for c in number):
        return False
    body = number[:11]
    total = 0
    for n in range(1, 12):
        p = int(body[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    expected = 0 if remainder <= 1 else 11 - remainder
    return int(number[11]) == expected


@pytest.mark.parametrize("number", ["621498320257", "111111111118"])
def test_known_valid_numbers(number: str) -> None:
    assert is_valid(number)
    assert _reference_is_valid(number)


def test_full_width_digits_are_folded() -> None:
    assert is_valid("６２１４９８３２０２５７")
    assert parse("６２１４９８３２０２５７") == "621498320257"
    assert normalize_digits("〒１２３ab４") == "〒123ab4"


def test_group_separators_are_accepted() -> None:
    assert parse("6214 9832 0257") == "621498320257"
    assert parse("6214-9832-0257") == "621498320257"
    assert parse("６２１４　９８３２　０２５７") == "621498320257"


@pytest.mark.parametrize(
    "text",
    [
        "621498320258",
        "62149832025",
        "6214983202570",
        "",
        "abcdefghijkl",
        "６２１４９８３２０２５８",
        "٦٢١٤٩٨٣٢٠٢٥٧",
        "62149832025７x",
    ],
)
def test_invalid_numbers(text: str) -> None:
    assert not is_valid(text)


def test_agrees_with_reference_on_random_inputs() -> None:
    rng = random.Random(12345)
    valid_seen = 0
    for _ in range(100_000):
        number = "".join(rng.choice("0123456789") for _ in range(12))
        expected = _reference_is_valid(number)
        valid_seen += expected
        assert is_valid(number) == expected
    assert valid_seen > 5_000  # about 1 in 10 random numbers is valid


def test_every_body_has_exactly_one_valid_check_digit() -> None:
    rng = random.Random(99)
    for _ in range(10_000):
        body = "".join(rng.choice("0123456789") for _ in range(11))
        valid = [d for d in "0123456789" if is_valid(body + d)]
        assert valid == [str(check_digit(body))]


@pytest.mark.parametrize(
    ("text", "message_id"),
    [("621498320258", "mynumber.check_digit"), ("6214983202", "mynumber.format")],
)
def test_errors_never_echo_the_input(text: str, message_id: str) -> None:
    with pytest.raises(FieldError) as info:
        parse(text)
    assert info.value.message_id == message_id
    assert info.value.params == {}
    assert text not in str(info.value)
    assert text not in repr(info.value)


def test_full_width_input_is_not_echoed_either() -> None:
    text = "６２１４９８３２０２５８"
    with pytest.raises(FieldError) as info:
        parse(text)
    assert info.value.message_id == "mynumber.check_digit"
    for shown in (str(info.value), repr(info.value), repr(info.value.params)):
        assert text not in shown
        assert "621498320258" not in shown


def test_masked_shows_only_the_last_four_digits() -> None:
    assert masked("621498320257") == "********0257"
    with pytest.raises(FieldError):
        masked("621498320258")
