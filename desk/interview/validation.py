"""Validate one step's answers by item type; returns issues, never raises for bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from desk.catalog.model import Item, Step
from desk.errors import FieldError
from desk.fields import address, kana
from desk.interview.issues import Issue

NAME_MAX_LENGTH = 30  # characters per part; the common form has room for about this many
EARLIEST_DATE = dt.date(1873, 1, 1)  # the Gregorian calendar in Japan starts here


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _validate_name(item: Item, value: Any) -> list[Issue]:
    if not isinstance(value, Mapping):
        return [Issue(item.id, "required")]
    issues = []
    for part in ("family", "given"):
        text = value.get(part, "")
        if _is_blank(text):
            issues.append(Issue(item.id, f"required.{part}"))
        elif len(text) > NAME_MAX_LENGTH:
            issues.append(Issue(item.id, "text.too_long", {"max": NAME_MAX_LENGTH}))
        elif item.type == "kana_name" and not kana.is_katakana_name(text):
            issues.append(Issue(item.id, "kana.not_katakana", {"part": part}))
    return issues


def _validate_date(item: Item, value: Any, today: dt.date) -> list[Issue]:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return [Issue(item.id, "date.invalid")]
    if day > today:
        return [Issue(item.id, "date.future")]
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


def validate_item(item: Item, value: Any, *, today: dt.date, step: Step) -> list[Issue]:
    """Check one answer against its item's type and constraints."""
    if _is_blank(value) or value == {}:
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
            if item.max_length and len(str(value)) > item.max_length:
                return [Issue(item.id, "text.too_long", {"max": item.max_length})]
            return []
        case "count":
            low, high = item.minimum or 1, item.maximum or 99
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                return [Issue(item.id, "count.range", {"min": low, "max": high})]
            return []
        case "choice":
            if value not in {o.value for o in step.options}:
                return [Issue(item.id, "choice.invalid")]
            return []
    return []  # pragma: no cover - every type is matched above; the loader refuses others


def validate_step(step: Step, values: Mapping[str, Any], *, today: dt.date) -> list[Issue]:
    """Check every item of a step."""
    issues: list[Issue] = []
    for item in step.items:
        issues.extend(validate_item(item, values.get(item.id), today=today, step=step))
    return issues
