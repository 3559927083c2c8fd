"""The session pages (code, saved, offer, sign-in, lock, warning, drafts off) for keyboard and
screen-reader users: Tab follows reading order, every field is labelled, every text translates."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget

from desk.errors import KeyUnavailableError
from desk.policy import Role
from tests.gui.conftest import AccountFactory, WindowFactory
from ui import demo_walk as walk
from ui.main_window import IdleTimes, MainWindow
from ui.screens.base import Page
from ui.user_input import click, type_text

LONG = IdleTimes(kiosk_warning_after_s=600, kiosk_countdown_s=30, staff_lock_after_s=600)


def tab_chain(page: QWidget, start: QWidget) -> list[QWidget]:
    """The widgets of `page` that Tab visits, in order, from `start` round to it again."""
    chain = [start]
    widget = start.nextInFocusChain()
    while widget is not start and widget is not None and len(chain) < 500:
        if (page.isAncestorOf(widget) and widget.isVisibleTo(page) and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
            chain.append(widget)
        widget = widget.nextInFocusChain()
    return chain


def assert_labelled(page: Page) -> None:
    """Every visible field has an accessible name and a label pointing at it; buttons say
    what they do."""
    buddies = {label.buddy() for label in page.findChildren(QLabel) if label.buddy()}
    for edit in page.findChildren(QLineEdit):
        if edit.isVisibleTo(page):
            assert edit.accessibleName(), edit
            assert edit in buddies, edit.accessibleName()
    for button in page.findChildren(QAbstractButton):
        if button.isVisibleTo(page) and button.focusPolicy() & Qt.FocusPolicy.TabFocus:
            assert button.text() or button.accessibleName(), button


def assert_order(page: Page, expected: list[QWidget]) -> None:
    chain = tab_chain(page, expected[0])
    names = [w.accessibleName() or getattr(w, "text", str)() for w in chain]
    assert chain == expected, names  # reading order, and nothing else takes the focus
    assert_labelled(page)


def _sign_in(window: MainWindow) -> None:
    type_text(window.sign_in.login, "tanaka")
    type_text(window.sign_in.pin, "2580")
    click(window.sign_in.next_button)


def test_code_saved_and_offer_pages(make_window: WindowFactory) -> None:
    window = make_window(idle=LONG)
    click(window.home.code_button)
    page = window.resume_code
    assert_order(page, [page.field, page.back_button, page.next_button])
    assert window.focusWidget() is page.field
    click(page.back_button)

    click(window.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(window)
    click(window.top_bar.later_button)
    saved = window.saved
    assert_order(saved, [saved.back_button, saved.next_button])
    assert saved.code.font().pointSizeF() > saved.how.font().pointSizeF() * 2
    click(saved.back_button)
    for _ in range(2):
        click(window.question.back_button)
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    offer = window.duplicate
    assert_order(offer, [offer.new_button, offer.back_button, offer.next_button])


def test_sign_in_lock_pages(make_window: WindowFactory, add_account: AccountFactory) -> None:
    add_account("tanaka", Role.STAFF, "2580")
    window = make_window(mode="counter", idle=LONG)
    page = window.sign_in
    assert_order(page, [page.login, page.pin, page.next_button])
    _sign_in(window)
    window.lock()
    lock = window.lock_page
    assert_order(lock, [lock.pin, lock.back_button, lock.next_button])
    assert lock.pin.echoMode() == QLineEdit.EchoMode.Password


def test_new_pin_page(make_window: WindowFactory, add_account: AccountFactory) -> None:
    from desk.store.accounts import AccountStore
    from desk.store.drafts import DraftStore
    from tests.gui.conftest import CHEAP_KDF

    add_account("tanaka", Role.STAFF, "2580")
    window = make_window(mode="counter", idle=LONG)
    store = window.store
    assert isinstance(store, DraftStore)
    AccountStore(store.engine, CHEAP_KDF).reset_pin("tanaka", "8642", actor="boss")
    type_text(window.sign_in.login, "tanaka")
    type_text(window.sign_in.pin, "8642")
    click(window.sign_in.next_button)
    page = window.sign_in
    assert_order(page, [page.new_pin, page.again, page.next_button])


def test_warning_and_drafts_off_pages(qtbot: object, make_window: WindowFactory) -> None:
    window = make_window(keys=None, key_problem=KeyUnavailableError("store.passphrase_needed"),
                         key_store="passphrase", idle=LONG)
    problem = window.problem_page
    assert_order(problem, [problem.passphrase, problem.retry_button, problem.next_button])
    click(problem.next_button)
    window.services.idle = IdleTimes(kiosk_warning_after_s=0.1, kiosk_countdown_s=30)
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: window.stack.currentWidget() is window.idle_page, timeout=10_000)
    warning = window.idle_page
    assert_order(warning, [warning.next_button])
    assert window.focusWidget() is warning.next_button


@pytest.mark.parametrize("language", ["en", "ja-easy", "zh-Hans", "ko", "vi", "pt-BR"])
def test_session_pages_retranslate_without_restart(
    make_window: WindowFactory, add_account: AccountFactory, language: str
) -> None:
    add_account("tanaka", Role.STAFF, "2580")
    window = make_window(mode="desk", idle=LONG)
    japanese = {page: _texts(page) for page in _session_pages(window)}
    window.top_bar.language.setCurrentIndex(window.top_bar.language.findData(language))
    for page in _session_pages(window):
        translated = _texts(page)
        assert translated != japanese[page], type(page).__name__
        if language == "en":
            assert not any(_has_kana(text) for text in translated), type(page).__name__
    window.top_bar.language.setCurrentIndex(window.top_bar.language.findData("ja"))


def _session_pages(window: MainWindow) -> list[Page]:
    return [window.resume_code, window.saved, window.duplicate, window.sign_in,
            window.lock_page, window.idle_page, window.problem_page]


def _texts(page: Page) -> list[str]:
    texts = [label.text() for label in page.findChildren(QLabel) if label.text()]
    texts += [button.text() for button in page.findChildren(QAbstractButton) if button.text()]
    texts += [edit.accessibleName() for edit in page.findChildren(QLineEdit)]
    return texts


def _has_kana(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" for ch in text)
