"""氏名 characters: 外字 flagging and NFC-only normalization."""

from __future__ import annotations

import unicodedata

import pytest

from desk.fields.names import is_private_use, nonstandard_chars, normalize_name

IVS = "\U000e0100"
PUA = "\ue000"


@pytest.mark.parametrize(
    "text", ["山田　太郎", "渡邊 﨑", "ヤマダ　タロウ", "Smith John", "か゚", "", "　"]
)
def test_standard_names_have_nothing_to_review(text: str) -> None:
    assert nonstandard_chars(text) == []


def test_characters_outside_jis_are_flagged() -> None:
    assert nonstandard_chars("髙橋　𠮷田") == ["髙", "𠮷"]


def test_jis_x_0213_characters_are_standard() -> None:
    # Not in JIS X 0208 but in JIS X 0213: not 外字.
    assert nonstandard_chars("𠮟俱剝𩸽") == []


def test_result_is_a_list_of_strings() -> None:
    result = nonstandard_chars("髙")
    assert isinstance(result, list)
    assert all(isinstance(item, str) for item in result)


def test_each_character_is_listed_once_in_order() -> None:
    assert nonstandard_chars("𠮷髙𠮷") == ["𠮷", "髙"]


def test_ivs_attaches_to_its_base_and_flags_it() -> None:
    # 葛 alone is in JIS X 0208; with a variation selector it asks for a specific glyph.
    assert nonstandard_chars("葛" + IVS + "飾") == ["葛" + IVS]
    assert nonstandard_chars("葛飾") == []


def test_private_use_characters_are_flagged() -> None:
    assert nonstandard_chars("山" + PUA + "田") == [PUA]
    assert is_private_use(PUA)
    assert is_private_use("\U000f0000")
    assert not is_private_use("山")


def test_lone_combining_mark_is_flagged() -> None:
    assert nonstandard_chars(" \u3099") == ["\u3099"]


def test_half_and_full_width_forms_differ_from_nfkc() -> None:
    for text in ("ｶﾞｯｺｳ", "ＡＢＣ１２３", "①"):
        assert normalize_name(text) != unicodedata.normalize("NFKC", text)


def test_normalize_name_composes_to_nfc() -> None:
    decomposed = "か\u3099"
    assert normalize_name(decomposed) == "が"
    assert normalize_name("e\u0301") == "é"


@pytest.mark.parametrize(
    "text",
    [
        "髙橋",
        "ｶﾞｯｺｳ",  # half-width stays half-width (no NFKC)
        "ＡＢＣ１２３",  # full-width stays full-width
        "葛" + IVS + "飾",
        "山" + PUA,
        "①",
        "\ufa19",  # CJK compatibility ideograph 神: NFC would change the glyph
        "\U0002f800",
    ],
)
def test_normalize_name_keeps_what_was_entered(text: str) -> None:
    assert normalize_name(text) == text


def test_normalize_name_around_compatibility_ideographs() -> None:
    assert normalize_name("か\u3099\ufa19は\u309a") == "が\ufa19ぱ"
