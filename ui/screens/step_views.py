"""One input view per item type; each reads and shows the answers of one interview step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desk.catalog.model import Item, Step
from desk.errors import FieldError
from desk.fields import address, kana, wareki
from desk.fields.digits import normalize_digits
from desk.fields.numbers import parse_number
from desk.fields.phone import format_phone
from desk.interview.issues import Issue
from desk.interview.validation import NOTATION_MAX_LENGTH, is_partial_date
from desk.rules.evaluate import is_unknown
from ui.catalog_text import plain
from ui.format import ACCOUNT_TYPE_LABELS, account_type_label
from ui.i18n import LANGUAGES, _, current_language
from ui.messages import issue_text
from ui.widgets.buttons import BigButton, ToggleButton
from ui.widgets.flow import FlowLayout
from ui.widgets.number_pad import NumberPad
from ui.widgets.stepper import Stepper

MYNUMBER_DIGITS = 12


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.hide()
    return label


def _help_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setProperty("role", "help")
    label.setWordWrap(True)
    return label


def _stored(answers: Mapping[str, Any], item_id: str) -> Any:
    """A stored answer, or None when there is none or it is the わからない marker."""
    value = answers.get(item_id)
    return None if is_unknown(value) else value


def _stored_text(answers: Mapping[str, Any], item_id: str) -> str:
    value = _stored(answers, item_id)
    return value if isinstance(value, str) else ""


def _beside_pad(view: QWidget, pad: NumberPad) -> QVBoxLayout:
    """Lay a view out as a column of fields with the number pad on its right.

    Side by side, the page stays within a kiosk screen at the largest text size.
    """
    outer = QHBoxLayout(view)
    column = QVBoxLayout()
    outer.addLayout(column, 3)
    outer.addWidget(pad, 2, Qt.AlignmentFlag.AlignTop)
    return column


def _digits_validator(parent: QObject, max_digits: int) -> QRegularExpressionValidator:
    # Full-width digits too: an IME left in full-width mode gives them; desk folds them.
    return QRegularExpressionValidator(rf"^[0-9０-９]{{0,{max_digits}}}$", parent)


class StepView(QWidget):
    """Base of the input views: answers in and out, issues shown next to the fields.

    `set_values` gets the whole visit's answers; an answer that is the わからない marker
    (`{"unknown": True}`) is shown as empty, whatever the item type.
    """

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = step
        self._errors: dict[str, QLabel] = {}

    def set_values(self, answers: Mapping[str, Any]) -> None:
        """Show stored answers (the whole visit's answers; views pick their items)."""

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        """Return the answers on screen, and issues the view itself found (e.g. a bad 和暦)."""
        return {}, []

    def show_issues(self, issues: list[Issue]) -> None:
        """Show each issue under its field; hide the others. Never clears what was typed."""
        by_item: dict[str, list[str]] = {}
        for issue in issues:
            by_item.setdefault(issue.item, []).append(issue_text(issue))
        for item_id, label in self._errors.items():
            texts = by_item.get(item_id)
            label.setText("\n".join(texts or []))
            label.setVisible(bool(texts))
            if texts:
                label.setAccessibleDescription(label.text())

    def retranslate_ui(self) -> None:
        """Set texts in the active language."""

    def first_focus(self) -> QWidget:
        """The widget that gets focus when the step appears."""
        return self


class _LabeledField(QWidget):
    """A label with its QLineEdit (label is the field's buddy, for screen readers)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.edit = QLineEdit(self)
        self.label.setBuddy(self.edit)
        layout.addWidget(self.label)
        layout.addWidget(self.edit)

    def set_label(self, text: str) -> None:
        self.label.setText(text)
        self.edit.setAccessibleName(text)


class NameView(StepView):
    """Family and given name; for furigana, hiragana and half-width kana become katakana."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        outer = QVBoxLayout(self)
        row = QHBoxLayout()
        self.family = _LabeledField(self)
        self.given = _LabeledField(self)
        row.addWidget(self.family)
        row.addWidget(self.given)
        outer.addLayout(row)
        if self.item.type == "kana_name":
            for field in (self.family, self.given):
                field.edit.textEdited.connect(
                    lambda _text, edit=field.edit: self._on_kana_edited(edit)
                )
        self._errors[self.item.id] = _error_label(self)
        outer.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        if self.item.type == "kana_name":
            self.family.set_label(_("Family name (katakana)"))
            self.given.set_label(_("Given name (katakana)"))
        else:
            self.family.set_label(_("Family name"))
            self.given.set_label(_("Given name"))

    def _on_kana_edited(self, edit: QLineEdit) -> None:
        cursor = edit.cursorPosition()
        converted = kana.to_katakana(edit.text())
        if converted != edit.text():
            edit.setText(converted)
            edit.setCursorPosition(min(cursor, len(converted)))

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if not isinstance(value, Mapping):
            value = {}
        self.family.edit.setText(str(value.get("family", "")))
        self.given.edit.setText(str(value.get("given", "")))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: {"family": self.family.edit.text(),
                               "given": self.given.edit.text()}}, []

    def first_focus(self) -> QWidget:
        return self.family.edit


class DateView(StepView):
    """和暦 date: era buttons, year (元 accepted), month, day; the Western date shown as a check.

    When the item allows a partly unknown date (`item.partial`), a toggle swaps these inputs
    for a short notation such as 「昭和20年頃」; the answer is then ``{"fusho": True, "hyoki": …}``.
    Both inputs keep what was typed while the other is shown.
    """

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        self._exact = QWidget(self)
        exact_layout = QVBoxLayout(self._exact)
        exact_layout.setContentsMargins(0, 0, 0, 0)
        era_row = QHBoxLayout()
        self._era_group = QButtonGroup(self)
        self._era_group.setExclusive(True)
        self.era_buttons: dict[str, BigButton] = {}
        # The four eras a living resident was born in, newest first (ux.md); the table is data.
        for era in reversed(wareki.eras()[-4:]):
            button = BigButton(era.name, self._exact, checkable=True)
            self._era_group.addButton(button)
            self.era_buttons[era.key] = button
            era_row.addWidget(button)
            button.toggled.connect(lambda _on: self._on_parts_changed())
        exact_layout.addLayout(era_row)
        grid = QGridLayout()
        self.year = Stepper(1, 99, self._exact, allow_gannen=True)
        self.month = Stepper(1, 12, self._exact)
        self.day = Stepper(1, 31, self._exact)
        self._part_labels = [QLabel(self._exact) for _ in range(3)]
        for column, (label, stepper) in enumerate(
            zip(self._part_labels, (self.year, self.month, self.day), strict=True)
        ):
            label.setBuddy(stepper.field)
            grid.addWidget(label, 0, column)
            grid.addWidget(stepper, 1, column)
            stepper.value_changed.connect(self._on_parts_changed)
        exact_layout.addLayout(grid)
        layout.addWidget(self._exact)
        self.notation: _LabeledField | None = None
        self.unknown_date: ToggleButton | None = None
        if self.item.partial:
            self.notation = _LabeledField(self)
            self.notation.edit.setMaxLength(NOTATION_MAX_LENGTH)
            self.notation.hide()
            layout.addWidget(self.notation)
        self.check = _help_label(self)
        layout.addWidget(self.check)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        if self.item.partial:
            self.unknown_date = ToggleButton(self)
            self.unknown_date.toggled.connect(self._on_unknown_date_toggled)
            layout.addWidget(self.unknown_date)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        for label, text in zip(self._part_labels, (_("Year"), _("Month"), _("Day")), strict=True):
            label.setText(text)
        self.year.field.setAccessibleName(_("Year of the era"))
        self.month.field.setAccessibleName(_("Month"))
        self.day.field.setAccessibleName(_("Day"))
        if self.notation is not None and self.unknown_date is not None:
            self.notation.set_label(_("The date as far as you know it "
                                      "(for example, around 1945)"))
            self.unknown_date.set_label(_("I don't know the exact date"))
        self._on_parts_changed()

    def is_partial(self) -> bool:
        """True while the notation for a partly unknown date is shown."""
        return self.unknown_date is not None and self.unknown_date.isChecked()

    def _on_unknown_date_toggled(self, checked: bool) -> None:
        assert self.notation is not None
        self._exact.setVisible(not checked)
        self.notation.setVisible(checked)
        self.check.setVisible(not checked)
        (self.notation.edit if checked else self.first_focus()).setFocus(
            Qt.FocusReason.OtherFocusReason)

    def _selected_era(self) -> str | None:
        for key, button in self.era_buttons.items():
            if button.isChecked():
                return key
        return None

    def _parse(self) -> dt.date:
        era = self._selected_era()
        parts = (self.year.value(), self.month.value(), self.day.value())
        if era is None or None in parts:
            raise FieldError("date.incomplete")
        year, month, day = parts
        assert year is not None and month is not None and day is not None
        return wareki.from_parts(era, year, month, day)

    def _on_parts_changed(self) -> None:
        try:
            day = self._parse()
        except FieldError:
            self.check.setText("")
            return
        locale = next(lang.locale for lang in LANGUAGES if lang.code == current_language())
        western = format_date(day, format="long", locale=locale)
        age = wareki.age_on(day, dt.date.today())
        self.check.setText(_("Western calendar: {date} (age {age})", date=western, age=age))

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if is_partial_date(value):
            if self.notation is not None and self.unknown_date is not None:
                self.notation.edit.setText(str(value.get("hyoki", "")))
                self.unknown_date.setChecked(True)
            return
        if not isinstance(value, str) or not value:
            return
        try:
            day = dt.date.fromisoformat(value)
            era, year = wareki.wareki_year(day)
        except (ValueError, FieldError):  # not a date this view can show: start empty
            return
        if era.key in self.era_buttons:
            self.era_buttons[era.key].setChecked(True)
        self.year.set_value(year)
        self.month.set_value(day.month)
        self.day.set_value(day.day)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        if self.is_partial():
            assert self.notation is not None
            return {self.item.id: {"fusho": True, "hyoki": self.notation.edit.text()}}, []
        try:
            day = self._parse()
        except FieldError as error:
            return {self.item.id: None}, [Issue(self.item.id, error.message_id, error.params)]
        return {self.item.id: day.isoformat()}, []

    def first_focus(self) -> QWidget:
        if self.is_partial():
            assert self.notation is not None
            return self.notation.edit
        return next(iter(self.era_buttons.values()))


class _OneFieldView(StepView):
    """A view whose answer is the text of one labelled field (postal code, phone, e-mail).

    Subclasses set `self.item` and `self.field` in their constructor.
    """

    item: Item
    field: _LabeledField

    def set_values(self, answers: Mapping[str, Any]) -> None:
        self.field.edit.setText(_stored_text(answers, self.item.id))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: self.field.edit.text()}, []

    def first_focus(self) -> QWidget:
        return self.field.edit


class PostalCodeView(_OneFieldView):
    """Seven digits, typed or tapped on the number pad."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        self.field = _LabeledField(self)
        self.field.edit.setMaxLength(8)
        self.field.edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        layout.addWidget(self.field)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.pad = NumberPad(self.field.edit, self)
        layout.addWidget(self.pad)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.field.set_label(plain(self.item.label))
        self.pad.retranslate_ui()


class AddressCandidateView(StepView):
    """The towns found for the postal code, as big buttons; a code may have several."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        self._layout = QVBoxLayout(self)
        self._group = QButtonGroup(self)
        self.buttons: list[tuple[BigButton, dict[str, str]]] = []
        self._empty = QLabel(self)
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)
        self._errors[self.item.id] = _error_label(self)
        self._layout.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self._empty.setText(_("No address was found for this postal code. "
                              "Please go back and check it."))

    def set_values(self, answers: Mapping[str, Any]) -> None:
        for button, _candidate in self.buttons:
            self._group.removeButton(button)
            button.deleteLater()
        self.buttons = []
        postal = _stored_text(answers, self.step.postal_item or "")
        candidates = address.lookup(postal) if postal else []
        chosen = _stored(answers, self.item.id)
        if not isinstance(chosen, Mapping):
            chosen = {}
        for candidate in candidates:
            value = {
                "postal_code": candidate.postal_code, "prefecture": candidate.prefecture,
                "city": candidate.city, "town": candidate.town, "jis_code": candidate.jis_code,
            }
            button = BigButton(candidate.label, self, checkable=True)
            button.setAccessibleName(candidate.label)
            self._group.addButton(button)
            self._layout.insertWidget(self._layout.count() - 1, button)
            button.setChecked(value == {k: chosen.get(k) for k in value})
            self.buttons.append((button, value))
        # One candidate only: preselect it, the resident just confirms with 次へ.
        if len(self.buttons) == 1:
            self.buttons[0][0].setChecked(True)
        self._empty.setVisible(not self.buttons)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        for button, value in self.buttons:
            if button.isChecked():
                return {self.item.id: value}, []
        return {self.item.id: None}, []

    def first_focus(self) -> QWidget:
        return self.buttons[0][0] if self.buttons else self


class TextView(StepView):
    """One or more free-text items (番地, 方書), each with its label."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        layout = QVBoxLayout(self)
        self.fields: dict[str, _LabeledField] = {}
        for item in step.items:
            field = _LabeledField(self)
            if item.max_length:
                field.edit.setMaxLength(item.max_length)
            self.fields[item.id] = field
            layout.addWidget(field)
            self._errors[item.id] = _error_label(self)
            layout.addWidget(self._errors[item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        for item in self.step.items:
            text = plain(item.label)
            if not item.required:
                text = _("{label} (if any)", label=text)
            self.fields[item.id].set_label(text)

    def set_values(self, answers: Mapping[str, Any]) -> None:
        for item_id, field in self.fields.items():
            field.edit.setText(_stored_text(answers, item_id))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {item_id: f.edit.text() for item_id, f in self.fields.items()}, []

    def first_focus(self) -> QWidget:
        return next(iter(self.fields.values())).edit


class CountView(StepView):
    """A count with − and + (必要な通数)."""

    DEFAULT_RANGE = (1, 99)  # as desk.interview.validation checks a count

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        low = self.item.minimum if self.item.minimum is not None else self.DEFAULT_RANGE[0]
        high = self.item.maximum if self.item.maximum is not None else self.DEFAULT_RANGE[1]
        layout = QVBoxLayout(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.stepper = Stepper(low, high, self)
        self.label.setBuddy(self.stepper.field)
        layout.addWidget(self.label)
        layout.addWidget(self.stepper)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.stepper.set_value(low)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.label.setText(plain(self.item.label))
        self.stepper.field.setAccessibleName(plain(self.item.label))
        self.stepper.retranslate_ui()

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if isinstance(value, int) and not isinstance(value, bool):
            self.stepper.set_value(value)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: self.stepper.value()}, []

    def first_focus(self) -> QWidget:
        return self.stepper.field


class GroupView(CountView):
    """The "how many?" screen of a repeat group (家族の人数); its members are asked after it."""

    DEFAULT_RANGE = (0, 9)  # as desk.interview.validation checks a group


class ChoiceView(StepView):
    """One answer out of the step's options, as big buttons."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        self._group = QButtonGroup(self)
        self.buttons: dict[str, BigButton] = {}
        for index, option in enumerate(step.options):
            button = BigButton("", self, checkable=True)
            self._group.addButton(button)
            self.buttons[option.value] = button
            grid.addWidget(button, *divmod(index, 2))
        layout.addLayout(grid)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        for option in self.step.options:
            self.buttons[option.value].setText(plain(option.label))
            self.buttons[option.value].setAccessibleName(plain(option.label))

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if isinstance(value, str) and value in self.buttons:
            self.buttons[value].setChecked(True)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        for value, button in self.buttons.items():
            if button.isChecked():
                return {self.item.id: value}, []
        return {self.item.id: None}, []

    def first_focus(self) -> QWidget:
        return next(iter(self.buttons.values()))


class MultiChoiceView(StepView):
    """Any number of the item's options, each a big button that stays pressed (☑) when chosen."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        self.hint = _help_label(self)
        layout.addWidget(self.hint)
        grid = QGridLayout()
        self.buttons: dict[str, ToggleButton] = {}
        for index, option in enumerate(self.item.options):
            button = ToggleButton(self)
            self.buttons[option.value] = button
            grid.addWidget(button, *divmod(index, 2))
        layout.addLayout(grid)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.hint.setText(_("Choose all that apply."))
        for option in self.item.options:
            self.buttons[option.value].set_label(plain(option.label))

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        chosen = set(value) if isinstance(value, list) else set()
        for option_value, button in self.buttons.items():
            button.setChecked(option_value in chosen)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        # In option order, whatever order they were tapped in.
        return {self.item.id: [value for value, button in self.buttons.items()
                               if button.isChecked()]}, []

    def first_focus(self) -> QWidget:
        return next(iter(self.buttons.values()), self)


class YesNoView(StepView):
    """はい or いいえ as two big buttons; nothing chosen yet is no answer (None)."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.yes = ToggleButton(self, exclusive=True)
        self.no = ToggleButton(self, exclusive=True)
        for button in (self.yes, self.no):
            self._group.addButton(button)
            row.addWidget(button)
        layout.addLayout(row)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.yes.set_label(_("Yes"))
        self.no.set_label(_("No"))

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if value is True:
            self.yes.setChecked(True)
        elif value is False:
            self.no.setChecked(True)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        value = True if self.yes.isChecked() else False if self.no.isChecked() else None
        return {self.item.id: value}, []

    def first_focus(self) -> QWidget:
        return self.yes


class NumberView(StepView):
    """A number (人数, 金額, 体重), typed or tapped; a point makes it a decimal number."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        self.field = _LabeledField(self)
        self.pad = NumberPad(self.field.edit, self, extra_key=".")
        layout = _beside_pad(self, self.pad)
        self.field.edit.setMaxLength(20)
        self.field.edit.setInputMethodHints(Qt.InputMethodHint.ImhFormattedNumbersOnly)
        layout.addWidget(self.field)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        layout.addStretch(1)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.field.set_label(plain(self.item.label))
        self.pad.retranslate_ui()

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.field.edit.setText(str(value))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        text = self.field.edit.text().strip(" \u3000")
        if not text:
            return {self.item.id: None}, []
        folded = normalize_digits(text).replace("．", ".")
        decimals = len(folded.partition(".")[2])
        # A minus only where the catalog allows negative numbers; the range is validation's.
        minimum = self.item.minimum
        low = minimum if minimum is not None and minimum < 0 else None
        try:
            number = parse_number(text, minimum=low, decimals=decimals)
        except FieldError as error:
            return {self.item.id: None}, [Issue(self.item.id, error.message_id,
                                                dict(error.params))]
        return {self.item.id: float(number) if isinstance(number, Decimal) else number}, []

    def first_focus(self) -> QWidget:
        return self.field.edit


class PhoneView(_OneFieldView):
    """A phone number, typed or tapped (with a hyphen key); shown formatted once it is valid."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        self.field = _LabeledField(self)
        self.pad = NumberPad(self.field.edit, self, extra_key="-")
        layout = _beside_pad(self, self.pad)
        self.field.edit.setMaxLength(20)
        self.field.edit.setInputMethodHints(Qt.InputMethodHint.ImhDialableCharactersOnly)
        layout.addWidget(self.field)
        self.check = _help_label(self)
        layout.addWidget(self.check)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        layout.addStretch(1)
        self.field.edit.textChanged.connect(lambda _text: self._on_number_changed())
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.field.set_label(plain(self.item.label))
        self.pad.retranslate_ui()
        self._on_number_changed()

    def _on_number_changed(self) -> None:
        try:
            formatted = format_phone(self.field.edit.text())
        except FieldError:
            self.check.setText("")
            self.check.hide()
            return
        self.check.setText(_("Check: {phone}", phone=formatted))
        self.check.show()


class EmailView(_OneFieldView):
    """An e-mail address; the input method is asked for ASCII (full-width is a common slip)."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        self.field = _LabeledField(self)
        self.field.edit.setMaxLength(254)
        self.field.edit.setInputMethodHints(Qt.InputMethodHint.ImhEmailCharactersOnly)
        layout.addWidget(self.field)
        self.hint = _help_label(self)
        layout.addWidget(self.hint)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.field.set_label(plain(self.item.label))
        self.hint.setText(_("Please use half-width letters, for example madoguchi@example.jp"))
        self.field.edit.setAccessibleDescription(self.hint.text())


class BankAccountView(StepView):
    """A bank account for a payment: bank and branch code, account type, number and holder.

    One number pad types into whichever digit field has focus. Issues about any part are shown
    under the whole form (desk reports them under the item).
    """

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        outer = QVBoxLayout(self)
        # The digit fields beside the pad, the account type buttons below both (beside the
        # pad they would not fit the width of a kiosk screen in long languages).
        self.bank_code = _LabeledField(self)
        self.branch_code = _LabeledField(self)
        self.account_number = _LabeledField(self)
        self.holder = _LabeledField(self)
        self.holder.edit.setMaxLength(40)
        self.holder.edit.editingFinished.connect(self._on_holder_editing_finished)
        self.pad = NumberPad(self.bank_code.edit, self)
        form = QVBoxLayout()
        codes = QHBoxLayout()
        codes.addWidget(self.bank_code)
        codes.addWidget(self.branch_code)
        form.addLayout(codes)
        form.addWidget(self.account_number)
        form.addWidget(self.holder)
        form.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(form, 3)
        top.addWidget(self.pad, 2, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)
        self.type_label = QLabel(self)
        self.type_label.setWordWrap(True)
        outer.addWidget(self.type_label)
        # One row, or more where long names would not fit; kept referenced, as Qt's layout
        # tree does not keep a Python layout object alive.
        self._types_layout = types = FlowLayout()
        self._type_group = QButtonGroup(self)
        self._type_group.setExclusive(True)
        self.type_buttons: dict[str, ToggleButton] = {}
        for key in ACCOUNT_TYPE_LABELS:
            button = ToggleButton(self, exclusive=True)
            self._type_group.addButton(button)
            self.type_buttons[key] = button
            types.addWidget(button)
        self.type_label.setBuddy(self.type_buttons["futsu"])
        outer.addLayout(types)
        self._errors[self.item.id] = _error_label(self)
        outer.addWidget(self._errors[self.item.id])
        for field, digits in ((self.bank_code, 4), (self.branch_code, 3),
                              (self.account_number, 7)):
            field.edit.setMaxLength(digits)
            field.edit.setValidator(_digits_validator(field.edit, digits))
            field.edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
            field.edit.installEventFilter(self)
        self.holder.edit.installEventFilter(self)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.bank_code.set_label(_("Bank code (4 digits)"))
        self.branch_code.set_label(_("Branch code (3 digits)"))
        self.type_label.setText(_("Account type"))
        for key, button in self.type_buttons.items():
            button.set_label(account_type_label(key, passbook=True))
            button.setAccessibleName(account_type_label(key))
            button.setAccessibleDescription(_("Account type"))
        self.account_number.set_label(_("Account number (up to 7 digits)"))
        self.holder.set_label(_("Account holder (katakana, as in the passbook)"))
        self.pad.retranslate_ui()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # The pad follows the focus among the digit fields and rests while the holder is typed.
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QLineEdit):
            digit_field = watched is not self.holder.edit
            if digit_field:
                self.pad.set_target(watched)
            self.pad.setEnabled(digit_field)
        return super().eventFilter(watched, event)

    def _on_holder_editing_finished(self) -> None:
        converted = kana.to_katakana(self.holder.edit.text())
        if converted != self.holder.edit.text():
            self.holder.edit.setText(converted)

    def _account_type(self) -> str:
        for key, button in self.type_buttons.items():
            if button.isChecked():
                return key
        return ""

    def set_values(self, answers: Mapping[str, Any]) -> None:
        value = _stored(answers, self.item.id)
        if not isinstance(value, Mapping):
            return
        for key, field in (("bank_code", self.bank_code), ("branch_code", self.branch_code),
                           ("account_number", self.account_number),
                           ("holder_kana", self.holder)):
            text = value.get(key)
            field.edit.setText(text if isinstance(text, str) else "")
        account_type = value.get("account_type")
        if isinstance(account_type, str) and account_type in self.type_buttons:
            self.type_buttons[account_type].setChecked(True)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        value = {
            "bank_code": self.bank_code.edit.text(),
            "branch_code": self.branch_code.edit.text(),
            "account_type": self._account_type(),
            "account_number": self.account_number.edit.text(),
            "holder_kana": kana.to_katakana(self.holder.edit.text()),
        }
        if not any(text.strip(" \u3000") for text in value.values()):
            return {self.item.id: None}, []  # nothing entered: "please answer", not a part
        return {self.item.id: value}, []

    def first_focus(self) -> QWidget:
        return self.bank_code.edit


class MyNumberView(StepView):
    """個人番号: 12 digits, masked while typed (a "show" button reveals them to the resident).

    The number never goes into an accessible name or description, a log or an error text;
    only how many digits were entered is shown.
    """

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.edit = QLineEdit(self)
        self.pad = NumberPad(self.edit, self)
        layout = _beside_pad(self, self.pad)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setMaxLength(MYNUMBER_DIGITS + 2)  # room for separators people type
        self.edit.setValidator(QRegularExpressionValidator(r"^[0-9０-９ \-]{0,14}$", self.edit))
        self.edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly
                                      | Qt.InputMethodHint.ImhSensitiveData
                                      | Qt.InputMethodHint.ImhNoPredictiveText)
        self.label.setBuddy(self.edit)
        row.addWidget(self.edit, 1)
        self.show_button = BigButton("", self, checkable=True)
        self.show_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.show_button.toggled.connect(self._on_show_toggled)
        row.addWidget(self.show_button)
        layout.addLayout(row)
        self.count = _help_label(self)
        layout.addWidget(self.count)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        layout.addStretch(1)
        self.edit.textChanged.connect(lambda _text: self._on_digits_changed())
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.label.setText(plain(self.item.label))
        self.edit.setAccessibleName(plain(self.item.label))
        shown = self.show_button.isChecked()
        self.show_button.setText(_("Hide") if shown else _("Show"))
        self.show_button.setAccessibleName(_("Hide the number") if shown
                                           else _("Show the number"))
        self.pad.retranslate_ui()
        self._on_digits_changed()

    def _digits(self) -> str:
        return "".join(c for c in normalize_digits(self.edit.text()) if c in "0123456789")

    def _on_digits_changed(self) -> None:
        self.count.setText(_("{count} of {total} digits entered",
                             count=len(self._digits()), total=MYNUMBER_DIGITS))

    def _on_show_toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown
                              else QLineEdit.EchoMode.Password)
        self.retranslate_ui()

    def set_values(self, answers: Mapping[str, Any]) -> None:
        self.edit.setText(_stored_text(answers, self.item.id))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: self._digits()}, []

    def first_focus(self) -> QWidget:
        return self.edit


VIEWS: dict[str, type[StepView]] = {
    "name": NameView,
    "kana_name": NameView,
    "date": DateView,
    "postal_code": PostalCodeView,
    "address_candidate": AddressCandidateView,
    "text": TextView,
    "count": CountView,
    "number": NumberView,
    "choice": ChoiceView,
    "multi_choice": MultiChoiceView,
    "yes_no": YesNoView,
    "phone": PhoneView,
    "email": EmailView,
    "bank_account": BankAccountView,
    "mynumber": MyNumberView,
    "group": GroupView,
}


def view_for(step: Step, parent: QWidget | None = None) -> StepView:
    """Build the input view for a step from its item type."""
    return VIEWS[step.kind](step, parent)
