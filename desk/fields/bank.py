"""Bank accounts for benefit payments: 全銀 codes, holder kana and ゆうちょ 記号・番号."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from desk.errors import FieldError
from desk.fields.digits import normalize_digits
from desk.fields.kana import to_katakana

__all__ = [
    "ACCOUNT_TYPES",
    "KOKIN_UKETORI_KOZA",
    "YUCHO_BANK_CODE",
    "AccountType",
    "BankAccount",
    "validate_bank_account",
    "validate_yucho",
]

AccountType = Literal["futsu", "toza", "chochiku"]
ACCOUNT_TYPES: frozenset[str] = frozenset({"futsu", "toza", "chochiku"})  # 普通・当座・貯蓄

# The resident's choice 「公金受取口座を利用する」: the account registered with the Digital Agency
# is used, so no bank details are asked for and no BankAccount exists for the application.
KOKIN_UKETORI_KOZA = "kokin"

YUCHO_BANK_CODE = "9900"  # ゆうちょ銀行

_BANK_CODE_DIGITS = 4
_BRANCH_CODE_DIGITS = 3
_ACCOUNT_NUMBER_DIGITS = 7
_TRIM = " \u3000"
# Bank holder names: full-width katakana (small kana and ヴ included), ー, the full-width space
# between family and given name, and （）．－ used in holder names such as 「カ）ヤマダショウテン」.
_HOLDER = re.compile("[\u30a1-\u30fa\u30fc\u3000（）．－]+")
# Half-width input (ｶ)ﾔﾏﾀﾞ ﾀﾛｳ) brings ASCII punctuation and spaces along with the half-width kana
# that to_katakana widens; they are widened too, so a holder name is all full-width.
_HOLDER_WIDEN = str.maketrans({" ": "\u3000", "(": "（", ")": "）", ".": "．", "-": "－"})
_SPACE_RUNS = re.compile("\u3000+")


@dataclass(frozen=True)
class BankAccount:
    """A domestic bank account in 全銀 form, as a benefit is paid into it.

    Build it with `validate_bank_account` or `validate_yucho`, which check every field.

    Attributes:
        bank_code: 金融機関コード, 4 ASCII digits ("0001"; ゆうちょ銀行 is "9900").
        branch_code: 店番, 3 ASCII digits.
        account_type: 預金種目: "futsu" (普通), "toza" (当座) or "chochiku" (貯蓄).
        account_number: 口座番号, 7 ASCII digits, left-padded with zeros.
        holder_kana: 口座名義 in full-width katakana, e.g. 「ヤマダ　タロウ」.
    """

    bank_code: str
    branch_code: str
    account_type: AccountType
    account_number: str
    holder_kana: str


def _digits(value: object, message_id: str, min_digits: int, max_digits: int) -> str:
    if not isinstance(value, str):
        raise FieldError(message_id, digits=max_digits)
    digits = normalize_digits(value).strip(_TRIM)
    if not (min_digits <= len(digits) <= max_digits) or not re.fullmatch("[0-9]+", digits):
        raise FieldError(message_id, digits=max_digits)
    return digits


def _account_type(value: object) -> AccountType:
    if not isinstance(value, str) or value not in ACCOUNT_TYPES:
        raise FieldError("bank.account_type")
    return cast(AccountType, value)


def _holder(value: object) -> str:
    if not isinstance(value, str):
        raise FieldError("bank.holder")
    holder = to_katakana(value).translate(_HOLDER_WIDEN)
    holder = _SPACE_RUNS.sub("\u3000", holder.strip(_TRIM))
    if _HOLDER.fullmatch(holder) is None:
        raise FieldError("bank.holder")
    return holder


def validate_bank_account(fields: Mapping[str, object]) -> BankAccount:
    """Check bank details as entered and return them in normalized form.

    Full-width digits are accepted everywhere and spaces around a value are dropped. The
    account number may have 1-7 digits; shorter ones are left-padded with zeros. The holder is
    converted with `to_katakana` (hiragana and half-width katakana become full-width katakana),
    ASCII spaces and （）．－ are widened, runs of spaces become one full-width space; then only
    katakana, ー, the full-width space and （）．－ may remain (no ・, Latin letters or kanji).

    When the resident chooses 公金受取口座 (`KOKIN_UKETORI_KOZA`), bank details are not asked
    for and this function is not called.

    Args:
        fields: The values under the keys "bank_code", "branch_code", "account_type",
            "account_number" and "holder_kana"; a missing key is treated as an invalid value.

    Returns:
        The checked account.

    Raises:
        FieldError: The first invalid field, in the order above: "bank.bank_code" (param
            `digits`: 4), "bank.branch_code" (`digits`: 3), "bank.account_type",
            "bank.account_number" (`digits`: 7) or "bank.holder". Values are never part of the
            error.
    """
    return BankAccount(
        bank_code=_digits(
            fields.get("bank_code"), "bank.bank_code", _BANK_CODE_DIGITS, _BANK_CODE_DIGITS
        ),
        branch_code=_digits(
            fields.get("branch_code"), "bank.branch_code", _BRANCH_CODE_DIGITS, _BRANCH_CODE_DIGITS
        ),
        account_type=_account_type(fields.get("account_type")),
        account_number=_digits(
            fields.get("account_number"), "bank.account_number", 1, _ACCOUNT_NUMBER_DIGITS
        ).zfill(_ACCOUNT_NUMBER_DIGITS),
        holder_kana=_holder(fields.get("holder_kana")),
    )


_KIGO_DIGITS = 5
_FUTSU_BANGO_DIGITS = 8
_TOZA_BANGO_DIGITS = 6


def validate_yucho(kigo: str, bango: str, holder_kana: str) -> BankAccount:
    """Convert a ゆうちょ銀行 記号・番号 (as printed in the passbook) to its 全銀 form.

    ゆうちょ銀行 accounts are known by a 5-digit 記号 and a 番号; other banks (and benefit
    payments) use the 振込用 店番・口座番号 derived from them:

    - 記号 starting with 1 (通常貯金, e.g. 10530-12345671): 預金種目 普通 ("futsu"); 店番 = the
      2nd and 3rd digits of 記号 followed by 8 (058); 口座番号 = 番号 (up to 8 digits, always
      ending in 1) without its last digit, left-padded to 7 digits (1234567).
    - 記号 starting with 0 (振替口座, e.g. 00530-1-123456): 預金種目 当座 ("toza"); 店番 = the
      2nd and 3rd digits of 記号 followed by 9 (059); 口座番号 = 番号 (up to 6 digits) as it is,
      left-padded to 7 digits (0123456). The single digit printed between 記号 and 番号 of a
      振替口座 belongs to neither and is not entered.

    Args:
        kigo: 記号, 5 digits (full-width digits accepted).
        bango: 番号 as printed.
        holder_kana: 口座名義, checked as by `validate_bank_account`.

    Returns:
        The account with bank code 9900.

    Raises:
        FieldError: "bank.yucho_kigo" (param `digits`: 5) when 記号 is not 5 digits starting
            with 0 or 1; "bank.yucho_bango" (param `digits`: the longest 番号 for that 記号)
            when 番号 does not fit, including a 通常貯金 番号 not ending in 1 (usually the
            already-converted 7-digit 口座番号 typed into the 番号 field); "bank.holder".
    """
    kigo_digits = _digits(kigo, "bank.yucho_kigo", _KIGO_DIGITS, _KIGO_DIGITS)
    branch_code = kigo_digits[1:3]
    account_type: AccountType
    if kigo_digits[0] == "1":
        bango_digits = _digits(bango, "bank.yucho_bango", 2, _FUTSU_BANGO_DIGITS)
        if not bango_digits.endswith("1"):
            raise FieldError("bank.yucho_bango", digits=_FUTSU_BANGO_DIGITS)
        account_type, branch_code, number = "futsu", branch_code + "8", bango_digits[:-1]
    elif kigo_digits[0] == "0":
        bango_digits = _digits(bango, "bank.yucho_bango", 1, _TOZA_BANGO_DIGITS)
        account_type, branch_code, number = "toza", branch_code + "9", bango_digits
    else:
        raise FieldError("bank.yucho_kigo", digits=_KIGO_DIGITS)
    return BankAccount(
        bank_code=YUCHO_BANK_CODE,
        branch_code=branch_code,
        account_type=account_type,
        account_number=number.zfill(_ACCOUNT_NUMBER_DIGITS),
        holder_kana=_holder(holder_kana),
    )
