"""住民票の写し等の交付請求 as a resident takes it: typing and clicking, nothing else.

Shared by `make screenshots` and the GUI tests, so both walk the screens the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from ui.main_window import MainWindow
from ui.screens.step_views import (
    ChoiceView,
    CountView,
    DateView,
    NameView,
    PostalCodeView,
    StepView,
    TextView,
)
from ui.user_input import click, type_text, wait_until

# Obviously fake resident data: 窓口 太郎, 〒100-0014.
FAMILY, GIVEN = "窓口", "太郎"
BUILDING = "まどぐちハイツ101"
BLOCK = "1-7-1"


Snap = Callable[[str], None] | None  # called with a screen name before leaving the screen


def view(window: MainWindow) -> StepView:
    """The input view on screen."""
    assert window.stack.currentWidget() is window.question, "not on a question page"
    assert window.question.view is not None
    return window.question.view


def next_page(window: MainWindow, snap: Snap = None, name: str = "") -> None:
    """Take the screenshot, if any, then press 次へ on the current page."""
    if snap is not None:
        snap(name)
    page = window.stack.currentWidget()
    button = getattr(page, "next_button")  # noqa: B009 - every page has one
    assert isinstance(button, QWidget)
    click(button)


def answer_name(window: MainWindow, snap: Snap = None, family: str = FAMILY,
                given: str = GIVEN) -> None:
    v = view(window)
    assert isinstance(v, NameView)
    type_text(v.family.edit, family)
    type_text(v.given.edit, given)
    next_page(window, snap, "02-name")


def answer_furigana(window: MainWindow, snap: Snap = None) -> None:
    v = view(window)
    assert isinstance(v, NameView)
    type_text(v.family.edit, "まどぐち")  # hiragana: the field turns it into katakana
    type_text(v.given.edit, "たろう")
    next_page(window, snap, "03-furigana")


def answer_birth_date(window: MainWindow, snap: Snap = None, era: str = "heisei",
                      year: str = "2", month: str = "4", day: str = "1") -> None:
    v = view(window)
    assert isinstance(v, DateView)
    click(v.era_buttons[era])
    type_text(v.year.field, year)
    type_text(v.month.field, month)
    type_text(v.day.field, day)
    next_page(window, snap, "04-birth-date")


def answer_postal_code(window: MainWindow, snap: Snap = None, code: str = "1000014") -> None:
    v = view(window)
    assert isinstance(v, PostalCodeView)
    digits = "1234567890"
    for digit in code:  # on the kiosk's number pad
        click(v.pad._digit_buttons[digits.index(digit)])
    next_page(window, snap, "05-postal-code")


def answer_address(window: MainWindow, snap: Snap = None) -> None:
    # The one candidate of 100-0014 is preselected; the resident confirms it.
    next_page(window, snap, "06-address")


def answer_block(window: MainWindow, snap: Snap = None) -> None:
    v = view(window)
    assert isinstance(v, TextView)
    type_text(v.fields["jusho_banchigohyoki"].edit, BLOCK)
    type_text(v.fields["jusho_katagaki"].edit, BUILDING)
    next_page(window, snap, "07-block-number")


def answer_copies(window: MainWindow, snap: Snap = None) -> None:
    v = view(window)
    assert isinstance(v, CountView)
    click(v.stepper._plus)  # 1 → 2
    next_page(window, snap, "08-copies")


def answer_purpose(window: MainWindow, snap: Snap = None) -> None:
    v = view(window)
    assert isinstance(v, ChoiceView)
    click(v.buttons["kinyu"])
    next_page(window, snap, "09-purpose")


ALL_STEPS = (answer_name, answer_furigana, answer_birth_date, answer_postal_code,
             answer_address, answer_block, answer_copies, answer_purpose)


def answer_everything(window: MainWindow, snap: Snap = None) -> None:
    """Start the procedure from the home page and answer every question."""
    if snap is not None:
        snap("01-home")
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    for step in ALL_STEPS:
        step(window, snap)


def send(window: MainWindow, snap: Snap = None) -> None:
    """From the check page: agree to the declaration, send, and wait for the confirmation."""
    next_page(window, snap, "10-check-answers")
    click(window.declaration.agree)
    next_page(window, snap, "11-declaration")
    wait_until(lambda: window.stack.currentWidget() is window.confirmation)
    if snap is not None:
        snap("12-confirmation")
