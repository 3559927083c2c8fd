"""E-mail addresses: the pragmatic check, trimming, and full-width input reported, not folded."""

from __future__ import annotations

import pytest

from desk.errors import FieldError
from desk.fields.email import MAX_LENGTH, is_valid_email, validate_email


@pytest.mark.parametrize(
    "text",
    [
        "taro@example.jp",
        "taro.yamada@city.example.lg.jp",
        "Taro+kiosk@Example.COM",
        "a@b.co",
        "taro..yamada.@docomo.ne.jp",  # legacy carrier address, still in use
        "o'brien_1@mail-server.example.org",
        "x@xn--eckwd4c7c.xn--zckzah",
    ],
)
def test_valid_addresses_are_returned_unchanged(text: str) -> None:
    assert is_valid_email(text)
    assert validate_email(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  taro@example.jp ", "taro@example.jp"),
        ("\u3000taro@example.jp\u3000", "taro@example.jp"),
        ("taro@example.jp\n", "taro@example.jp"),
    ],
)
def test_surrounding_spaces_are_trimmed(text: str, expected: str) -> None:
    assert validate_email(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "taro＠example.jp",  # full-width @
        "ｔａｒｏ@example.jp",
        "taro@example.jp\u3000x",
        "たろう@example.jp",
        "taro@例え.jp",
        "taro@example．jp",
    ],
)
def test_full_width_characters_are_reported_not_folded(text: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_email(text)
    assert info.value.message_id == "email.fullwidth"
    assert info.value.params == {}
    assert not is_valid_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "taro",
        "taro@",
        "@example.jp",
        "taro@@example.jp",
        "taro@ex@ample.jp",
        "taro@example",  # domain without a dot
        "taro@.example.jp",
        "taro@example..jp",
        "taro@example.jp.",
        "taro@-example.jp",
        "taro@example-.jp",
        "taro yamada@example.jp",
        "taro@exa mple.jp",
        '"taro"@example.jp',
        "taro(comment)@example.jp",
        "tarö@example.jp",  # non-ASCII but not full-width
        "ﾀﾛｳ@example.jp",  # half-width katakana
        "t" * 65 + "@example.jp",
    ],
)
def test_malformed_addresses(text: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_email(text)
    assert info.value.message_id == "email.format"
    assert info.value.params == {}
    assert not is_valid_email(text)


def test_length_limit_is_254_characters() -> None:
    domain = ".".join(["a" * 63] * 3) + ".jp"  # 194 characters
    longest = "t" * (MAX_LENGTH - len(domain) - 1) + "@" + domain
    assert len(longest) == MAX_LENGTH
    assert validate_email(longest) == longest
    too_long = "t" + longest
    with pytest.raises(FieldError) as info:
        validate_email(too_long)
    assert info.value.message_id == "email.length"
    assert info.value.params == {"max": 254}


def test_errors_never_contain_the_input() -> None:
    for text in ("yamada taro@example.jp", "yamada＠example.jp"):
        with pytest.raises(FieldError) as info:
            validate_email(text)
        assert "yamada" not in repr(info.value.params)
        assert "yamada" not in str(info.value)
