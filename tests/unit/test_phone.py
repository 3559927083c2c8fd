"""Phone numbers: normalization, the domestic numbering rules, kinds and hyphenated display."""

from __future__ import annotations

import random

import pytest

from desk.errors import FieldError
from desk.fields.phone import (
    classify_phone,
    format_phone,
    is_valid_phone,
    normalize_phone,
    validate_phone,
)


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("090-1234-5678", "09012345678"),
        ("090 1234 5678", "09012345678"),
        ("０９０ー１２３４ー５６７８", "09012345678"),
        ("０９０－１２３４－５６７８", "09012345678"),
        ("０９０‐１２３４―５６７８", "09012345678"),
        ("090\u30001234\u30005678", "09012345678"),
        ("03(1234)5678", "0312345678"),
        ("（03）1234-5678", "0312345678"),
        (" 0120-123-456 ", "0120123456"),
        ("12", "12"),  # normalization alone checks no rule
    ],
)
def test_normalize_phone(text: str, digits: str) -> None:
    assert normalize_phone(text) == digits


@pytest.mark.parametrize(
    "text", ["", "---", "+81-90-1234-5678", "090-1234-567８x", "tel:0312345678", "٠٩٠١٢٣٤٥٦٧٨"]
)
def test_normalize_phone_rejects_other_characters(text: str) -> None:
    with pytest.raises(FieldError) as info:
        normalize_phone(text)
    assert info.value.message_id == "phone.format"
    assert info.value.params == {}


@pytest.mark.parametrize(
    ("text", "kind", "display"),
    [
        ("09012345678", "mobile", "090-1234-5678"),
        ("080-1234-5678", "mobile", "080-1234-5678"),
        ("０７０１２３４５６７８", "mobile", "070-1234-5678"),
        ("05012345678", "ip", "050-1234-5678"),
        ("0120123456", "toll_free", "0120-123-456"),
        ("08001234567", "toll_free", "0800-123-4567"),
        ("0312345678", "fixed", "03-1234-5678"),
        ("0612345678", "fixed", "06-1234-5678"),
        ("0451234567", "fixed", "045-123-4567"),
        ("0521234567", "fixed", "052-123-4567"),
        ("0112345678", "fixed", "011-234-5678"),
        ("0123456789", "fixed", "0123-45-6789"),
        ("0298765432", "fixed", "0298-76-5432"),  # simplified split: 029 is really 3 digits
        ("0990123456", "fixed", "0990-12-3456"),
    ],
)
def test_valid_numbers_classify_and_format(text: str, kind: str, display: str) -> None:
    assert is_valid_phone(text)
    assert classify_phone(text) == kind
    assert format_phone(text) == display
    assert normalize_phone(format_phone(text)) == validate_phone(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0901234567", 11),  # mobile needs 11 digits
        ("090123456789", 11),
        ("0501234567", 11),
        ("012012345", 10),  # 0120 + 6
        ("01201234567", 10),
        ("0800123456", 11),  # 0800 + 7
        ("031234567", 10),
        ("03123456789", 10),
        ("08", 10),
    ],
)
def test_wrong_length_names_the_expected_length(text: str, expected: int) -> None:
    with pytest.raises(FieldError) as info:
        validate_phone(text)
    assert info.value.message_id == "phone.length"
    assert info.value.params == {"expected": expected}
    assert not is_valid_phone(text)


@pytest.mark.parametrize(
    "text",
    [
        "9012345678",  # no leading 0
        "0012345678",  # 00: international / carrier prefix
        "00012345678",
        "0",
        "1234",
        "x",
    ],
)
def test_not_a_domestic_number(text: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_phone(text)
    assert info.value.message_id == "phone.format"
    with pytest.raises(FieldError):
        classify_phone(text)
    with pytest.raises(FieldError):
        format_phone(text)


def test_0800_is_toll_free_not_mobile() -> None:
    assert classify_phone("0800-111-2222") == "toll_free"
    assert classify_phone("080-0111-2222") == "toll_free"  # the digits decide, not the hyphens
    assert classify_phone("080-1111-2222") == "mobile"


def test_errors_never_contain_the_input() -> None:
    for text in ("090-1234-567", "+81 90 1234 5678", "0012345678"):
        with pytest.raises(FieldError) as info:
            validate_phone(text)
        assert "1234" not in repr(info.value.params)
        assert "1234" not in str(info.value)


def test_fuzzed_input_gives_field_errors_only() -> None:
    rng = random.Random(110)
    alphabet = "0123456789０１９-ー－ ()（）+x"
    for _ in range(3_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        try:
            display = format_phone(text)
        except FieldError:
            assert not is_valid_phone(text)
            continue
        assert is_valid_phone(text)
        assert display.count("-") == 2
        assert normalize_phone(display) == normalize_phone(text)
