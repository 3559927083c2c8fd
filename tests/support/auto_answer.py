"""Plausible fake answers for any catalog item, to walk whole visits in tests and benchmarks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from desk.catalog.model import Item
from desk.fields import address
from desk.interview.engine import Interview
from desk.interview.validation import validate_step

TARO = {"family": "窓口", "given": "太郎"}
TARO_KANA = {"family": "マドグチ", "given": "タロウ"}
BANK = {"bank_code": "0001", "branch_code": "001", "account_type": "futsu",
        "account_number": "1234567", "holder_kana": "マドグチ　タロウ"}


def candidates(item: Item, today: dt.date, answers: dict[str, Any], *,
               member: bool = False) -> Iterator[Any]:
    """Values to try for an item, the most common first (all fake data)."""
    match item.type:
        case "name":
            yield TARO
        case "kana_name":
            yield TARO_KANA
        case "date":
            if item.dates == "future":
                yield (today + dt.timedelta(days=100)).isoformat()
            else:
                # Group members are mostly children here; applicants mostly adults.
                for years in ((10, 3, 1, 30, 40, 80) if member else (80, 40, 30, 10, 3, 1)):
                    yield today.replace(year=today.year - years, day=1).isoformat()
                yield (today - dt.timedelta(days=30)).isoformat()
        case "postal_code":
            yield "1000014"
        case "address_candidate":
            code = answers.get("jusho_yubinbango", "1000014")
            for candidate in address.lookup(str(code)) or address.lookup("1000014"):
                yield {"postal_code": candidate.postal_code, "prefecture": candidate.prefecture,
                       "city": candidate.city, "town": candidate.town,
                       "jis_code": candidate.jis_code}
        case "text":
            yield "テスト"[: item.max_length or 3]
        case "count" | "number":
            low = item.minimum if item.minimum is not None else 1
            yield from (low, low + 1)
        case "group":
            yield 2
            yield item.minimum or 1
        case "choice":
            yield from (o.value for o in item.options)
        case "multi_choice":
            yield [item.options[0].value]
        case "yes_no":
            yield from (True, False)
        case "phone":
            yield "09012345678"
        case "email":
            yield "taro@example.jp"
        case "bank_account":
            yield BANK
        case "mynumber":
            yield "621498320257"


def walk(interview: Interview, limit: int = 500) -> int:
    """Answer every screen with the first accepted candidates; return the screens answered."""
    answered = 0
    while not interview.at_review and answered < limit:
        screen = interview.screen
        if screen.kind == "checklist":
            interview.answer({})
            continue
        assert screen.step is not None
        stored = interview.values_for(screen)
        if stored and not validate_step(screen.step, stored, today=interview.today):
            outcome = interview.answer(stored)  # given in advance: keep it
        else:
            member = screen.member is not None
            values = {item.id: next(candidates(item, interview.today, interview.answers,
                                               member=member), None)
                      for item in screen.step.items}
            outcome = interview.answer(values)
        if not outcome.accepted:
            outcome = _retry(interview, screen.step.items, member=screen.member is not None)
        assert outcome.accepted, (screen.key, [i.message_id for i in outcome.issues])
        answered += 1
    return answered


def _retry(interview: Interview, items: tuple[Item, ...], *, member: bool) -> Any:
    outcome = None
    for item in items:
        for value in candidates(item, interview.today, interview.answers, member=member):
            values = {i.id: next(candidates(i, interview.today, interview.answers,
                                            member=member), None)
                      for i in items}
            values[item.id] = value
            outcome = interview.answer(values)
            if outcome.accepted:
                return outcome
    if interview.screen.step is not None and interview.screen.step.unknown_allowed:
        return interview.answer({}, unknown=True)
    return outcome
