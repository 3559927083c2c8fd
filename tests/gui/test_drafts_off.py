"""A damaged store or a missing device key: the app still starts, says why, saves nothing."""

from __future__ import annotations

from pathlib import Path

from desk.config import STORE_FILE
from desk.errors import KeyUnavailableError
from desk.policy import Role
from desk.store.keys import PassphraseKeyStore
from tests.gui.conftest import CHEAP_KDF, AccountFactory, WindowFactory
from ui import demo_walk as walk
from ui.user_input import click, type_text

PASSPHRASE = "madoguchi-staff-passphrase"


def _damage(profile: Path) -> bytes:
    garbage = b"this is not a database " * 200
    (profile / STORE_FILE).write_bytes(garbage)
    return garbage


def test_damaged_store_keeps_the_file_says_so_and_runs_without_saving(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    garbage = _damage(tmp_path)
    window = make_window()
    page = window.problem_page
    assert window.stack.currentWidget() is page
    assert "壊れています" in page.reason.text()
    assert "madoguchi restore FILE" in page.hint.text()
    assert not page.retry_button.isVisible() and not page.passphrase.isVisible()
    assert window.banner.isVisible() and "保存されません" in window.banner.text()

    click(page.next_button)  # 保存しないで続ける
    assert window.stack.currentWidget() is window.home
    assert window.banner.isVisible()
    assert not window.home.code_button.isVisible()  # nothing saved, nothing to come back to
    walk.answer_everything(window)
    assert window.stack.currentWidget() is window.review
    assert not window.top_bar.later_button.isVisible()
    walk.next_page(window)
    click(window.declaration.agree)
    assert not window.declaration.next_button.isEnabled()
    assert "送信できません" in window.declaration.status.text()
    assert (tmp_path / STORE_FILE).read_bytes() == garbage  # kept exactly as it was


def test_counter_with_a_damaged_store_cannot_go_on_without_sign_ins(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    _damage(tmp_path)
    window = make_window(mode="counter")
    assert window.stack.currentWidget() is window.problem_page
    assert not window.problem_page.next_button.isVisible()


def test_passphrase_typed_by_staff_turns_drafts_on(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    PassphraseKeyStore(tmp_path, PASSPHRASE, params=CHEAP_KDF).provision()
    window = make_window(keys=None, key_problem=KeyUnavailableError("store.passphrase_needed"),
                         key_store="passphrase")
    page = window.problem_page
    assert window.stack.currentWidget() is page
    assert page.passphrase.isVisible() and page.retry_button.isVisible()
    assert "パスフレーズ" in page.reason.text()

    type_text(page.passphrase, "not the passphrase")
    click(page.retry_button)
    assert "パスフレーズがちがいます" in page.message.text()
    assert page.passphrase.text() == ""

    type_text(page.passphrase, PASSPHRASE)
    click(page.retry_button)
    assert window.stack.currentWidget() is window.home
    assert not window.banner.isVisible() and window.drafts_on
    assert window.home.code_button.isVisible()
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(window)
    assert window.visit.draft is not None and window.store is not None
    assert window.store.load(window.visit.draft.id).answers["shimei"]["family"] == walk.FAMILY


def test_desk_without_keyring_still_signs_in_and_works_unsaved(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk", keys=None,
                         key_problem=KeyUnavailableError("store.no_keyring"))
    page = window.problem_page
    assert "キーリング" in page.hint.text()
    click(page.next_button)
    assert window.stack.currentWidget() is window.sign_in
    type_text(window.sign_in.login, "suzuki")
    type_text(window.sign_in.pin, "3690")
    click(window.sign_in.next_button)
    assert window.stack.currentWidget() is window.home
    assert window.banner.isVisible() and "鍵" in window.banner.text()
    assert window.home.resume_buttons == {}
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(window)
    assert window.question.step is not None and window.question.step.id == "shimei_furigana"
    assert window.visit.draft is None  # in memory only
