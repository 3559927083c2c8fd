"""Bank accounts: 全銀 fields, holder kana, ゆうちょ 記号・番号 conversion and 公金受取口座."""

from __future__ import annotations

import dataclasses

import pytest

from desk.errors import FieldError
from desk.fields.bank import (
    ACCOUNT_TYPES,
    KOKIN_UKETORI_KOZA,
    YUCHO_BANK_CODE,
    AccountType,
    BankAccount,
    validate_bank_account,
    validate_yucho,
)

VALID = {
    "bank_code": "0001",
    "branch_code": "123",
    "account_type": "futsu",
    "account_number": "1234567",
    "holder_kana": "ヤマダ　タロウ",
}


def _with(**changes: object) -> dict[str, object]:
    return {**VALID, **changes}


def test_valid_account() -> None:
    assert validate_bank_account(VALID) == BankAccount(
        bank_code="0001",
        branch_code="123",
        account_type="futsu",
        account_number="1234567",
        holder_kana="ヤマダ　タロウ",
    )


def test_account_is_frozen() -> None:
    account = validate_bank_account(VALID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        account.account_number = "7654321"  # type: ignore[misc]


def test_full_width_digits_and_surrounding_spaces() -> None:
    account = validate_bank_account(
        _with(bank_code="０００１", branch_code=" １２３ ", account_number="１２３４５６７\u3000")
    )
    assert (account.bank_code, account.branch_code, account.account_number) == (
        "0001",
        "123",
        "1234567",
    )


@pytest.mark.parametrize(
    ("number", "normalized"),
    [("1", "0000001"), ("12345", "0012345"), ("０１２３４５６", "0123456")],
)
def test_short_account_numbers_are_left_padded(number: str, normalized: str) -> None:
    assert validate_bank_account(_with(account_number=number)).account_number == normalized


@pytest.mark.parametrize("account_type", sorted(ACCOUNT_TYPES))
def test_account_types(account_type: str) -> None:
    assert validate_bank_account(_with(account_type=account_type)).account_type == account_type


@pytest.mark.parametrize(
    ("holder", "expected"),
    [
        ("やまだ　たろう", "ヤマダ　タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ"),
        ("ヤマダ  タロウ ", "ヤマダ　タロウ"),
        ("ｶ)ﾔﾏﾀﾞｼｮｳﾃﾝ", "カ）ヤマダショウテン"),
        ("（カ）ヤマダ．ショウテン－ニシ", "（カ）ヤマダ．ショウテン－ニシ"),
        ("ヴィクトリア", "ヴィクトリア"),
        ("きゃりー", "キャリー"),  # small kana stay small
    ],
)
def test_holder_is_full_width_katakana(holder: str, expected: str) -> None:
    assert validate_bank_account(_with(holder_kana=holder)).holder_kana == expected


@pytest.mark.parametrize(
    ("changes", "message_id", "params"),
    [
        ({"bank_code": "001"}, "bank.bank_code", {"digits": 4}),
        ({"bank_code": "00011"}, "bank.bank_code", {"digits": 4}),
        ({"bank_code": "00a1"}, "bank.bank_code", {"digits": 4}),
        ({"bank_code": 1}, "bank.bank_code", {"digits": 4}),
        ({"branch_code": "12"}, "bank.branch_code", {"digits": 3}),
        ({"branch_code": "1234"}, "bank.branch_code", {"digits": 3}),
        ({"branch_code": ""}, "bank.branch_code", {"digits": 3}),
        ({"account_type": "普通"}, "bank.account_type", {}),
        ({"account_type": "FUTSU"}, "bank.account_type", {}),
        ({"account_type": None}, "bank.account_type", {}),
        ({"account_number": ""}, "bank.account_number", {"digits": 7}),
        ({"account_number": "12345678"}, "bank.account_number", {"digits": 7}),
        ({"account_number": "123-4567"}, "bank.account_number", {"digits": 7}),
        ({"holder_kana": ""}, "bank.holder", {}),
        ({"holder_kana": "\u3000"}, "bank.holder", {}),
        ({"holder_kana": "山田　太郎"}, "bank.holder", {}),
        ({"holder_kana": "YAMADA TARO"}, "bank.holder", {}),
        ({"holder_kana": "ジョン・スミス"}, "bank.holder", {}),
        ({"holder_kana": "ヤマダ1"}, "bank.holder", {}),
    ],
)
def test_invalid_fields(changes: dict[str, object], message_id: str, params: object) -> None:
    with pytest.raises(FieldError) as info:
        validate_bank_account(_with(**changes))
    assert info.value.message_id == message_id
    assert info.value.params == params


@pytest.mark.parametrize(
    ("missing", "message_id"),
    [
        ("bank_code", "bank.bank_code"),
        ("branch_code", "bank.branch_code"),
        ("account_type", "bank.account_type"),
        ("account_number", "bank.account_number"),
        ("holder_kana", "bank.holder"),
    ],
)
def test_missing_fields(missing: str, message_id: str) -> None:
    fields = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(FieldError) as info:
        validate_bank_account(fields)
    assert info.value.message_id == message_id


def test_errors_never_contain_the_input() -> None:
    fields = _with(account_number="98765432", holder_kana="ヤマダ　タロウ")
    with pytest.raises(FieldError) as info:
        validate_bank_account(fields)
    assert "98765432" not in repr(info.value.params) + str(info.value)
    with pytest.raises(FieldError) as info:
        validate_bank_account(_with(holder_kana="山田タロウ"))
    assert "山田" not in repr(info.value.params) + str(info.value)


@pytest.mark.parametrize(
    ("kigo", "bango", "branch", "account_type", "number"),
    [
        # 通常貯金: 店番 = 記号 digits 2-3 + 8; 口座番号 = 番号 without its last digit (a 1).
        ("10530", "12345671", "058", "futsu", "1234567"),
        ("17300", "19927651", "738", "futsu", "1992765"),
        ("11940", "1234561", "198", "futsu", "0123456"),
        ("１２３４０", "１２３４５６７１", "238", "futsu", "1234567"),
        ("14090", "21", "408", "futsu", "0000002"),
        # 振替口座: 店番 = 記号 digits 2-3 + 9; 口座番号 = 番号 as it is.
        ("00530", "123456", "059", "toza", "0123456"),
        ("01940", "12", "199", "toza", "0000012"),
    ],
)
def test_yucho_kigo_bango_conversion(
    kigo: str, bango: str, branch: str, account_type: AccountType, number: str
) -> None:
    account = validate_yucho(kigo, bango, "ゆうちょ　はなこ")
    assert account == BankAccount(
        bank_code=YUCHO_BANK_CODE,
        branch_code=branch,
        account_type=account_type,
        account_number=number,
        holder_kana="ユウチョ　ハナコ",
    )
    assert YUCHO_BANK_CODE == "9900"


def test_converted_yucho_account_passes_the_general_check() -> None:
    account = validate_yucho("10530", "12345671", "ユウチョ　ハナコ")
    assert validate_bank_account(dataclasses.asdict(account)) == account


@pytest.mark.parametrize(
    ("kigo", "bango", "message_id", "params"),
    [
        ("1053", "12345671", "bank.yucho_kigo", {"digits": 5}),
        ("105300", "12345671", "bank.yucho_kigo", {"digits": 5}),
        ("20530", "12345671", "bank.yucho_kigo", {"digits": 5}),
        ("x0530", "12345671", "bank.yucho_kigo", {"digits": 5}),
        ("10530", "123456712", "bank.yucho_bango", {"digits": 8}),
        ("10530", "1234567", "bank.yucho_bango", {"digits": 8}),  # converted number typed
        ("10530", "1", "bank.yucho_bango", {"digits": 8}),
        ("10530", "", "bank.yucho_bango", {"digits": 8}),
        ("00530", "1234567", "bank.yucho_bango", {"digits": 6}),
        ("00530", "", "bank.yucho_bango", {"digits": 6}),
    ],
)
def test_invalid_yucho(kigo: str, bango: str, message_id: str, params: object) -> None:
    with pytest.raises(FieldError) as info:
        validate_yucho(kigo, bango, "ユウチョ　ハナコ")
    assert info.value.message_id == message_id
    assert info.value.params == params


def test_yucho_holder_is_checked() -> None:
    with pytest.raises(FieldError) as info:
        validate_yucho("10530", "12345671", "郵貯花子")
    assert info.value.message_id == "bank.holder"


def test_kokin_uketori_koza_constant() -> None:
    assert KOKIN_UKETORI_KOZA == "kokin"
