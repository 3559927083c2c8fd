"""The input views of the question page, used like a resident would: tap, type, read the screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desk.catalog.model import ITEM_TYPES, Item, Option, Step
from desk.catalog.text import LocalizedText
from desk.interview.issues import Issue
from desk.interview.validation import validate_item
from desk.rules.evaluate import UNKNOWN_ANSWER
from ui.format import format_answer
from ui.i18n import _, set_language
from ui.messages import MESSAGES, issue_text
from ui.screens.question import QuestionPage
from ui.screens.step_views import (
    BankAccountView,
    DateView,
    GroupView,
    MultiChoiceView,
    MyNumberView,
    NumberView,
    PhoneView,
    StepView,
    YesNoView,
    view_for,
)
from ui.user_input import type_text
from ui.widgets.buttons import BigButton
from ui.widgets.flow import FlowLayout

MYNUMBER = "621498320257"  # fake, with a correct check digit
TODAY = dt.date(2026, 11, 21)


def text(ja: str, en: str) -> LocalizedText:
    return LocalizedText({"ja": ja, "en": en})


def make_step(item_type: str, **item_fields: Any) -> Step:
    unknown_allowed = item_fields.pop("unknown_allowed", False)
    fields: dict[str, Any] = {"label": text("ラベル", "Label")}
    fields.update(item_fields)
    item = Item(id=f"x_{item_type}", type=item_type, **fields)
    return Step(id=f"s_{item_type}", items=(item,), question=text("質問", "Question"),
                unknown_allowed=unknown_allowed)


OPTIONS = (
    Option("kenko", text("健康保険", "Health insurance")),
    Option("nenkin", text("年金", "Pension")),
    Option("jido", text("児童手当", "Child allowance")),
)


@pytest.fixture(autouse=True)
def japanese() -> Iterator[None]:
    set_language("ja")
    yield
    set_language("ja")


@pytest.fixture
def show(qtbot: QtBot) -> Any:
    """Build the view for a step and show it, as the question page would."""

    def build(step: Step, answers: dict[str, Any] | None = None) -> StepView:
        view = view_for(step)
        qtbot.addWidget(view)
        view.set_values(answers or {})
        with qtbot.waitActive(view):
            view.show()
        view.first_focus().setFocus()
        return view

    return build


def button(parent: QWidget, label: str) -> QPushButton:
    """The one visible button showing `label` (as its text or its accessible name)."""
    found = [b for b in parent.findChildren(QPushButton)
             if b.isVisible() and label in (b.text(), b.accessibleName())]
    assert len(found) == 1, (label, [b.text() for b in found])
    return found[0]


def tap(qtbot: QtBot, parent: QWidget, *labels: str) -> None:
    for label in labels:
        qtbot.mouseClick(button(parent, label), Qt.MouseButton.LeftButton)


def errors_shown(view: QWidget) -> list[str]:
    return [label.text() for label in view.findChildren(QLabel)
            if label.property("role") == "error" and label.isVisible()]


# -- every type -----------------------------------------------------------------------------


@pytest.mark.parametrize("item_type", ITEM_TYPES)
def test_every_item_type_has_a_view_that_treats_unknown_as_empty(
    qtbot: QtBot, item_type: str
) -> None:
    step = make_step(item_type, options=OPTIONS if "choice" in item_type else ())
    view = view_for(step)
    qtbot.addWidget(view)
    assert type(view) is not StepView
    view.set_values({step.items[0].id: dict(UNKNOWN_ANSWER), "x_postal": dict(UNKNOWN_ANSWER)})
    values, _issues = view.values()
    assert values[step.items[0].id] != UNKNOWN_ANSWER
    assert step.items[0].id in values


# -- yes / no -------------------------------------------------------------------------------


def test_yes_no_is_none_until_chosen_then_one_of_two(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("yes_no"))
    assert view.values() == ({"x_yes_no": None}, [])
    tap(qtbot, view, "はい")
    assert view.values() == ({"x_yes_no": True}, [])
    tap(qtbot, view, "いいえ")
    assert view.values() == ({"x_yes_no": False}, [])
    yes, no = button(view, "はい"), button(view, "いいえ")
    assert not yes.isChecked() and no.isChecked()
    # The state shows as a mark, not only as a color.
    assert no.text().startswith("●") and yes.text().startswith("○")


def test_yes_no_round_trip_and_issue(show: Any) -> None:
    view = show(make_step("yes_no"), {"x_yes_no": False})
    assert isinstance(view, YesNoView)
    assert view.values() == ({"x_yes_no": False}, [])
    view.show_issues([Issue("x_yes_no", "yes_no.choose")])
    assert errors_shown(view) == ["「はい」か「いいえ」を選んでください。"]
    assert view.values() == ({"x_yes_no": False}, [])


# -- multi choice ---------------------------------------------------------------------------


def test_multi_choice_values_follow_the_option_order(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("multi_choice", options=OPTIONS))
    assert isinstance(view, MultiChoiceView)
    assert view.values() == ({"x_multi_choice": []}, [])
    tap(qtbot, view, "児童手当", "健康保険")
    assert view.values() == ({"x_multi_choice": ["kenko", "jido"]}, [])
    tap(qtbot, view, "健康保険")  # tapped again: not chosen any more
    assert view.values() == ({"x_multi_choice": ["jido"]}, [])
    assert button(view, "児童手当").text() == "☑ 児童手当"
    assert button(view, "年金").text() == "☐ 年金"


def test_multi_choice_round_trip(show: Any) -> None:
    view = show(make_step("multi_choice", options=OPTIONS), {"x_multi_choice": ["nenkin", "jido"]})
    assert view.values() == ({"x_multi_choice": ["nenkin", "jido"]}, [])
    assert button(view, "年金").isChecked() and not button(view, "健康保険").isChecked()


# -- number ---------------------------------------------------------------------------------


def test_number_from_the_pad_is_an_int(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("number", label=text("世帯の人数", "People in the household")))
    tap(qtbot, view, "1", "2")
    assert view.values() == ({"x_number": 12}, [])
    assert isinstance(view.values()[0]["x_number"], int)


def test_number_with_a_point_is_a_float(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("number", label=text("出生時の体重", "Weight at birth")))
    tap(qtbot, view, "3")
    tap(qtbot, view, "小数点")
    tap(qtbot, view, "1", "5")
    assert view.values() == ({"x_number": 3.15}, [])


def test_number_view_reports_an_unreadable_number_and_keeps_it(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("number"))
    assert isinstance(view, NumberView)
    qtbot.keyClicks(view.field.edit, "12,34")
    values, issues = view.values()
    assert values == {"x_number": None}
    assert [issue.message_id for issue in issues] == ["number.format"]
    view.show_issues(issues)
    assert errors_shown(view) == ["数字だけで入力してください（例 12）。"]
    assert view.field.edit.text() == "12,34"


def test_number_range_with_one_bound_is_worded_without_the_other(show: Any) -> None:
    view = show(make_step("number", minimum=1))
    issues = validate_item(view.step.items[0], 0, today=TODAY)
    view.show_issues(issues)
    assert errors_shown(view) == ["1以上の数を入力してください。"]


# -- phone ----------------------------------------------------------------------------------


def test_phone_from_the_pad_is_shown_formatted_once_valid(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("phone", label=text("電話番号", "Phone number")))
    assert isinstance(view, PhoneView)
    tap(qtbot, view, "0", "9", "0", "ハイフン", "1", "2", "3", "4")
    assert not view.check.isVisible()
    tap(qtbot, view, "5", "6", "7", "8")
    assert view.values() == ({"x_phone": "090-12345678"}, [])
    assert view.check.isVisible() and "090-1234-5678" in view.check.text()


def test_phone_issue_keeps_the_number(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("phone"))
    qtbot.keyClicks(view.field.edit, "09012345")
    issues = validate_item(view.step.items[0], "09012345", today=TODAY)
    view.show_issues(issues)
    assert errors_shown(view) == ["電話番号は11けたです。確かめてください。"]
    assert view.field.edit.text() == "09012345"
    view = show(make_step("phone"), {"x_phone": "0312345678"})
    assert view.values() == ({"x_phone": "0312345678"}, [])
    assert "03-1234-5678" in view.check.text()


# -- e-mail ---------------------------------------------------------------------------------


def test_email_is_typed_and_asks_for_ascii(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("email", label=text("メールアドレス", "E-mail address")))
    edit = view.findChild(QLineEdit)
    assert edit.inputMethodHints() & Qt.InputMethodHint.ImhEmailCharactersOnly
    qtbot.keyClicks(edit, "madoguchi@example.jp")
    assert view.values() == ({"x_email": "madoguchi@example.jp"}, [])
    assert edit.accessibleName() == "メールアドレス"


def test_email_full_width_is_explained_and_kept(show: Any) -> None:
    view = show(make_step("email"), {"x_email": "madoguchi＠example.jp"})
    value = view.values()[0]["x_email"]
    view.show_issues(validate_item(view.step.items[0], value, today=TODAY))
    assert errors_shown(view) == [
        "メールアドレスは半角の英数字で入力してください。全角の文字や「＠」は使えません。"]
    assert view.values()[0]["x_email"] == "madoguchi＠example.jp"


# -- bank account ---------------------------------------------------------------------------


def fill_bank(qtbot: QtBot, view: BankAccountView) -> None:
    """Bank code, branch and account number on the pad, holder typed in hiragana."""
    for field, digits in ((view.bank_code, "0001"), (view.branch_code, "123"),
                          (view.account_number, "1234567")):
        qtbot.mouseClick(field.edit, Qt.MouseButton.LeftButton)
        assert field.edit.hasFocus()
        tap(qtbot, view.pad, *digits)
    tap(qtbot, view, "普通")
    type_text(view.holder.edit, "まどぐち　たろう")
    assert not view.pad.isEnabled()  # no digits in a name: the pad rests
    qtbot.keyClick(view.holder.edit, Qt.Key.Key_Tab)  # leaving the field converts it


def test_bank_account_form_gives_the_five_parts(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("bank_account", label=text("振込先口座", "Bank account")))
    assert isinstance(view, BankAccountView)
    fill_bank(qtbot, view)
    assert view.holder.edit.text() == "マドグチ　タロウ"
    assert view.values() == ({"x_bank_account": {
        "bank_code": "0001", "branch_code": "123", "account_type": "futsu",
        "account_number": "1234567", "holder_kana": "マドグチ　タロウ",
    }}, [])
    assert validate_item(view.step.items[0], view.values()[0]["x_bank_account"],
                         today=TODAY) == []


def test_bank_account_round_trip_and_issue_under_the_form(qtbot: QtBot, show: Any) -> None:
    stored = {"bank_code": "0001", "branch_code": "12", "account_type": "chochiku",
              "account_number": "0012345", "holder_kana": "マドグチ　タロウ"}
    view = show(make_step("bank_account"), {"x_bank_account": stored})
    assert view.values() == ({"x_bank_account": stored}, [])
    assert button(view, "貯蓄").isChecked()
    view.show_issues(validate_item(view.step.items[0], stored, today=TODAY))
    assert errors_shown(view) == ["店番（支店番号）を3けたの数字で入力してください。"]
    assert view.branch_code.edit.text() == "12"


def test_bank_account_left_empty_asks_for_an_answer(show: Any) -> None:
    view = show(make_step("bank_account"))
    values, _issues = view.values()
    assert values == {"x_bank_account": None}
    view.show_issues(validate_item(view.step.items[0], None, today=TODAY))
    assert errors_shown(view) == [_("Please answer this question.")]


# -- My Number ------------------------------------------------------------------------------


def all_accessible_texts(root: QWidget) -> list[str]:
    texts = []
    for widget in [root, *root.findChildren(QWidget)]:
        texts += [widget.accessibleName(), widget.accessibleDescription(), widget.toolTip(),
                  widget.whatsThis(), widget.statusTip()]
        if isinstance(widget, QLabel):
            texts.append(widget.text())
        iface = QAccessible.queryAccessibleInterface(widget)
        if iface is not None and iface.isValid():
            texts += [iface.text(role) for role in (
                QAccessible.Text.Name, QAccessible.Text.Description, QAccessible.Text.Value,
                QAccessible.Text.Help)]
    return texts


def test_mynumber_is_masked_and_never_in_accessible_texts(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("mynumber", label=text("個人番号", "My Number")))
    assert isinstance(view, MyNumberView)
    tap(qtbot, view, *MYNUMBER)
    assert view.values() == ({"x_mynumber": MYNUMBER}, [])
    assert view.edit.echoMode() == QLineEdit.EchoMode.Password
    assert view.count.text() == "12けたのうち12けた入力しました"
    view.show_issues(validate_item(view.step.items[0], MYNUMBER[:-1] + "0", today=TODAY))
    assert errors_shown(view) and MYNUMBER not in errors_shown(view)[0]
    for shown in all_accessible_texts(view):
        assert MYNUMBER not in shown and MYNUMBER[-4:] not in shown
    assert view.values() == ({"x_mynumber": MYNUMBER}, [])


def test_mynumber_show_button_reveals_and_hides(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("mynumber"), {"x_mynumber": MYNUMBER})
    tap(qtbot, view, "番号を表示する")
    assert view.edit.echoMode() == QLineEdit.EchoMode.Normal
    assert view.edit.displayText() == MYNUMBER
    tap(qtbot, view, "番号をかくす")
    assert view.edit.echoMode() == QLineEdit.EchoMode.Password
    assert view.values() == ({"x_mynumber": MYNUMBER}, [])


# -- group ----------------------------------------------------------------------------------


def test_group_counts_members_from_zero_to_nine(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("group", label=text("一緒に引っ越す家族の人数", "Family members moving")))
    assert isinstance(view, GroupView)
    assert view.values() == ({"x_group": 0}, [])
    tap(qtbot, view, _("Increase"), _("Increase"))
    assert view.values() == ({"x_group": 2}, [])
    for _step in range(12):
        tap(qtbot, view, _("Increase"))
    assert view.values() == ({"x_group": 9}, [])
    view = show(make_step("group", minimum=1, maximum=4), {"x_group": 3})
    assert view.values() == ({"x_group": 3}, [])
    tap(qtbot, view, *[_("Decrease")] * 3)
    assert view.values() == ({"x_group": 1}, [])


# -- partly unknown dates -------------------------------------------------------------------


def test_partial_date_toggle_swaps_inputs_for_a_notation(qtbot: QtBot, show: Any) -> None:
    view = show(make_step("date", partial=True))
    assert isinstance(view, DateView)
    tap(qtbot, view, "昭和")
    qtbot.keyClicks(view.year.field, "20")
    tap(qtbot, view, "正確な日付がわからない")
    assert not view.year.field.isVisible() and not view.era_buttons["showa"].isVisible()
    assert view.notation is not None and view.notation.edit.isVisible()
    type_text(view.notation.edit, "昭和20年頃")
    assert view.values() == ({"x_date": {"fusho": True, "hyoki": "昭和20年頃"}}, [])
    tap(qtbot, view, "正確な日付がわからない")  # back: what was chosen is still there
    assert view.era_buttons["showa"].isChecked() and view.year.field.text() == "20"
    assert view.values()[1][0].message_id == "date.incomplete"


def test_partial_date_round_trip_and_issue(show: Any) -> None:
    stored = {"x_date": {"fusho": True, "hyoki": "昭和20年頃"}}
    view = show(make_step("date", partial=True), stored)
    assert view.notation.edit.isVisible() and view.notation.edit.text() == "昭和20年頃"
    assert view.values() == (stored, [])
    view.notation.edit.clear()
    value = view.values()[0]["x_date"]
    view.show_issues(validate_item(view.step.items[0], value, today=TODAY))
    assert errors_shown(view) == ["わかる範囲で日付を書いてください（例「昭和20年頃」）。"]


def test_exact_date_has_no_unknown_toggle(show: Any) -> None:
    view = show(make_step("date"), {"x_date": "1990-04-01"})
    assert [b for b in view.findChildren(QPushButton) if "わからない" in b.text()] == []
    assert view.values() == ({"x_date": "1990-04-01"}, [])


# -- the question page ----------------------------------------------------------------------


def show_step(qtbot: QtBot, page: QuestionPage, step: Step, answers: dict[str, Any],
              **options: Any) -> StepView:
    """Show a step on the page; the new view appears on the next turn of the event loop."""
    page.show_step(step, answers, can_go_back=True, **options)
    view = page.view
    assert view is not None
    qtbot.waitUntil(view.isVisible)
    return view


@pytest.fixture
def page(qtbot: QtBot) -> QuestionPage:
    page = QuestionPage()
    qtbot.addWidget(page)
    with qtbot.waitActive(page):
        page.show()
    return page


def test_unknown_button_emits_its_signal_where_allowed(qtbot: QtBot, page: QuestionPage) -> None:
    show_step(qtbot, page, make_step("phone", unknown_allowed=True), {})
    later = button(page, "わからない／あとで")
    assert later.height() >= 64
    with qtbot.waitSignal(page.unknown_clicked, timeout=1000):
        qtbot.mouseClick(later, Qt.MouseButton.LeftButton)
    show_step(qtbot, page, make_step("phone"), {})
    assert not page.unknown_button.isVisible()
    show_step(qtbot, page, make_step("group", unknown_allowed=True), {})
    assert not page.unknown_button.isVisible()  # "how many?" always needs a number


def test_unknown_answer_shows_a_note_and_an_empty_view(qtbot: QtBot, page: QuestionPage) -> None:
    step = make_step("bank_account", unknown_allowed=True)
    view = show_step(qtbot, page, step, {"x_bank_account": dict(UNKNOWN_ANSWER)}, unknown=True)
    assert page.unknown_note.isVisible()
    assert page.unknown_note.text() == "「わからない」と答えました。窓口で職員がお手伝いします。"
    assert view.values() == ({"x_bank_account": None}, [])
    # The note sits above the view, the button below it.
    view_top = view.mapTo(page, QPoint(0, 0)).y()
    assert page.unknown_note.y() < view_top < page.unknown_button.y()
    show_step(qtbot, page, make_step("yes_no", unknown_allowed=True), {})
    assert not page.unknown_note.isVisible()


def test_tab_goes_through_the_view_then_unknown_back_next(
    qtbot: QtBot, page: QuestionPage
) -> None:
    view = show_step(qtbot, page, make_step("yes_no", unknown_allowed=True), {})
    yes, no = button(view, "はい"), button(view, "いいえ")
    assert yes.hasFocus()
    qtbot.keyClick(yes, Qt.Key.Key_Right)  # like radio buttons: arrows within the pair,
    assert no.hasFocus()
    qtbot.keyClick(no, Qt.Key.Key_Space)
    assert view.values() == ({"x_yes_no": False}, [])
    for expected in (page.unknown_button, page.back_button, page.next_button):  # Tab leaves it
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is expected


def test_language_switch_retranslates_the_new_views(qtbot: QtBot, page: QuestionPage) -> None:
    view = show_step(qtbot, page, make_step("yes_no", unknown_allowed=True), {})
    set_language("en")
    page.retranslate_ui()
    assert button(view, "Yes") and button(page, "I don't know / later")
    set_language("pt-BR")
    page.retranslate_ui()
    assert button(view, "Sim") and button(view, "Não")


# -- answers as text, messages --------------------------------------------------------------


def item(item_type: str, **fields: Any) -> Item:
    return make_step(item_type, **fields).items[0]


def test_format_answer_for_every_new_type() -> None:
    bank = {"bank_code": "0001", "branch_code": "123", "account_type": "futsu",
            "account_number": "1234567", "holder_kana": "マドグチ　タロウ"}
    assert format_answer(None, item("yes_no"), True) == "はい"
    assert format_answer(None, item("yes_no"), False) == "いいえ"
    assert format_answer(None, item("choice", options=OPTIONS), "nenkin") == "年金"
    assert format_answer(None, item("multi_choice", options=OPTIONS),
                         ["kenko", "jido"]) == "健康保険、児童手当"
    assert format_answer(None, item("phone"), "09012345678") == "090-1234-5678"
    assert format_answer(None, item("email"), "madoguchi@example.jp") == "madoguchi@example.jp"
    assert format_answer(None, item("number"), 1234) == "1,234"
    assert format_answer(None, item("bank_account"), bank) == (
        "銀行 0001 / 支店 123 / 普通 / 1234567 / マドグチ　タロウ")
    assert format_answer(None, item("mynumber"), MYNUMBER) == "********0257"
    assert MYNUMBER not in format_answer(None, item("mynumber"), MYNUMBER[:-1] + "0")
    assert format_answer(None, item("group"), 3) == "3人"
    assert format_answer(None, item("date", partial=True),
                         {"fusho": True, "hyoki": "昭和20年頃"}) == "昭和20年頃（一部不明）"
    for item_type in ITEM_TYPES:
        assert format_answer(None, item(item_type), dict(UNKNOWN_ANSWER)) == (
            "わからない（窓口で職員が記入します）")
    set_language("en")
    assert format_answer(None, item("group"), 1) == "1 person(s)"
    assert format_answer(None, item("bank_account"), bank).startswith("Bank 0001 / branch 123")


BAD_ANSWERS: list[tuple[str, dict[str, Any], Any]] = [
    ("yes_no", {}, "yes"),
    ("number", {}, "12"),
    ("number", {"minimum": 1, "maximum": 5}, 9),
    ("phone", {}, "+81-90-1234-5678"),
    ("phone", {}, "090123"),
    ("email", {}, "madoguchi"),
    ("email", {}, "ｍａｄｏｇｕｃｈｉ@example.jp"),
    ("email", {}, "m" * 250 + "@example.jp"),
    ("bank_account", {}, {"bank_code": "1"}),
    ("bank_account", {}, {"bank_code": "0001", "branch_code": "123"}),
    ("bank_account", {}, {"bank_code": "0001", "branch_code": "123", "account_type": "futsu"}),
    ("bank_account", {}, {"bank_code": "0001", "branch_code": "123", "account_type": "futsu",
                          "account_number": "1234567", "holder_kana": "Madoguchi"}),
    ("bank_account", {}, ["not", "a", "mapping"]),
    ("mynumber", {}, "123"),
    ("date", {"dates": "future"}, "2020-01-01"),
    ("date", {"dates": "any"}, "2099-01-01"),
    ("date", {"partial": True}, {"fusho": True, "hyoki": " "}),
    ("text", {}, 12),
    ("group", {}, 12),
    ("multi_choice", {"options": OPTIONS}, ["sonota"]),
]


@pytest.mark.parametrize(("item_type", "fields", "value"), BAD_ANSWERS)
def test_every_issue_the_validators_give_has_its_own_words(
    item_type: str, fields: dict[str, Any], value: Any
) -> None:
    issues = validate_item(item(item_type, **fields), value, today=TODAY)
    assert issues
    for issue in issues:
        assert issue.message_id in MESSAGES
        worded = issue_text(issue)
        assert worded != _(MESSAGES["error.unexpected"]) and "{" not in worded


@pytest.mark.parametrize("message_id", [
    "date.past", "date.too_late", "date.notation_required", "unknown.not_allowed",
    "text.format", "phone.format", "phone.length", "email.format", "email.fullwidth",
    "email.length", "bank.bank_code", "bank.branch_code", "bank.account_type",
    "bank.account_number", "bank.holder", "bank.yucho_kigo", "bank.yucho_bango",
    "number.format", "number.range", "mynumber.invalid", "mynumber.format",
    "mynumber.check_digit", "yes_no.choose", "check.failed", "age.before_birth",
    "bank_account.format",
])
def test_message_ids_are_mapped(message_id: str) -> None:
    assert message_id in MESSAGES


def test_a_failed_check_is_worded_by_its_catalog_text() -> None:
    check = Issue("x_date", "check.failed", {},
                  text(ja="転入日は生年月日より後の日付にしてください。",
                       en="The moving-in date must be after the date of birth."))
    assert issue_text(check) == "転入日は生年月日より後の日付にしてください。"
    set_language("en")
    assert issue_text(check) == "The moving-in date must be after the date of birth."
    assert issue_text(Issue("x_date", "check.failed")) == "Please check this answer."


def test_flow_layout_wraps_buttons_instead_of_widening(qtbot: QtBot) -> None:
    row = QWidget()
    qtbot.addWidget(row)
    flow = FlowLayout(row)
    buttons = [BigButton(name, row) for name in ("Comum (普通)", "Cheques (当座)",
                                                 "Poupança (貯蓄)")]
    for widget in buttons:
        flow.addWidget(widget)
    natural = flow.sizeHint().width()
    with qtbot.waitExposed(row):
        row.show()
    row.resize(natural + 100, 200)
    qtbot.waitUntil(lambda: len({b.y() for b in buttons}) == 1)
    assert sum(b.width() for b in buttons) + 2 * 12 == natural + 100  # the row is filled
    row.resize(max(b.sizeHint().width() for b in buttons) + 10, 400)
    qtbot.waitUntil(lambda: len({b.y() for b in buttons}) == 3)
    assert all(b.width() >= b.sizeHint().width() for b in buttons)
    assert flow.minimumSize().width() < natural


def test_account_type_names_show_the_passbook_word(show: Any) -> None:
    set_language("pt-BR")
    view = show(make_step("bank_account"))
    assert button(view, "Cheques").text() == "○ Cheques (当座)"
    set_language("ja")
    view.retranslate_ui()
    assert button(view, "当座").text() == "○ 当座"
