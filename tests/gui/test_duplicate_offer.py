"""Starting something already started: continue the draft instead of making a duplicate."""

from __future__ import annotations

from desk.policy import Role
from tests.gui.conftest import AccountFactory, WindowFactory
from ui import demo_walk as walk
from ui.main_window import MainWindow
from ui.screens.step_views import MultiChoiceView, NameView
from ui.user_input import click, type_text


def _start_then_go_home(window: MainWindow) -> str:
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(window)
    walk.answer_furigana(window)
    assert window.visit.draft is not None
    draft_id = window.visit.draft.id
    for _ in range(3):  # back to the first question, then home
        click(window.question.back_button)
    assert window.stack.currentWidget() is window.home
    return draft_id


def test_kiosk_resident_is_offered_their_own_draft_and_continues_it(
    make_window: WindowFactory,
) -> None:
    window = make_window()
    draft_id = _start_then_go_home(window)
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    page = window.duplicate
    assert window.stack.currentWidget() is page
    assert "住民票の写し" in page.what.text()
    assert page.when.text().startswith("最後に保存した日時：")
    assert page.next_button.hasFocus()
    click(page.next_button)  # 前回の続きから
    assert window.stack.currentWidget() is window.question
    assert window.visit.draft is not None and window.visit.draft.id == draft_id
    view = window.question.view
    assert isinstance(view, NameView)
    assert (view.family.edit.text(), view.given.edit.text()) == (walk.FAMILY, walk.GIVEN)


def test_back_from_the_offer_goes_home(make_window: WindowFactory) -> None:
    window = make_window()
    _start_then_go_home(window)
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    click(window.duplicate.back_button)
    assert window.stack.currentWidget() is window.home


def test_life_event_is_offered_too(make_window: WindowFactory) -> None:
    window = make_window()
    click(window.home.event_buttons["shomeisho"])
    view = window.question.view
    assert isinstance(view, MultiChoiceView)
    click(view.buttons["juminhyo"])
    click(window.question.next_button)
    assert window.stack.currentWidget() is window.checklist
    click(window.checklist.back_button)
    click(window.question.back_button)
    assert window.stack.currentWidget() is window.home
    click(window.home.event_buttons["shomeisho"])
    assert window.stack.currentWidget() is window.duplicate
    click(window.duplicate.next_button)
    view = window.question.view
    assert isinstance(view, MultiChoiceView) and view.buttons["juminhyo"].isChecked()


def test_another_residents_visit_is_never_offered_at_a_kiosk(make_window: WindowFactory) -> None:
    window = make_window()
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(window)
    click(window.top_bar.later_button)  # あとで続ける
    click(window.saved.next_button)  # おわる: this resident's visit ends
    click(window.home.procedure_buttons["juminhyo-utsushi"])  # the next resident
    assert window.stack.currentWidget() is window.question
    view = window.question.view
    assert isinstance(view, NameView) and view.family.edit.text() == ""


def test_staff_start_a_new_one_and_the_earlier_draft_stays(
    make_window: WindowFactory, add_account: AccountFactory
) -> None:
    add_account("suzuki", Role.VOLUNTEER, "3690")
    window = make_window(mode="desk")
    type_text(window.sign_in.login, "suzuki")
    type_text(window.sign_in.pin, "3690")
    click(window.sign_in.next_button)
    first = _start_then_go_home(window)
    assert list(window.home.resume_buttons) == [first]  # desks list their own drafts
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    page = window.duplicate
    assert page.new_button.text() == "新しく始める"
    assert "残ります" in page.new_note.text()
    click(page.new_button)
    assert window.stack.currentWidget() is window.question
    assert window.visit.draft is not None and window.visit.draft.id != first
    click(window.question.back_button)
    assert len(window.home.resume_buttons) == 2 and first in window.home.resume_buttons
