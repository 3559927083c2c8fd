"""The visit engine over a fixture catalog: life event, rules, groups, once-only, わからない."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from desk.catalog.loader import load_catalog
from desk.catalog.model import Catalog
from desk.interview.engine import CHECKLIST, REVIEW, Interview

TODAY = dt.date(2026, 11, 21)
FIXTURE = Path(__file__).parent.parent / "fixtures" / "catalog"
TARO = {"family": "窓口", "given": "太郎"}
HANAKO = {"family": "窓口", "given": "花子"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(FIXTURE)


def event_visit(catalog: Catalog) -> Interview:
    return Interview(catalog, event_id="ev", today=TODAY)


def keys(interview: Interview) -> list[str]:
    return [s.key for s in interview.screens()]


def test_event_questions_then_checklist_then_the_procedures_that_apply(catalog: Catalog) -> None:
    visit = event_visit(catalog)
    assert visit.position == "@ev/seinengappi"
    assert visit.answer({"seinengappi": "1990-04-01"}).accepted
    assert visit.answer({"x_honnin": True}).position == CHECKLIST
    assert [p.id for p in visit.procedures] == ["alpha", "beta"]
    assert [a.reason.plain("en") for a in visit.applicable()] == ["", "Adults applying themselves"]
    # seinengappi was asked by the event, shimei by alpha: neither is asked twice (once-only).
    assert keys(visit) == [
        "@ev/seinengappi", "@ev/honnin", CHECKLIST, "alpha/shimei", "alpha/kodomo",
        "beta/denwabango", "beta/tsusu", REVIEW,
    ]
    assert visit.answer({}).position == "alpha/shimei"  # continue from the checklist


def test_a_rule_that_stops_holding_removes_the_procedure(catalog: Catalog) -> None:
    visit = event_visit(catalog)
    visit.answer({"seinengappi": "1990-04-01"})
    visit.answer({"x_honnin": False})
    assert [p.id for p in visit.procedures] == ["alpha"]
    assert "beta/denwabango" not in keys(visit)


def test_documents_come_from_the_event_and_each_procedure_without_repeats(
    catalog: Catalog,
) -> None:
    visit = event_visit(catalog)
    visit.answer({"seinengappi": "1990-04-01"})
    visit.answer({"x_honnin": True})
    assert [d.plain("en") for d in visit.documents()] == ["The letter", "ID", "Seal"]


def test_repeat_group_asks_member_steps_per_member(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY)
    visit.answer({"shimei": TARO})
    visit.answer({"seinengappi": "1990-04-01"})
    assert visit.answer({"x_kodomo": 2}).position == "alpha/kodomo/1/kodomo_shimei"
    visit.answer({"shimei": HANAKO})
    visit.answer({"seinengappi": "2018-05-05"})
    assert visit.position == "alpha/kodomo/2/kodomo_shimei"
    visit.answer({"shimei": {"family": "窓口", "given": "次郎"}})
    # The second child is 17: the school question depends on a child under 15, the first.
    assert visit.answer({"seinengappi": "2009-01-01"}).position == "alpha/memo"
    assert visit.answers["shimei"] == TARO  # members do not overwrite the applicant
    assert [m["seinengappi"] for m in visit.answers["x_kodomo"]] == ["2018-05-05", "2009-01-01"]
    values = visit.values_for(visit.screens()[3])
    assert values == {"shimei": HANAKO}


def test_shrinking_a_group_drops_the_extra_members_and_their_questions(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY,
                      answers={"shimei": TARO, "seinengappi": "1990-04-01",
                               "x_kodomo": [{"shimei": HANAKO, "seinengappi": "2018-05-05"}, {}]})
    visit.change("alpha/kodomo")
    visit.answer({"x_kodomo": 1})
    assert visit.answers["x_kodomo"] == [{"shimei": HANAKO, "seinengappi": "2018-05-05"}]
    assert "alpha/kodomo/2/kodomo_shimei" not in keys(visit)


def test_a_group_count_outside_its_range_is_refused(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY,
                      answers={"shimei": TARO, "seinengappi": "1990-04-01"},
                      position="alpha/kodomo")
    outcome = visit.answer({"x_kodomo": 6})
    assert [(i.message_id, i.params) for i in outcome.issues] == [
        ("count.range", {"min": 0, "max": 5})]


def test_a_catalog_check_gives_its_own_message(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY)
    visit.answer({"shimei": TARO})
    outcome = visit.answer({"seinengappi": "2015-01-01"})
    (issue,) = outcome.issues
    assert issue.message_id == "check.failed" and issue.text is not None
    assert issue.text.plain("en") == "You must be 15 or older"
    assert visit.position == "alpha/seinengappi" and "seinengappi" not in visit.answers


def test_unknown_answer_is_kept_marked_for_staff_and_sent_as_null(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY,
                      answers={"shimei": TARO, "seinengappi": "1990-04-01",
                               "x_kodomo": [{"shimei": HANAKO, "seinengappi": "2018-05-05"}]},
                      position="alpha/memo")
    assert visit.answer({}, unknown=True).position == REVIEW
    assert visit.complete
    assert [s.key for s in visit.unknown_screens()] == ["alpha/memo"]
    ((_, data),) = visit.procedure_data()
    assert data["x_memo"] is None and data["x_mikakunin"] == ["x_memo"]


def test_unknown_is_refused_where_the_catalog_does_not_allow_it(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY)
    outcome = visit.answer({}, unknown=True)
    assert [i.message_id for i in outcome.issues] == ["unknown.not_allowed"]
    assert visit.position == "alpha/shimei"


def test_partly_unknown_date_travels_as_flag_and_notation(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY,
                      answers={"shimei": TARO, "seinengappi": "1990-04-01", "x_kodomo": [{}]},
                      position="alpha/kodomo/1/kodomo_shimei")
    visit.answer({"shimei": HANAKO})
    assert visit.answer({"seinengappi": {"fusho": True, "hyoki": " 昭和20年頃 "}}).accepted
    ((_, data),) = visit.procedure_data()
    assert data["x_kodomo"] == [{"shimei": "窓口\u3000花子", "seinengappi": None,
                                 "seinengappi_fusho": True, "seinengappi_hyoki": "昭和20年頃"}]
    empty = visit.answer({})  # at review now: nothing to answer
    assert empty.accepted


def test_a_partial_date_needs_its_notation(catalog: Catalog) -> None:
    visit = Interview(catalog, procedure_ids=("alpha",), today=TODAY,
                      answers={"shimei": TARO}, position="alpha/seinengappi")
    outcome = visit.answer({"seinengappi": {"fusho": True, "hyoki": ""}})
    assert [i.message_id for i in outcome.issues] == ["date.notation_required"]


def test_each_procedure_gets_every_item_its_steps_ask(catalog: Catalog) -> None:
    visit = event_visit(catalog)
    for values in ({"seinengappi": "1990-04-01"}, {"x_honnin": True}, {}, {"shimei": TARO},
                   {"x_kodomo": 0}, {"denwabango": "０９０－１２３４－５６７８"}, {"x_tsusu": 2}):
        assert visit.answer(values).accepted, visit.position
    assert visit.at_review and visit.complete
    data = {p.id: d for p, d in visit.procedure_data()}
    # shimei was asked once, in alpha; beta's data has it too.
    assert data["alpha"] == {"shimei": "窓口\u3000太郎", "seinengappi": "1990-04-01",
                             "x_kodomo": []}
    assert data["beta"] == {"shimei": "窓口\u3000太郎", "denwabango": "09012345678",
                            "x_tsusu": 2}


def test_progress_counts_question_screens_and_names_the_part(catalog: Catalog) -> None:
    visit = event_visit(catalog)
    visit.answer({"seinengappi": "1990-04-01"})
    visit.answer({"x_honnin": True})
    visit.answer({})
    progress = visit.progress()
    assert (progress.number, progress.total) == (3, 6)
    assert progress.section is not None and progress.section.id == "alpha"
    assert (progress.section_number, progress.section_count) == (2, 3)


def test_back_walks_through_the_checklist(catalog: Catalog) -> None:
    visit = event_visit(catalog)
    visit.answer({"seinengappi": "1990-04-01"})
    visit.answer({"x_honnin": True})
    visit.answer({})
    assert visit.back() == CHECKLIST
    assert visit.back() == "@ev/honnin"
    assert visit.values_for() == {"x_honnin": True}


def test_a_resumed_visit_opens_on_the_same_screen(catalog: Catalog) -> None:
    visit = event_visit(catalog)
    visit.answer({"seinengappi": "1990-04-01"})
    visit.answer({"x_honnin": True})
    visit.answer({})
    visit.answer({"shimei": TARO})
    resumed = Interview(catalog, event_id="ev", answers=visit.answers, position=visit.position,
                        today=TODAY)
    assert resumed.position == "alpha/kodomo" == visit.position
    assert keys(resumed) == keys(visit)
