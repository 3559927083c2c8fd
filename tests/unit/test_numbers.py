"""Numbers: full-width digits, thousands separators, sign, decimals and range."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desk.errors import FieldError
from desk.fields.numbers import parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        ("１２３", 123),
        ("1,234", 1234),
        ("１，２３４，５６７", 1234567),
        ("12,345,678", 12345678),
        (" 1000\u3000", 1000),
        ("9" * 60, int("9" * 60)),
    ],
)
def test_whole_numbers(text: str, expected: int) -> None:
    result = parse_number(text)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "1,23",
        "12,34",
        "1234,567",
        ",123",
        "1,234,",
        "1,,234",
        "1.5",  # decimals=0
        "+5",
        "1 000",
        "1e3",
        "0x10",
        "٣",
        "1" * 65,
        "-",
    ],
)
def test_malformed_numbers(text: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_number(text)
    assert info.value.message_id == "number.format"
    assert info.value.params == {}


@pytest.mark.parametrize("minimum", [None, 0, 1, Decimal("0.0")])
def test_minus_only_when_minimum_is_negative(minimum: int | Decimal | None) -> None:
    with pytest.raises(FieldError) as info:
        parse_number("-5", minimum=minimum)
    assert info.value.message_id == "number.format"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-5", -5), ("－５", -5), ("−1,000", -1000), ("ー３", -3), ("-0", 0), ("5", 5)],
)
def test_negative_numbers(text: str, expected: int) -> None:
    assert parse_number(text, minimum=-10_000) == expected


@pytest.mark.parametrize(
    ("text", "decimals", "expected"),
    [
        ("1.5", 1, Decimal("1.5")),
        ("1.5", 2, Decimal("1.50")),
        ("1", 2, Decimal("1.00")),
        ("１，２３４．５", 1, Decimal("1234.5")),
        ("0.05", 2, Decimal("0.05")),
        ("1" * 60 + ".25", 2, Decimal("1" * 60 + ".25")),
    ],
)
def test_decimals(text: str, decimals: int, expected: Decimal) -> None:
    result = parse_number(text, decimals=decimals)
    assert isinstance(result, Decimal)
    assert result == expected
    assert result.as_tuple().exponent == -decimals  # exactly `decimals` places


def test_negative_zero_decimal_is_plain_zero() -> None:
    result = parse_number("-0.0", minimum=-1, decimals=1)
    assert result == 0
    assert str(result) == "0.0"


@pytest.mark.parametrize("text", ["1.234", ".5", "1.", "1..5", "1.2.3", "1,234.5,6"])
def test_malformed_decimals(text: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_number(text, decimals=2)
    assert info.value.message_id == "number.format"


@pytest.mark.parametrize(
    ("text", "minimum", "maximum", "decimals"),
    [
        ("0", 1, 10, 0),
        ("11", 1, 10, 0),
        ("1,001", None, 1000, 0),
        ("-11", -10, None, 0),
        ("10.01", None, Decimal("10.00"), 2),
    ],
)
def test_out_of_range(
    text: str, minimum: int | None, maximum: int | Decimal | None, decimals: int
) -> None:
    with pytest.raises(FieldError) as info:
        parse_number(text, minimum=minimum, maximum=maximum, decimals=decimals)
    assert info.value.message_id == "number.range"
    assert info.value.params == {"min": minimum, "max": maximum}


def test_bounds_are_inclusive() -> None:
    assert parse_number("1", minimum=1, maximum=10) == 1
    assert parse_number("10", minimum=1, maximum=10) == 10
    assert parse_number("-10", minimum=-10, maximum=0) == -10
    assert parse_number("10.00", maximum=Decimal(10), decimals=2) == Decimal(10)


def test_programming_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="decimals"):
        parse_number("1", decimals=-1)
    with pytest.raises(ValueError, match="minimum"):
        parse_number("1", minimum=5, maximum=1)


def test_errors_never_contain_the_input() -> None:
    for text in ("98765x", "987654"):
        with pytest.raises(FieldError) as info:
            parse_number(text, maximum=10)
        assert "98765" not in repr(info.value.params) + str(info.value)
