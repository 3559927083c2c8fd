"""Answers as text for the screen, in the user's language (local formatting lives only in ui/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_date

from desk.catalog.model import Item, Step
from desk.fields import wareki
from ui.catalog_text import plain
from ui.i18n import LANGUAGES, _, current_language


def _locale() -> str:
    return next(lang.locale for lang in LANGUAGES if lang.code == current_language())


def format_date_for_screen(value: str) -> str:
    """和暦 for Japanese screens, the Western calendar for every other language."""
    day = dt.date.fromisoformat(value)
    if current_language() in ("ja", "ja-easy"):
        return wareki.to_wareki(day)
    return format_date(day, format="long", locale=_locale())


def format_answer(step: Step, item: Item, value: Any) -> str:
    """One answer as the resident would read it on the check page."""
    if value in (None, "", {}):
        return _("(none)")
    match item.type:
        case "name" | "kana_name":
            return f"{value['family']}\u3000{value['given']}"
        case "date":
            return format_date_for_screen(value)
        case "postal_code":
            return f"〒{value[:3]}-{value[3:]}"
        case "address_candidate":
            return f"{value['prefecture']}{value['city']}{value.get('town', '')}"
        case "choice":
            for option in step.options:
                if option.value == value:
                    return plain(option.label)
            return str(value)
    return str(value)
