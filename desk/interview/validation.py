"""Validate one step's answers by item type; returns issues, never raises for bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from desk.catalog.model import Item, Step
from desk.errors import FieldError
from desk.fields import address, bank, email, kana, mynumber, phone
from desk.interview.issues import Issue
from desk.rules.evaluate import is_unknown

NAME_MAX_LENGTH = 30  # characters per part; the common form has room for about this many
EARLIEST_DATE = dt.date(1873, 1, 1)  # the Gregorian calendar in Japan starts here
LATEST_FUTURE = 3660  # days: expected dates (出産予定日, 転出予定日) lie within ten years
NOTATION_MAX_LENGTH = 20  # 不詳 notation such as 「昭和20年頃」
DEFAULT_COUNT = (1, 99)
DEFAULT_GROUP = (0, 9)


def _is_blank(value: Any) -> bool:
    return value is None or value == {} or value == [] or (
        isinstance(value, str) and not value.strip())


def is_partial_date(value: Any) -> bool:
    """True for a partly unknown date: ``{"fusho": true, "hyoki": "昭和20年頃"}``."""
    return isinstance(value, Mapping) and value.get("fusho") is True


def _validate_name(item: Item, value: Any) -> list[Issue]:
    if not isinstance(value, Mapping):
        return [Issue(item.id, "required")]
    issues = []
    for part in ("family", "given"):
        text = value.get(part, "")
        if not isinstance(text, str) or _is_blank(text):
            issues.append(Issue(item.id, f"required.{part}"))
        elif len(text) > NAME_MAX_LENGTH:
            issues.append(Issue(item.id, "text.too_long", {"max": NAME_MAX_LENGTH}))
        elif item.type == "kana_name" and not kana.is_katakana_name(text):
            issues.append(Issue(item.id, "kana.not_katakana", {"part": part}))
    return issues


def _validate_date(item: Item, value: Any, today: dt.date) -> list[Issue]:
    if is_partial_date(value):
        notation = value.get("hyoki")
        if not item.partial:
            return [Issue(item.id, "date.invalid")]
        if not isinstance(notation, str) or not notation.strip():
            return [Issue(item.id, "date.notation_required")]
        if len(notation) > NOTATION_MAX_LENGTH:
            return [Issue(item.id, "text.too_long", {"max": NOTATION_MAX_LENGTH})]
        return []
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return [Issue(item.id, "date.invalid")]
    if item.dates == "past" and day > today:
        return [Issue(item.id, "date.future")]
    if item.dates == "future" and day < today:
        return [Issue(item.id, "date.past")]
    if day > today + dt.timedelta(days=LATEST_FUTURE):
        return [Issue(item.id, "date.too_late")]
    if day < EARLIEST_DATE:
        return [Issue(item.id, "date.too_early")]
    return []


def _validate_postal(item: Item, value: Any) -> list[Issue]:
    try:
        code = address.normalize_postal_code(str(value))
    except FieldError:
        return [Issue(item.id, "postal.format")]
    if not address.lookup(code):
        return [Issue(item.id, "postal.unknown")]
    return []


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range_issue(item: Item, value: Any, default: tuple[int, int]) -> list[Issue]:
    low = item.minimum if item.minimum is not None else default[0]
    high = item.maximum if item.maximum is not None else default[1]
    if not _whole_number(value) or not low <= value <= high:
        return [Issue(item.id, "count.range", {"min": low, "max": high})]
    return []


def _validate_number(item: Item, value: Any) -> list[Issue]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return [Issue(item.id, "number.format")]
    if (item.minimum is not None and value < item.minimum) or (
        item.maximum is not None and value > item.maximum
    ):
        return [Issue(item.id, "number.range", {"min": item.minimum, "max": item.maximum})]
    return []


def _validate_field(item: Item, value: Any, check: Any) -> list[Issue]:
    """Run a field type's validator; its FieldError becomes an issue (never the input)."""
    try:
        check(value)
    except FieldError as exc:
        return [Issue(item.id, exc.message_id, dict(exc.params))]
    except (TypeError, ValueError, AttributeError):
        return [Issue(item.id, f"{item.type}.format")]
    return []


def _validate_multi(item: Item, value: Any) -> list[Issue]:
    allowed = {o.value for o in item.options}
    if not isinstance(value, list) or not all(v in allowed for v in value):
        return [Issue(item.id, "choice.invalid")]
    if len(set(value)) != len(value):
        return [Issue(item.id, "choice.invalid")]
    return []


def validate_item(
    item: Item, value: Any, *, today: dt.date, step: Step | None = None
) -> list[Issue]:
    """Check one answer against its item's type and constraints."""
    if is_unknown(value):
        return []  # わからない: accepted here, completed by staff
    if _is_blank(value):
        if not item.required:
            return []
        if item.type in ("name", "kana_name"):
            return _validate_name(item, {})
        return [Issue(item.id, "required")]
    match item.type:
        case "name" | "kana_name":
            return _validate_name(item, value)
        case "date":
            return _validate_date(item, value, today)
        case "postal_code":
            return _validate_postal(item, value)
        case "address_candidate":
            ok = isinstance(value, Mapping) and bool(value.get("prefecture"))
            return [] if ok else [Issue(item.id, "address.choose")]
        case "text":
            if not isinstance(value, str):
                return [Issue(item.id, "text.format")]
            if item.max_length and len(value) > item.max_length:
                return [Issue(item.id, "text.too_long", {"max": item.max_length})]
            return []
        case "count":
            return _range_issue(item, value, DEFAULT_COUNT)
        case "group":
            return _range_issue(item, value, DEFAULT_GROUP)
        case "number":
            return _validate_number(item, value)
        case "choice":
            if value not in {o.value for o in item.options}:
                return [Issue(item.id, "choice.invalid")]
            return []
        case "multi_choice":
            return _validate_multi(item, value)
        case "yes_no":
            return [] if isinstance(value, bool) else [Issue(item.id, "yes_no.choose")]
        case "phone":
            return _validate_field(item, value, phone.validate_phone)
        case "email":
            return _validate_field(item, value, email.validate_email)
        case "bank_account":
            return _validate_field(item, value, bank.validate_bank_account)
        case "mynumber":
            ok = isinstance(value, str) and mynumber.is_valid(value)
            return [] if ok else [Issue(item.id, "mynumber.invalid")]
    return []  # pragma: no cover - every type is matched above; the loader refuses others


def validate_step(step: Step, values: Mapping[str, Any], *, today: dt.date) -> list[Issue]:
    """Check every item of a step (for a group step: the number of members)."""
    issues: list[Issue] = []
    for item in step.items:
        issues.extend(validate_item(item, values.get(item.id), today=today, step=step))
    return issues
