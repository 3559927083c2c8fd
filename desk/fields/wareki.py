"""和暦 dates: the era table (loaded from data), parsing, formatting and age in completed years."""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from desk.errors import CatalogError, FieldError
from desk.fields.digits import normalize_digits
from desk.resources import resources_dir

__all__ = [
    "Era",
    "age_on",
    "era_of",
    "eras",
    "format_wareki",
    "from_parts",
    "load_eras",
    "parse_wareki",
    "to_wareki",
    "wareki_year",
]

_SCHEMA_VERSION = 1
_ERAS_FILE = "data/eras.yaml"


@dataclass(frozen=True)
class Era:
    """One 元号.

    Attributes:
        key: Stable identifier ("showa").
        name: The era name as written ("昭和").
        initial: The one-letter abbreviation ("S").
        start: First Gregorian day of the era; 元年 is `start.year`.
        end: Last day of the era, or None for the current era.
        supported_from: First day this app converts; later than `start` only for 明治, whose
            first years used the lunisolar calendar.
    """

    key: str
    name: str
    initial: str
    start: datetime.date
    end: datetime.date | None
    supported_from: datetime.date

    def contains(self, d: datetime.date) -> bool:
        """Tell whether `d` falls in the supported part of this era.

        Args:
            d: A Gregorian date.

        Returns:
            True when `supported_from <= d <= end` (no upper bound for the current era).
        """
        return self.supported_from <= d and (self.end is None or d <= self.end)


def _catalog_error(file: Path, key_path: str, expected: str) -> CatalogError:
    return CatalogError("catalog.invalid", file=str(file), key_path=key_path, expected=expected)


def _field(entry: dict[Any, Any], name: str, kind: type, file: Path, where: str) -> Any:
    value = entry.get(name)
    # bool is an int and datetime is a date: reject the subclass where it would slip through.
    if not isinstance(value, kind) or isinstance(value, datetime.datetime | bool):
        raise _catalog_error(file, f"{where}.{name}", kind.__name__)
    return value


def load_eras(path: Path) -> tuple[Era, ...]:
    """Load and validate an era table file.

    Args:
        path: A YAML file in the `resources/data/eras.yaml` format.

    Returns:
        The eras, oldest first.

    Raises:
        CatalogError: The file is unreadable or malformed; params name the file, the key path
            and what was expected there.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _catalog_error(path, "", "a readable UTF-8 YAML file") from exc
    if not isinstance(raw, dict):
        raise _catalog_error(path, "", "a mapping")
    if raw.get("schema_version") != _SCHEMA_VERSION:
        raise _catalog_error(path, "schema_version", str(_SCHEMA_VERSION))
    entries = raw.get("eras")
    if not isinstance(entries, list) or not entries:
        raise _catalog_error(path, "eras", "a non-empty list")
    result: list[Era] = []
    for index, entry in enumerate(entries):
        where = f"eras[{index}]"
        if not isinstance(entry, dict):
            raise _catalog_error(path, where, "a mapping")
        key = _field(entry, "key", str, path, where)
        name = _field(entry, "name", str, path, where)
        initial = _field(entry, "initial", str, path, where)
        if not re.fullmatch(r"[A-Z]", initial):
            raise _catalog_error(path, f"{where}.initial", "one capital letter A-Z")
        start = _field(entry, "start", datetime.date, path, where)
        end = entry.get("end")
        if end is not None:
            end = _field(entry, "end", datetime.date, path, where)
            if end < start:
                raise _catalog_error(path, f"{where}.end", "a date not before start")
        supported_from = start
        if entry.get("supported_from") is not None:
            supported_from = _field(entry, "supported_from", datetime.date, path, where)
            if supported_from < start or (end is not None and supported_from > end):
                raise _catalog_error(path, f"{where}.supported_from", "a date within the era")
        if result:
            previous = result[-1]
            if previous.end is None or start != previous.end + datetime.timedelta(days=1):
                raise _catalog_error(path, f"{where}.start", "the day after the previous era's end")
            if any(e.key == key or e.name == name or e.initial == initial for e in result):
                raise _catalog_error(path, where, "a unique key, name and initial")
        result.append(Era(key, name, initial, start, end, supported_from))
    return tuple(result)


@functools.cache
def eras() -> tuple[Era, ...]:
    """Return the bundled era table, oldest first (loaded once, then cached).

    Returns:
        The eras from `resources/data/eras.yaml`.

    Raises:
        CatalogError: The bundled file is missing or malformed.
    """
    return load_eras(resources_dir() / _ERAS_FILE)


def _era_by_key(era_key: str) -> Era:
    for era in eras():
        if era.key == era_key:
            return era
    raise FieldError("wareki.unknown_era")


def _first_supported() -> datetime.date:
    return eras()[0].supported_from


def era_of(d: datetime.date) -> Era:
    """Return the era a Gregorian date falls in.

    Args:
        d: A Gregorian date.

    Returns:
        The era containing `d`.

    Raises:
        FieldError: "wareki.before_supported" (param `first`: the first supported 和暦 date)
            when `d` is earlier than the table supports.
    """
    for era in eras():
        if era.contains(d):
            return era
    raise FieldError("wareki.before_supported", first=to_wareki(_first_supported()))


def wareki_year(d: datetime.date) -> tuple[Era, int]:
    """Return the era and era year (1 for 元年) of a Gregorian date.

    Args:
        d: A Gregorian date.

    Returns:
        `(era, year)`.

    Raises:
        FieldError: As `era_of`.
    """
    era = era_of(d)
    return era, d.year - era.start.year + 1


def format_wareki(era: Era, year: int, month: int, day: int) -> str:
    """Write era parts as 「令和元年5月1日」 without checking them.

    Args:
        era: The era.
        year: Era year; 1 is written 元.
        month: Month.
        day: Day.

    Returns:
        The 和暦 notation.
    """
    year_text = "元" if year == 1 else str(year)
    return f"{era.name}{year_text}年{month}月{day}日"


def to_wareki(d: datetime.date) -> str:
    """Write a Gregorian date in 和暦, e.g. 2019-05-01 → 「令和元年5月1日」.

    Args:
        d: A Gregorian date.

    Returns:
        The 和暦 notation with ASCII digits and 元年 for year 1.

    Raises:
        FieldError: As `era_of`.
    """
    era, year = wareki_year(d)
    return format_wareki(era, year, d.month, d.day)


def from_parts(era_key: str, year: int, month: int, day: int) -> datetime.date:
    """Convert era, era year, month and day to a Gregorian date.

    Args:
        era_key: An era key from the table ("showa").
        year: Era year, 1 for 元年.
        month: Month 1-12.
        day: Day of month.

    Returns:
        The Gregorian date.

    Raises:
        FieldError: "wareki.unknown_era"; "wareki.invalid_date" (no such calendar day);
            "wareki.out_of_era" (params `era`, `last`: the era's last valid 和暦 date) when the
            date is after the era ended; "wareki.before_era" (params `era`, `first`) when it is
            before the era (or its supported part) began. Params never contain the input.
    """
    era = _era_by_key(era_key)
    if year < 1:
        raise FieldError("wareki.invalid_date")
    try:
        d = datetime.date(era.start.year + year - 1, month, day)
    except (ValueError, OverflowError) as exc:
        raise FieldError("wareki.invalid_date") from exc
    if era.end is not None and d > era.end:
        raise FieldError("wareki.out_of_era", era=era.name, last=to_wareki(era.end))
    if d < era.supported_from:
        raise FieldError("wareki.before_era", era=era.name, first=to_wareki(era.supported_from))
    return d


# Full-width Latin letters and the punctuation used between date parts, folded for parsing only.
_PARSE_FOLD = str.maketrans(
    {
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},  # Ａ-Ｚ
        **{chr(0xFF41 + i): chr(0x41 + i) for i in range(26)},  # ａ-ｚ → A-Z
        **{chr(0x61 + i): chr(0x41 + i) for i in range(26)},  # a-z → A-Z
        "．": ".",
        "／": "/",
        "－": "-",
        "−": "-",
        "‐": "-",
        "‑": "-",
        "ー": "-",
        "ｰ": "-",
        "・": ".",
        "\u3000": " ",
    }
)
_MAX_INPUT = 64  # far longer than any date; keeps the regular expressions' work bounded
_NUM = r"([0-9]{1,3})"
_YEAR = r"(元|[0-9]{1,3})"
_KANJI_FORM = re.compile(rf"(\D+?)\s*{_YEAR}\s*年\s*{_NUM}\s*月\s*{_NUM}\s*日?")
_PUNCT_FORM = re.compile(rf"(\D+?)\s*{_YEAR}\s*([./-])\s*{_NUM}\s*\3\s*{_NUM}")


def parse_wareki(text: str) -> datetime.date:
    """Parse a 和暦 date as typed at a counter.

    Accepts 「昭和64年1月7日」, 「令和元年5月1日」, 「R1.5.1」, 「S64/1/7」, 「H1-1-8」, with
    full-width digits, letters or punctuation and spaces anywhere between the parts.

    Args:
        text: The date as entered.

    Returns:
        The Gregorian date.

    Raises:
        FieldError: "wareki.format" when the text is not a 和暦 date, "wareki.unknown_era",
            or any error of `from_parts`. The input is never part of the error.
    """
    if len(text) > _MAX_INPUT:
        raise FieldError("wareki.format")
    folded = normalize_digits(text).translate(_PARSE_FOLD).strip()
    match = _KANJI_FORM.fullmatch(folded)
    if match is not None:
        era_text, year_text, month_text, day_text = match.groups()
    else:
        match = _PUNCT_FORM.fullmatch(folded)
        if match is None:
            raise FieldError("wareki.format")
        era_text, year_text, _, month_text, day_text = match.groups()
    era_text = era_text.strip()
    for era in eras():
        if era_text in (era.name, era.initial):
            year = 1 if year_text == "元" else int(year_text)
            return from_parts(era.key, year, int(month_text), int(day_text))
    raise FieldError("wareki.unknown_era")


def age_on(birth: datetime.date, on: datetime.date) -> int:
    """Age in ordinary completed years on a given day.

    Someone born on 29 February completes a year on 1 March in common years.

    Args:
        birth: Date of birth.
        on: The day the age is wanted for.

    Returns:
        Completed years.

    Raises:
        FieldError: "age.before_birth" when `on` is earlier than `birth`.
    """
    if on < birth:
        raise FieldError("age.before_birth")
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
