"""Coming back to a saved visit with its reference code, and 「あとで続ける」, as residents do."""

from __future__ import annotations

import re

from desk.policy import Role
from tests.gui.conftest import AccountFactory, WindowFactory
from ui import demo_walk as walk
from ui.main_window import MainWindow
from ui.screens.step_views import NameView
from ui.user_input import click, type_text

CODE = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}")


def _save_for_later(window: MainWindow) -> str:
    """Start 住民票, answer the name, press 「あとで続ける」; return the code shown large."""
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(window)
    assert window.top_bar.later_button.isVisible()
    click(window.top_bar.later_button)
    assert window.stack.currentWidget() is window.saved
    code = window.saved.code.text()
    assert CODE.fullmatch(code)
    assert "このコード" in window.saved.how.text() or "整理番号" in window.saved.how.text()
    return code


def _enter_code(window: MainWindow, code: str) -> None:
    if window.stack.currentWidget() is not window.resume_code:
        click(window.home.code_button)
    window.resume_code.field.setText("")
    type_text(window.resume_code.field, code)
    click(window.resume_code.next_button)


def test_save_for_later_shows_the_code_then_the_code_brings_the_visit_back(
    make_window: WindowFactory,
) -> None:
    window = make_window()
    code = _save_for_later(window)
    assert window.saved.code.accessibleName().endswith(code)
    click(window.saved.next_button)  # おわる: the visit ends, the next person starts clean
    assert window.stack.currentWidget() is window.home
    assert window.visit.interview is None
    assert not window.top_bar.code.isVisible()

    # Back later: the code alone reopens the visit on the screen where it was left.
    _enter_code(window, code.lower())
    assert window.stack.currentWidget() is window.question
    assert window.question.step is not None and window.question.step.id == "shimei_furigana"
    click(window.question.back_button)
    view = window.question.view
    assert isinstance(view, NameView)
    assert (view.family.edit.text(), view.given.edit.text()) == (walk.FAMILY, walk.GIVEN)


def test_back_from_the_saved_page_returns_to_the_question(make_window: WindowFactory) -> None:
    window = make_window()
    _save_for_later(window)
    click(window.saved.back_button)
    assert window.stack.currentWidget() is window.question
    assert window.question.step is not None and window.question.step.id == "shimei_furigana"


def test_wrong_code_is_explained_and_kept_in_the_field(make_window: WindowFactory) -> None:
    window = make_window()
    _enter_code(window, "zzzz-2222")
    assert window.stack.currentWidget() is window.resume_code
    message = window.resume_code.message
    assert message.isVisible() and "見つかりません" in message.text()
    assert window.resume_code.field.text() == "zzzz-2222"
    assert window.resume_code.field.hasFocus()


def test_empty_code_asks_for_one(make_window: WindowFactory) -> None:
    window = make_window()
    click(window.home.code_button)
    click(window.resume_code.next_button)
    assert window.resume_code.message.isVisible()
    assert "整理番号を入力" in window.resume_code.message.text()


def test_five_wrong_codes_pause_even_the_right_one(make_window: WindowFactory) -> None:
    window = make_window()
    code = _save_for_later(window)
    click(window.saved.next_button)
    message = window.resume_code.message
    for _ in range(5):
        _enter_code(window, "2222-2222")
        assert "見つかりません" in message.text()
    _enter_code(window, code)  # now even the right code waits: guessing stays slow
    assert window.stack.currentWidget() is window.resume_code
    assert "1分" in message.text() and "待って" in message.text()
    assert window.resume_code.field.text() == code


def test_back_from_the_code_page_goes_home_and_forgets_the_text(
    make_window: WindowFactory,
) -> None:
    window = make_window()
    _enter_code(window, "abcd")
    click(window.resume_code.back_button)
    assert window.stack.currentWidget() is window.home
    click(window.home.code_button)
    assert window.resume_code.field.text() == ""
    assert not window.resume_code.message.isVisible()


def test_counter_staff_take_over_a_kiosk_visit_by_its_code(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    kiosk = make_window()
    code = _save_for_later(kiosk)
    click(kiosk.saved.next_button)
    kiosk.close()

    add_account("tanaka", Role.STAFF, "2580")
    counter = make_window(mode="counter")
    type_text(counter.sign_in.login, "tanaka")
    type_text(counter.sign_in.pin, "2580")
    click(counter.sign_in.next_button)
    assert counter.stack.currentWidget() is counter.home
    _enter_code(counter, code)
    assert counter.stack.currentWidget() is counter.question
    assert counter.visit.draft is not None
    assert counter.visit.draft.desk_id == "counter-1"  # the draft moved to this counter


def test_volunteer_cannot_open_another_desks_code(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    kiosk = make_window()
    code = _save_for_later(kiosk)
    click(kiosk.saved.next_button)
    kiosk.close()

    add_account("suzuki", Role.VOLUNTEER, "3690")
    desk = make_window(mode="desk")
    type_text(desk.sign_in.login, "suzuki")
    type_text(desk.sign_in.pin, "3690")
    click(desk.sign_in.next_button)
    _enter_code(desk, code)
    assert desk.stack.currentWidget() is desk.resume_code
    assert "この端末" in desk.resume_code.message.text()  # policy.denied, worded
