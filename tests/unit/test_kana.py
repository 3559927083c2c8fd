"""フリガナ: katakana conversion, name check and spacing."""

from __future__ import annotations

import pytest

from desk.fields.kana import is_katakana_name, normalize_name_spacing, to_katakana


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ　たろう", "ヤマダ　タロウ"),
        ("ｶﾞ", "ガ"),
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("ｧｨｩｪｫｬｭｮｯ", "ァィゥェォャュョッ"),
        ("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ"),
        ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
        ("ﾜﾞｦﾞ", "ヷヺ"),
        ("ｷｬﾘｰ", "キャリー"),
        ("ちょうちょ", "チョウチョ"),
        ("ぁぃぅぇぉっゃゅょゎゕゖ", "ァィゥェォッャュョヮヵヶ"),
        ("すゞき", "スヾキ"),
        ("ヤマダ タロウ", "ヤマダ タロウ"),
        ("ｽｽﾞｷ ｲﾁﾛｳ", "スズキ イチロウ"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"),
        ("か\u3099", "ガ"),
        ("は\u309a", "パ"),
        ("ﾞ", "゛"),
        ("ｱﾞ", "ア゛"),
        ("Ｓｍｉｔｈ 山田", "Ｓｍｉｔｈ 山田"),
        ("１２ABC", "１２ABC"),
        ("", ""),
    ],
)
def test_to_katakana(text: str, expected: str) -> None:
    assert to_katakana(text) == expected


def test_small_kana_stay_distinct_from_large() -> None:
    assert to_katakana("ゃ") != to_katakana("や")
    assert to_katakana("ｯ") == "ッ"
    assert to_katakana("ｯ") != to_katakana("ﾂ")


@pytest.mark.parametrize(
    "text",
    [
        "ヤマダ　タロウ",
        "ヴィクトリア",
        "ジョン・スミス",
        "キャリー",
        "マリア　ルイサ　サントス",
        "ヵヶ",
        "ㇰ",
    ],
)
def test_katakana_names(text: str) -> None:
    assert is_katakana_name(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "やまだ",
        "ﾔﾏﾀﾞ",
        "ヤマダ タロウ",
        "ヤマダ　　タロウ",
        "　ヤマダ",
        "ヤマダ　",
        "山田",
        "YAMADA",
        "ヤマダ1",
        "ヤマダ\n",
    ],
)
def test_not_katakana_names(text: str) -> None:
    assert not is_katakana_name(text)


@pytest.mark.parametrize(
    ("family", "given", "expected"),
    [
        ("山田", "太郎", "山田　太郎"),
        (" 山田 ", "　太郎　", "山田　太郎"),
        ("ヤマダ", "タロウ", "ヤマダ　タロウ"),
        ("SMITH", "John  Paul", "SMITH　John　Paul"),
        ("髙橋", "", "髙橋"),
        ("", "", ""),
    ],
)
def test_normalize_name_spacing(family: str, given: str, expected: str) -> None:
    assert normalize_name_spacing(family, given) == expected
