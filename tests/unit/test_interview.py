"""The interview engine: navigation, validation as data, and the linkage data it produces."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from desk.catalog.loader import load_catalog
from desk.interview.engine import REVIEW, Interview

P = "juminhyo-utsushi/"

TODAY = dt.date(2026, 11, 21)
ANSWERS: list[dict[str, Any]] = [
    {"shimei": {"family": "窓口", "given": "太郎"}},
    {"shimei_furigana": {"family": "まどぐち", "given": "ﾀﾛｳ"}},
    {"seinengappi": "1990-04-01"},
    {"jusho_yubinbango": "１００－００１４"},
    {"jusho": {"postal_code": "1000014", "prefecture": "東京都", "city": "千代田区",
               "town": "永田町", "jis_code": "131016"}},
    {"jusho_banchigohyoki": " 1-7-1 ", "jusho_katagaki": ""},
    {"x_tsusu": 2},
    {"x_shiyo_mokuteki": "kinyu"},
]


@pytest.fixture
def interview() -> Interview:
    return Interview(load_catalog(), procedure_ids=("juminhyo-utsushi",), today=TODAY)


def answer_all(interview: Interview) -> None:
    for values in ANSWERS:
        outcome = interview.answer(values)
        assert outcome.accepted, outcome.issues


def test_walks_every_step_to_review(interview: Interview) -> None:
    progress = interview.progress()
    assert (progress.number, progress.total) == (1, 8)
    assert progress.section is not None and progress.section.id == "juminhyo-utsushi"
    answer_all(interview)
    assert interview.at_review and interview.complete
    assert (interview.progress().number, interview.progress().total) == (8, 8)


def test_linkage_data_follows_the_data_list_conventions(interview: Interview) -> None:
    answer_all(interview)
    ((procedure, data),) = interview.procedure_data()
    assert procedure.id == "juminhyo-utsushi"
    assert data["shimei"] == "窓口\u3000太郎"
    assert data["shimei_furigana"] == "マドグチ\u3000タロウ"
    assert data["seinengappi"] == "1990-04-01"
    assert data["jusho_yubinbango"] == "1000014"
    assert data["jusho_banchigohyoki"] == "1-7-1"
    assert "jusho_katagaki" not in data  # optional and left empty
    assert data["jusho_shikuchosonkodo"] == "131016"


def test_invalid_answers_are_data_and_are_not_stored(interview: Interview) -> None:
    outcome = interview.answer({"shimei": {"family": "窓口", "given": "  "}})
    assert not outcome.accepted
    assert [(i.item, i.message_id) for i in outcome.issues] == [("shimei", "required.given")]
    assert interview.position == P + "shimei" and "shimei" not in interview.answers


@pytest.mark.parametrize(
    ("step_index", "values", "message_id"),
    [
        (1, {"shimei_furigana": {"family": "madoguchi", "given": "タロウ"}}, "kana.not_katakana"),
        (2, {"seinengappi": "2030-01-01"}, "date.future"),
        (2, {"seinengappi": "1990-02-30"}, "date.invalid"),
        (3, {"jusho_yubinbango": "12345"}, "postal.format"),
        (3, {"jusho_yubinbango": "9999999"}, "postal.unknown"),
        (6, {"x_tsusu": 11}, "count.range"),
        (7, {"x_shiyo_mokuteki": "casino"}, "choice.invalid"),
    ],
)
def test_validation_messages(interview: Interview, step_index: int, values: dict[str, Any],
                             message_id: str) -> None:
    for earlier in ANSWERS[:step_index]:
        interview.answer(earlier)
    outcome = interview.answer(values)
    assert [i.message_id for i in outcome.issues] == [message_id]


def test_back_from_review_and_from_first_step(interview: Interview) -> None:
    answer_all(interview)
    assert interview.back() == P + "x_shiyo_mokuteki"
    for _ in range(10):
        interview.back()
    assert interview.position == P + "shimei" and not interview.can_go_back


def test_change_returns_to_review(interview: Interview) -> None:
    answer_all(interview)
    interview.change(P + "x_tsusu")
    assert interview.answer({"x_tsusu": 3}).position == REVIEW
    # 通数 is answered per procedure: kept under the procedure, not visit-wide.
    assert interview.answers["@juminhyo-utsushi"]["x_tsusu"] == 3
    assert "x_tsusu" not in interview.answers


def test_new_postal_code_asks_for_the_address_again(interview: Interview) -> None:
    answer_all(interview)
    interview.change(P + "jusho_yubinbango")
    outcome = interview.answer({"jusho_yubinbango": "0680546"})
    # The chosen town belonged to the old code: forgotten, and the interview asks for it.
    assert outcome.position == P + "jusho"
    assert "jusho" not in interview.answers
    assert [s.key for s in interview.missing()] == [P + "jusho"]


def test_resume_position_is_kept(interview: Interview) -> None:
    for values in ANSWERS[:3]:
        interview.answer(values)
    resumed = Interview(interview.catalog, procedure_ids=("juminhyo-utsushi",),
                        answers=interview.answers, position=interview.position, today=TODAY)
    assert resumed.position == P + "jusho_yubinbango"
    screen = resumed.screens()[2]
    assert resumed.values_for(screen) == {"seinengappi": "1990-04-01"}


def test_unknown_saved_position_starts_at_the_beginning(interview: Interview) -> None:
    resumed = Interview(interview.catalog, procedure_ids=("juminhyo-utsushi",),
                        position="a-step-removed-from-the-catalog")
    assert resumed.position == P + "shimei"
