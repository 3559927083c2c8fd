"""Answers as text for the screen, in the user's language (local formatting lives only in ui/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from desk.catalog.model import Item, Step
from desk.errors import FieldError
from desk.fields import mynumber, wareki
from desk.fields.phone import format_phone
from desk.interview.validation import is_partial_date
from desk.rules.evaluate import is_unknown
from ui.catalog_text import plain
from ui.i18n import LANGUAGES, N_, _, current_language

# 預金種目 (desk.fields.bank.ACCOUNT_TYPES) in screen order: English message id and the word
# printed in passbooks, which residents reading another language match against.
ACCOUNT_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "futsu": (N_("Ordinary"), "普通"),
    "toza": (N_("Checking"), "当座"),
    "chochiku": (N_("Savings"), "貯蓄"),
}
_MASKED_MYNUMBER = "*" * 12  # a number that does not parse is still never shown


def _locale() -> str:
    return next(lang.locale for lang in LANGUAGES if lang.code == current_language())


def format_date_for_screen(value: str) -> str:
    """和暦 for Japanese screens, the Western calendar for every other language."""
    day = dt.date.fromisoformat(value)
    if current_language() in ("ja", "ja-easy"):
        return wareki.to_wareki(day)
    return format_date(day, format="long", locale=_locale())


def _option_label(item: Item, value: Any) -> str:
    for option in item.options:
        if option.value == value:
            return plain(option.label)
    return str(value)


def _date(value: Any) -> str:
    if is_partial_date(value):
        return _("{notation} (partly unknown)", notation=str(value.get("hyoki", "")))
    try:
        return format_date_for_screen(str(value))
    except (ValueError, FieldError):
        return str(value)


def _bank(value: Any) -> str:
    if not isinstance(value, Mapping):
        return str(value)
    key = str(value.get("account_type", ""))
    return _(
        "Bank {bank} / branch {branch} / {type} / {number} / {holder}",
        bank=value.get("bank_code", ""), branch=value.get("branch_code", ""),
        type=account_type_label(key) if key in ACCOUNT_TYPE_LABELS else "",
        number=value.get("account_number", ""),
        holder=value.get("holder_kana", ""),
    )


def account_type_label(key: str, *, passbook: bool = False) -> str:
    """The name of an account type (普通, 当座, 貯蓄) in the active language.

    With `passbook`, the passbook's word follows in brackets where the name differs from it.
    """
    message_id, printed = ACCOUNT_TYPE_LABELS[key]
    label = _(message_id)
    if not passbook or label == printed:
        return label
    if current_language().startswith("ja"):
        return f"{label}（{printed}）"
    return f"{label} ({printed})"


def _number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_decimal(value, locale=_locale())
    return str(value)


def _phone(value: Any) -> str:
    try:
        return format_phone(str(value))
    except FieldError:
        return str(value)


def _mynumber(value: Any) -> str:
    try:
        return mynumber.masked(str(value))
    except FieldError:
        return _MASKED_MYNUMBER


def format_answer(step: Step | None, item: Item, value: Any) -> str:
    """One answer as the resident would read it on the check page.

    `step` may be None (answers listed without their screen); labels come from the item.
    """
    if is_unknown(value):
        return _("I don't know (staff will complete)")
    if value is None or value in ("", {}, []):
        return _("(none)")
    match item.type:
        case "name" | "kana_name":
            if isinstance(value, Mapping):
                return f"{value.get('family', '')}\u3000{value.get('given', '')}"
        case "date":
            return _date(value)
        case "postal_code":
            text = str(value)
            return f"〒{text[:3]}-{text[3:]}"
        case "address_candidate":
            if isinstance(value, Mapping):
                return f"{value['prefecture']}{value['city']}{value.get('town', '')}"
        case "choice":
            return _option_label(item, value)
        case "multi_choice":
            if isinstance(value, list):
                return "、".join(_option_label(item, v) for v in value)
        case "yes_no":
            if isinstance(value, bool):
                return _("Yes") if value else _("No")
        case "number":
            return _number(value)
        case "phone":
            return _phone(value)
        case "bank_account":
            return _bank(value)
        case "mynumber":
            return _mynumber(value)
        case "group":
            return _("{n} person(s)", n=value)
    return str(value)
