"""Acceptance test 4 on screen: a write error keeps the form, says so, leaves the store as is."""

from __future__ import annotations

from pathlib import Path

from desk.config import STORE_FILE
from desk.store.database import checkpoint
from desk.store.drafts import DRAFT, READY
from tests.gui.conftest import WindowFactory
from tests.reliability.faults import dump, wal_cannot_grow
from tests.reliability.workload import query
from ui import demo_walk as walk
from ui.main_window import MainWindow
from ui.screens.step_views import NameView
from ui.user_input import click, type_text

COULD_NOT_SAVE = "この端末に保存できませんでした。"
STILL_ON_SCREEN = "入力した内容は画面に残っています。"


def _fresh_wal(window: MainWindow) -> None:
    # The WAL starts over, so the next commits append to it and a size limit can refuse them.
    checkpoint(window.store.engine)


def _step_id(window: MainWindow) -> str | None:
    step = window.question.step
    return step.id if step is not None else None


def test_write_error_on_next_keeps_typed_answer_and_says_so(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    """Acceptance test 4 (GUI): the disk refuses the autosave when 次へ is pressed.

    The furigana typed on the screen stays there, a message in Japanese says it could not be
    saved and that the input is still on the screen, and the store still holds the answers of
    the screen before. Once the disk takes writes again, pressing 次へ saves and goes on.
    """
    window = make_window(None)
    db = tmp_path / STORE_FILE
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    _fresh_wal(window)
    walk.answer_name(window)
    assert window.visit.draft is not None
    draft_id = window.visit.draft.id
    rows = dump(db)
    saved = window.store.load(draft_id).answers
    assert "shimei" in saved and "shimei_furigana" not in saved

    view = window.question.view
    assert isinstance(view, NameView) and _step_id(window) == "shimei_furigana"
    type_text(view.family.edit, "まどぐち")
    type_text(view.given.edit, "たろう")
    typed = (view.family.edit.text(), view.given.edit.text())
    assert all(typed)
    with wal_cannot_grow(db):
        click(window.question.next_button)

    assert window.stack.currentWidget() is window.question
    assert window.question.view is view and _step_id(window) == "shimei_furigana"
    kept = (view.family.edit.text(), view.given.edit.text()) == typed
    assert kept, "the typed answer is no longer on the screen"  # values never printed
    banner = window.question.banner
    assert banner.isVisible()
    assert COULD_NOT_SAVE in banner.text() and STILL_ON_SCREEN in banner.text()
    assert dump(db) == rows, "the failed save changed the store"
    unchanged = window.store.load(draft_id).answers == saved
    assert unchanged, "the store no longer holds the previous answers"

    click(window.question.next_button)  # the disk takes writes again
    assert _step_id(window) == "seinengappi"
    assert not banner.isVisible()
    now = window.store.load(draft_id).answers
    went_on = "shimei_furigana" in now and now["shimei"] == saved["shimei"]
    assert went_on, "the furigana was not saved on the second try"


def test_write_error_on_send_keeps_draft_and_says_so(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    """Acceptance test 4 (GUI): the disk refuses finalize when 送信 is pressed.

    The declaration page stays with the message in Japanese; the draft is still a DRAFT with
    no outbox row. Pressing 送信 again once the disk takes writes finalizes it exactly once.
    """
    window = make_window(None)
    db = tmp_path / STORE_FILE
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    *steps, last = walk.ALL_STEPS
    for step in steps:
        step(window)
    _fresh_wal(window)
    last(window)
    assert window.stack.currentWidget() is window.review
    assert window.visit.draft is not None
    draft_id = window.visit.draft.id
    walk.next_page(window)
    click(window.declaration.agree)
    rows = dump(db)

    with wal_cannot_grow(db):
        walk.next_page(window)
    assert window.stack.currentWidget() is window.declaration
    status = window.declaration.status
    assert status.isVisible() and COULD_NOT_SAVE in status.text()
    assert window.declaration.next_button.isEnabled(), "the resident can try again"
    assert dump(db) == rows, "the failed finalize changed the store"
    assert query(db, "SELECT status FROM drafts WHERE id = ?", (draft_id,)) == [(DRAFT,)]

    walk.next_page(window)
    assert window.stack.currentWidget() is window.confirmation
    assert query(db, "SELECT status FROM drafts WHERE id = ?", (draft_id,)) == [(READY,)]
    outbox = "SELECT count(*) FROM outbox WHERE application_id = ?"
    assert query(db, outbox, (draft_id,)) == [(1,)]
