"""Golden walkthroughs of the shipped life events: answers → procedures, documents, payload."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from desk.catalog.loader import load_catalog
from desk.catalog.model import Catalog
from desk.interview.engine import Interview
from tests.support.auto_answer import walk

TODAY = dt.date(2026, 11, 21)
CHILD_3 = {"seinengappi": "2023-05-05"}
CHILD_8 = {"seinengappi": "2018-05-05"}
GRANDPARENT_71 = {"seinengappi": "1955-01-01"}


@dataclass(frozen=True)
class Golden:
    """One resident's situation and what a counter clerk would tell them."""

    event: str
    answers: dict[str, Any]
    procedures: list[str]
    documents: list[str] = field(default_factory=list)  # fragments of the Japanese texts
    absent_documents: list[str] = field(default_factory=list)


GOLDEN = {
    "tennyu-family-no-employer-insurance": Golden(
        "tennyu",
        {"seinengappi": "1990-04-01", "x_kokugai_kara": False,
         "x_setai_in": [CHILD_8, GRANDPARENT_71], "x_shakai_hoken": False,
         "x_inkan_kibo": True},
        ["tennyu", "kokuho-shutoku", "kaigo-shikaku", "jido-teate", "tennyugaku",
         "inkan-toroku"],
        ["転出証明書", "在学証明書", "登録する印鑑"],
    ),
    "tennyu-from-abroad-alone": Golden(
        "tennyu",
        {"seinengappi": "1996-07-07", "x_kokugai_kara": True, "x_setai_in": [],
         "x_shakai_hoken": False, "x_inkan_kibo": False},
        ["tennyu", "kokuho-shutoku", "nenkin-shutoku"],
        ["パスポート"], ["転出証明書"],
    ),
    "tennyu-aged-80-with-employer-insurance": Golden(
        "tennyu",
        {"seinengappi": "1946-01-10", "x_kokugai_kara": False, "x_setai_in": [],
         "x_shakai_hoken": True, "x_inkan_kibo": False},
        ["tennyu", "koki-shikaku", "kaigo-shikaku"],  # 75+: 後期高齢者医療, not 国民健康保険
    ),
    "tenshutsu-aged-70-with-kokuho": Golden(
        "tenshutsu",
        {"seinengappi": "1956-03-03", "x_setai_in": [], "x_kokuho_kanyu": True},
        ["tenshutsu", "kokuho-soshitsu", "kaigo-soshitsu"],
    ),
    "tenkyo-with-pupil-household-splits": Golden(
        "tenkyo",
        {"seinengappi": "1985-02-02", "x_setai_in": [CHILD_8], "x_tenkyo_setai_nokoru": True},
        ["tenkyo", "tennyugaku", "setainushi-henko"],
    ),
    "shussei-without-employer-insurance": Golden(
        "shussei", {"x_shakai_hoken": False},
        ["shussei-todoke", "jido-teate", "kokuho-shutoku"],
        ["出生証明書", "母子健康手帳"],
    ),
    "okuyami-head-of-household-aged-86": Golden(
        "okuyami",
        {"x_shibo_todoke_mada": False, "x_shibosha_seinengappi": "1940-02-01",
         "shibo_nengappi": "2026-11-01", "x_shibosha_setainushi": True,
         "x_setai_nokoru_futari": True, "x_shibosha_inkan": True, "x_shibosha_nenkin": True},
        ["koki-sosaihi", "kaigo-soshitsu", "setainushi-henko", "inkan-haishi"],
        ["死亡診断書", "会葬礼状", "年金証書"],
    ),
    "okuyami-aged-60-with-kokuho": Golden(
        "okuyami",
        {"x_shibo_todoke_mada": True, "x_shibosha_seinengappi": "1966-02-01",
         "shibo_nengappi": "2026-11-01", "x_shibosha_setainushi": False,
         "x_shibosha_kokuho": True, "x_shibosha_kaigo": False, "x_shibosha_inkan": False,
         "x_shibosha_nenkin": False},
        ["shibo-todoke", "kokuho-soshitsu", "kokuho-sosaihi"],
    ),
    "shomeisho-juminhyo-and-koseki": Golden(
        "shomeisho", {"x_shomeisho_shurui": ["juminhyo", "koseki"]},
        ["juminhyo-utsushi", "koseki-shomei"],
        ["1通300円", "1通450円"],
    ),
    "kaigo-needs-care-and-disability": Golden(
        "kaigo",
        {"x_kaigo_hitsuyo": True, "x_kaigo_shinseisha": "honnin", "seinengappi": "1950-06-06",
         "x_shogai_ari": True, "x_shogai_techo_ari": False},
        ["kaigo-nintei", "shogaisha-techo"],
    ),
    "ninshin-single-working-parent": Golden(
        "ninshin", {"x_fubo_shuro": True, "x_hitorioya": True},
        ["ninshin-todoke", "hoikusho-moshikomi", "jido-fuyo-teate"],
    ),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_life_event_has_a_golden_walkthrough(catalog: Catalog) -> None:
    assert {g.event for g in GOLDEN.values()} == set(catalog.life_events)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_walkthrough(catalog: Catalog, name: str) -> None:
    golden = GOLDEN[name]
    visit = Interview(catalog, event_id=golden.event, answers=golden.answers, today=TODAY)
    assert [p.id for p in visit.procedures] == golden.procedures
    documents = [d.plain("ja") for d in visit.documents()]
    for fragment in golden.documents:
        assert any(fragment in d for d in documents), (fragment, documents)
    for fragment in golden.absent_documents:
        assert not any(fragment in d for d in documents), (fragment, documents)
    assert sum("本人確認書類（" in d for d in documents) <= 1  # one ID entry, however worded

    walk(visit)  # the eligibility answers stand; every other screen gets fake answers
    assert visit.at_review and visit.complete
    assert [p.id for p in visit.procedures] == golden.procedures  # answers kept them
    data = dict((p.id, d) for p, d in visit.procedure_data())
    assert list(data) == golden.procedures
    for procedure_id, procedure_data in data.items():
        assert procedure_data, procedure_id
        for key, value in procedure_data.items():
            if key.endswith("shimei") and isinstance(value, str):
                assert "\u3000" in value, (procedure_id, key)  # family　given
            if key in ("seinengappi", "shibo_nengappi") and value is not None:
                dt.date.fromisoformat(value)  # Western ISO dates on the wire


def test_a_fact_is_asked_once_in_a_visit(catalog: Catalog) -> None:
    golden = GOLDEN["tennyu-family-no-employer-insurance"]
    visit = Interview(catalog, event_id="tennyu", answers=golden.answers, today=TODAY)
    walk(visit)
    asked = [
        (s.group_step.items[0].id if s.group_step else "", s.member, item.id)
        for s in visit.screens() if s.kind == "step" and s.step is not None
        for item in s.step.items if not item.per_procedure
    ]
    assert len(asked) == len(set(asked))
    data = dict((p.id, d) for p, d in visit.procedure_data())
    # The applicant's name, asked once in 転入届, is in every procedure that needs it.
    names = {d["shimei"] for d in data.values() if "shimei" in d}
    assert names == {"窓口\u3000太郎"}


def test_copies_are_asked_per_certificate(catalog: Catalog) -> None:
    visit = Interview(catalog, event_id="shomeisho", today=TODAY,
                      answers={"x_shomeisho_shurui": ["juminhyo", "koseki"]})
    walk(visit)
    copies = [s.key for s in visit.screens() if s.step is not None
              and s.step.items[0].id == "x_tsusu"]
    assert copies == ["juminhyo-utsushi/x_tsusu", "koseki-shomei/x_tsusu"]
    data = dict((p.id, d) for p, d in visit.procedure_data())
    assert data["juminhyo-utsushi"]["x_tsusu"] >= 1 and data["koseki-shomei"]["x_tsusu"] >= 1
