"""Signing in and out at a desk or counter, as staff and volunteers do it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLineEdit

from desk.config import STORE_FILE
from desk.policy import Role
from desk.store.accounts import AccountStore
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from tests.gui.conftest import CHEAP_KDF, AccountFactory, WindowFactory
from ui.main_window import MainWindow
from ui.screens.step_views import NameView
from ui.user_input import click, type_text


def _sign_in(window: MainWindow, login: str, pin: str) -> None:
    page = window.sign_in
    page.login.setText("")
    type_text(page.login, login)
    type_text(page.pin, pin)
    click(page.next_button)


def test_desk_starts_at_sign_in_and_only_then_shows_home(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    assert window.stack.currentWidget() is window.sign_in
    assert window.focusWidget() is window.sign_in.login
    assert window.sign_in.pin.echoMode() == QLineEdit.EchoMode.Password
    assert not window.sign_in.no_accounts.isVisible()
    _sign_in(window, "Suzuki", "3690")  # login ids are not case-sensitive
    assert window.stack.currentWidget() is window.home
    assert window.top_bar.user.isVisible() and "suzuki" in window.top_bar.user.text()
    assert window.service is not None
    assert (window.service.actor.role, window.service.actor.login) == (Role.VOLUNTEER, "suzuki")
    assert window.sign_in.pin.text() == ""  # the PIN does not stay in the field


def test_wrong_pin_is_explained_and_the_id_kept(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    _sign_in(window, "suzuki", "3691")
    page = window.sign_in
    assert window.stack.currentWidget() is page
    assert page.message.isVisible() and "PINがちがいます" in page.message.text()
    assert page.login.text() == "suzuki" and page.pin.text() == ""
    assert window.focusWidget() is page.pin
    _sign_in(window, "nobody", "3690")  # an unknown ID gets the very same answer
    assert "PINがちがいます" in page.message.text()


def test_five_wrong_pins_lock_the_sign_in_for_minutes(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    for _ in range(5):
        _sign_in(window, "suzuki", "0000")
    _sign_in(window, "suzuki", "3690")  # even the right PIN waits now
    message = window.sign_in.message.text()
    assert window.stack.currentWidget() is window.sign_in
    assert "15 分間ロック" in message


def test_empty_fields_ask_for_id_and_pin(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    click(window.sign_in.next_button)
    assert "IDとPINを入力" in window.sign_in.message.text()


def test_a_device_without_sign_ins_says_how_to_add_one(make_window: WindowFactory) -> None:
    window = make_window(mode="counter")
    assert window.stack.currentWidget() is window.sign_in
    hint = window.sign_in.no_accounts
    assert hint.isVisible() and "madoguchi accounts add" in hint.text()
    _sign_in(window, "tanaka", "2580")
    assert window.stack.currentWidget() is window.sign_in


def test_number_pad_types_the_pin(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    type_text(window.sign_in.login, "suzuki")
    window.sign_in.pin.setFocus()
    pad = window.sign_in.form.pad
    assert pad is not None
    for digit in "3690":
        click(pad._digit_buttons["1234567890".index(digit)])
    assert window.sign_in.pin.text() == "3690"
    click(window.sign_in.next_button)
    assert window.stack.currentWidget() is window.home


def test_sign_out_wipes_the_visit_and_asks_the_next_person_to_sign_in(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    _sign_in(window, "suzuki", "3690")
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    view = window.question.view
    assert isinstance(view, NameView)
    type_text(view.family.edit, "窓口")
    click(window.top_bar.sign_out_button)
    assert window.stack.currentWidget() is window.sign_in
    assert window.visit.interview is None and window.question.view is None
    assert window.sign_in.login.text() == ""
    assert not window.top_bar.user.isVisible()
    assert window.service is not None and window.service.actor.role is Role.RESIDENT


def test_reset_pin_must_be_changed_at_sign_in(
    make_window: WindowFactory, add_account: AccountFactory, tmp_path: Path,
    device_keys: MemoryKeyStore,
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    store = DraftStore(tmp_path / STORE_FILE, device_keys)
    try:
        AccountStore(store.engine, CHEAP_KDF).reset_pin("suzuki", "8642", actor="boss")
    finally:
        store.close()
    window = make_window(mode="desk")
    _sign_in(window, "suzuki", "8642")
    page = window.sign_in
    assert window.stack.currentWidget() is page and page.new_pin.isVisible()
    assert "新しいPIN" in page.heading.text() and not page.login.isVisible()

    type_text(page.new_pin, "7395")
    type_text(page.again, "7396")
    click(page.next_button)
    assert "同じではありません" in page.message.text()
    type_text(page.new_pin, "1111")
    type_text(page.again, "1111")
    click(page.next_button)
    assert "4文字以上" in page.message.text()
    type_text(page.new_pin, "7395")
    type_text(page.again, "7395")
    click(page.next_button)
    assert window.stack.currentWidget() is window.home

    click(window.top_bar.sign_out_button)
    _sign_in(window, "suzuki", "7395")
    assert window.stack.currentWidget() is window.home


def test_kiosk_never_asks_to_sign_in(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.stack.currentWidget() is window.home
    assert not window.top_bar.sign_out_button.isVisible()
