"""The whole procedure driven as a resident would, against the real gateway on loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desk.config import STORE_FILE
from desk.errors import StoreError
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.gateway.store import GatewayStore
from sync.worker import SyncState
from tests.gui.conftest import WindowFactory
from ui import demo_walk as walk
from ui.main_window import MainWindow
from ui.screens.step_views import DateView, NameView, PostalCodeView
from ui.user_input import click, type_text

PERSONAL = [walk.FAMILY, walk.GIVEN, "マドグチ", "まどぐち", "永田町", "まどぐちハイツ", "1-7-1",
            "1990-04-01", "1000014"]


def _plaintext_hits(profile: Path) -> list[str]:
    """Which of the typed values appear in the store's files, in UTF-8 or UTF-16."""
    hits = []
    for suffix in ("", "-wal", "-shm"):
        path = profile / f"{STORE_FILE}{suffix}"
        if not path.exists():
            continue
        data = path.read_bytes()
        for value in PERSONAL:
            if value.encode() in data or value.encode("utf-16-le") in data:
                hits.append(f"{path.name}: {PERSONAL.index(value)}")  # index, not the value
    return hits


def test_resident_completes_procedure_and_gets_reception_number(
    kiosk: MainWindow, gateway_store: GatewayStore
) -> None:
    walk.answer_everything(kiosk)
    assert kiosk.stack.currentWidget() is kiosk.review
    walk.send(kiosk)

    number = kiosk.confirmation.number.text()
    assert re.fullmatch(r"\d{8}-\d{6}", number)
    assert "受け付けました" in kiosk.confirmation.heading.text()
    stored = gateway_store.applications()
    assert len(stored) == 1
    assert stored[0].uketsuke_bango == number
    # The device's audit chain head travels with the application.
    assert re.fullmatch(r"[0-9a-f]{64}", stored[0].payload["metadata"]["auditHead"])
    data = stored[0].payload["procedures"][0]["data"]
    assert data == {
        "shimei": "窓口　太郎",
        "shimei_furigana": "マドグチ　タロウ",
        "seinengappi": "1990-04-01",
        "jusho_yubinbango": "1000014",
        "jusho_todofuken": "東京都",
        "jusho_shikuchoson": "千代田区",
        "jusho_choaza": "永田町",
        "jusho_shikuchosonkodo": "131016",
        "jusho_banchigohyoki": "1-7-1",
        "jusho_katagaki": "まどぐちハイツ101",
        "x_tsusu": 2,
        "x_shiyo_mokuteki": "kinyu",
    }
    # Finishing ends the session: back home, nothing of the resident left on screen.
    click(kiosk.confirmation.next_button)
    assert kiosk.stack.currentWidget() is kiosk.home
    assert kiosk.visit.interview is None


def test_store_files_hold_no_typed_personal_data(kiosk: MainWindow, tmp_path: Path) -> None:
    walk.answer_everything(kiosk)
    assert _plaintext_hits(tmp_path) == []  # mid-visit: the drafts live in the WAL
    walk.send(kiosk)
    assert _plaintext_hits(tmp_path) == []
    assert (tmp_path / f"{STORE_FILE}-wal").exists(), "the scan must cover the WAL"


def test_scan_would_find_plaintext(tmp_path: Path) -> None:
    # The scan above is only worth something if it can fail: plant a name and find it.
    (tmp_path / STORE_FILE).write_bytes(b"\x00" * 64 + walk.FAMILY.encode() + b"\x00")
    assert _plaintext_hits(tmp_path) == [f"{STORE_FILE}: 0"]


def test_back_works_on_every_screen_and_keeps_answers(kiosk: MainWindow) -> None:
    walk.answer_everything(kiosk)
    click(kiosk.review.back_button)
    seen = []
    while kiosk.stack.currentWidget() is kiosk.question:
        step = kiosk.question.step
        assert step is not None
        seen.append(step.id)
        if step.id == "shimei":
            view = kiosk.question.view
            assert isinstance(view, NameView)
            assert (view.family.edit.text(), view.given.edit.text()) == ("窓口", "太郎")
        click(kiosk.question.back_button)
    assert seen == ["x_shiyo_mokuteki", "x_tsusu", "jusho_banchi", "jusho", "jusho_yubinbango",
                    "seinengappi", "shimei_furigana", "shimei"]
    assert kiosk.stack.currentWidget() is kiosk.home


def test_quit_mid_interview_and_resume_on_same_screen(make_window: WindowFactory) -> None:
    first = make_window(None)
    click(first.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(first)
    walk.answer_furigana(first)
    walk.answer_birth_date(first)
    # The reference code is on screen all through the visit.
    shown = first.top_bar.code.text()
    code = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", shown)
    assert first.top_bar.code.isVisible() and code is not None
    first.close()  # the resident walks away; the app is closed

    second = make_window(None)
    assert second.stack.currentWidget() is second.home
    assert second.home.resume_buttons == {}  # a kiosk never lists anyone's drafts
    click(second.home.code_button)
    assert second.stack.currentWidget() is second.resume_code
    # Typed as people do: lower case, full-width, no hyphen.
    typed = code.group().replace("-", "").lower()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in typed[4:])
    type_text(second.resume_code.field, typed[:4] + full_width)
    click(second.resume_code.next_button)
    assert second.stack.currentWidget() is second.question
    assert second.question.step is not None
    assert second.question.step.id == "jusho_yubinbango"
    click(second.question.back_button)
    view = second.question.view
    assert isinstance(view, DateView)
    assert view.era_buttons["heisei"].isChecked()
    assert (view.year.value(), view.month.value(), view.day.value()) == (2, 4, 1)


def test_start_over_shreds_the_draft(make_window: WindowFactory, tmp_path: Path,
                                     device_keys: MemoryKeyStore) -> None:
    first = make_window(None)
    click(first.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(first)
    assert first.visit.draft is not None
    draft_id = first.visit.draft.id
    click(first.question.back_button)
    click(first.question.back_button)  # first step: back goes home
    assert first.stack.currentWidget() is first.home
    click(first.home.procedure_buttons["juminhyo-utsushi"])  # the same procedure again
    assert first.stack.currentWidget() is first.duplicate
    assert first.duplicate.new_button.text() == "はじめから"
    click(first.duplicate.new_button)
    assert first.stack.currentWidget() is first.question
    assert first.visit.draft is not None and first.visit.draft.id != draft_id
    view = first.question.view
    assert isinstance(view, NameView) and view.family.edit.text() == ""
    store = DraftStore(tmp_path / STORE_FILE, device_keys)
    try:
        with pytest.raises(StoreError) as raised:
            store.load(draft_id)
        assert raised.value.message_id == "store.shredded"
    finally:
        store.close()


def test_wrong_input_shows_message_and_keeps_what_was_typed(kiosk: MainWindow) -> None:
    click(kiosk.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(kiosk)
    view = kiosk.question.view
    assert isinstance(view, NameView)
    type_text(view.family.edit, "madoguchi")
    click(kiosk.question.next_button)
    assert kiosk.question.step is not None and kiosk.question.step.id == "shimei_furigana"
    assert view.family.edit.text() == "madoguchi"
    errors = [label.text() for label in view._errors.values() if label.isVisible()]
    assert any("かな" in text for text in errors)
    assert any("名を入力" in text for text in errors)


def _open_date_step(kiosk: MainWindow) -> DateView:
    click(kiosk.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(kiosk)
    walk.answer_furigana(kiosk)
    view = kiosk.question.view
    assert isinstance(view, DateView)
    return view


def test_date_outside_its_era_is_explained(kiosk: MainWindow) -> None:
    view = _open_date_step(kiosk)
    click(view.era_buttons["heisei"])
    type_text(view.year.field, "31")
    type_text(view.month.field, "5")
    type_text(view.day.field, "1")
    click(kiosk.question.next_button)
    assert kiosk.question.view is view, "must stay on the date step"
    shown = view._errors["seinengappi"]
    assert shown.isVisible() and "平成31年4月30日" in shown.text()


def test_gannen_is_accepted_and_western_date_shown(kiosk: MainWindow) -> None:
    view = _open_date_step(kiosk)
    click(view.era_buttons["reiwa"])
    type_text(view.year.field, "元")
    type_text(view.month.field, "5")
    type_text(view.day.field, "1")
    assert "2019" in view.check.text() and "西暦" in view.check.text()
    click(kiosk.question.next_button)
    assert kiosk.visit.interview is not None
    assert kiosk.visit.interview.answers["seinengappi"] == "2019-05-01"


def test_unknown_postal_code_is_explained(kiosk: MainWindow) -> None:
    click(kiosk.home.procedure_buttons["juminhyo-utsushi"])
    for step in walk.ALL_STEPS[:3]:
        step(kiosk)
    view = kiosk.question.view
    assert isinstance(view, PostalCodeView)
    type_text(view.field.edit, "9999999")
    click(kiosk.question.next_button)
    assert kiosk.question.view is view
    assert "見つかりません" in view._errors["jusho_yubinbango"].text()
    assert view.field.edit.text() == "9999999"


def test_change_from_check_page_returns_to_check_page(kiosk: MainWindow) -> None:
    walk.answer_everything(kiosk)
    _answer, change = kiosk.review.rows["juminhyo-utsushi/x_tsusu"]
    click(change)
    assert kiosk.question.step is not None and kiosk.question.step.id == "x_tsusu"
    view = kiosk.question.view
    click(view.stepper._plus)  # type: ignore[union-attr]
    click(kiosk.question.next_button)
    assert kiosk.stack.currentWidget() is kiosk.review
    assert kiosk.review.rows["juminhyo-utsushi/x_tsusu"][0].text() == "3"


def test_offline_application_is_kept_with_reference_code(make_window: WindowFactory) -> None:
    # A gateway address where nothing listens: the network is down.
    window = make_window("http://127.0.0.1:9")
    walk.answer_everything(window)
    walk.send(window)
    assert "保存しました" in window.confirmation.heading.text()
    code = window.confirmation.number.text()
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    assert window.visit.draft is not None and window.store is not None
    state, attempts, _error = window.store.outbox_state(window.visit.draft.id)
    # The worker saw the gateway was unreachable before claiming it: no attempt was spent.
    assert (state, attempts) == ("pending", 0)
    assert window.sync_state is SyncState.OFFLINE
    assert not window.sync_status.isVisible()  # nothing alarming for a resident


def test_language_and_text_size_change_without_restart(qapp: object, kiosk: MainWindow) -> None:
    click(kiosk.home.procedure_buttons["juminhyo-utsushi"])
    assert kiosk.question.next_button.text() == "次へ"
    kiosk.top_bar.language.setCurrentIndex(
        kiosk.top_bar.language.findData("en")
    )
    assert kiosk.question.next_button.text() == "Next"
    assert kiosk.question.heading.text() == "What is your name?"
    base = kiosk.question.next_button.font().pointSizeF()
    click(kiosk.top_bar.size_buttons["extra_large"])
    assert kiosk.question.next_button.font().pointSizeF() > base
    heading = kiosk.question.heading.font().pointSizeF()
    assert heading > kiosk.question.next_button.font().pointSizeF()


def test_life_event_asks_then_lists_procedures_and_documents_then_sends_one_application(
    kiosk: MainWindow, gateway_store: GatewayStore
) -> None:
    from ui.screens.step_views import MultiChoiceView

    click(kiosk.home.event_buttons["shomeisho"])
    view = kiosk.question.view
    assert isinstance(view, MultiChoiceView)
    click(view.buttons["juminhyo"])
    click(kiosk.question.next_button)

    assert kiosk.stack.currentWidget() is kiosk.checklist
    listed = kiosk.checklist.list.text()
    assert "住民票の写しがほしい" in listed and "1通300円" in listed
    assert "戸籍" not in listed  # only what the resident chose
    click(kiosk.checklist.next_button)

    for step in walk.ALL_STEPS:
        step(kiosk)
    assert kiosk.stack.currentWidget() is kiosk.review
    walk.send(kiosk)

    (stored,) = gateway_store.applications()
    procedures = stored.payload["procedures"]
    assert [p["procedureId"] for p in procedures] == ["juminhyo-utsushi"]
    assert procedures[0]["data"]["shimei"] == "窓口　太郎"
    assert procedures[0]["data"]["x_tsusu"] == 2
    assert "x_shomeisho_shurui" not in procedures[0]["data"]  # the navigator's own question


def test_unknown_is_not_offered_where_an_answer_is_needed(kiosk: MainWindow) -> None:
    click(kiosk.home.event_buttons["shomeisho"])
    assert not kiosk.question.unknown_button.isVisible()  # the certificate choice needs an answer
