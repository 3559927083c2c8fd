"""One input view per item type; each reads and shows the answers of one interview step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from babel.dates import format_date
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desk.catalog.model import Step
from desk.errors import FieldError
from desk.fields import address, kana, wareki
from desk.interview.issues import Issue
from ui.catalog_text import plain
from ui.i18n import LANGUAGES, _, current_language
from ui.messages import issue_text
from ui.widgets.buttons import BigButton
from ui.widgets.number_pad import NumberPad
from ui.widgets.stepper import Stepper


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.hide()
    return label


class StepView(QWidget):
    """Base of the input views: answers in and out, issues shown next to the fields."""

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
        value = answers.get(self.item.id) or {}
        self.family.edit.setText(value.get("family", ""))
        self.given.edit.setText(value.get("given", ""))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: {"family": self.family.edit.text(),
                               "given": self.given.edit.text()}}, []

    def first_focus(self) -> QWidget:
        return self.family.edit


class DateView(StepView):
    """和暦 date: era buttons, year (元 accepted), month, day; the Western date shown as a check."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        era_row = QHBoxLayout()
        self._era_group = QButtonGroup(self)
        self._era_group.setExclusive(True)
        self.era_buttons: dict[str, BigButton] = {}
        # The four eras a living resident was born in, newest first (ux.md); the table is data.
        for era in reversed(wareki.eras()[-4:]):
            button = BigButton(era.name, self, checkable=True)
            self._era_group.addButton(button)
            self.era_buttons[era.key] = button
            era_row.addWidget(button)
            button.toggled.connect(lambda _on: self._on_parts_changed())
        layout.addLayout(era_row)
        grid = QGridLayout()
        self.year = Stepper(1, 99, self, allow_gannen=True)
        self.month = Stepper(1, 12, self)
        self.day = Stepper(1, 31, self)
        self._part_labels = [QLabel(self) for _ in range(3)]
        for column, (label, stepper) in enumerate(
            zip(self._part_labels, (self.year, self.month, self.day), strict=True)
        ):
            label.setBuddy(stepper.field)
            grid.addWidget(label, 0, column)
            grid.addWidget(stepper, 1, column)
            stepper.value_changed.connect(self._on_parts_changed)
        layout.addLayout(grid)
        self.check = QLabel(self)
        self.check.setProperty("role", "help")
        self.check.setWordWrap(True)
        layout.addWidget(self.check)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        for label, text in zip(self._part_labels, (_("Year"), _("Month"), _("Day")), strict=True):
            label.setText(text)
        self.year.field.setAccessibleName(_("Year of the era"))
        self.month.field.setAccessibleName(_("Month"))
        self.day.field.setAccessibleName(_("Day"))
        self._on_parts_changed()

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
        value = answers.get(self.item.id)
        if not value:
            return
        day = dt.date.fromisoformat(value)
        era, year = wareki.wareki_year(day)
        if era.key in self.era_buttons:
            self.era_buttons[era.key].setChecked(True)
        self.year.set_value(year)
        self.month.set_value(day.month)
        self.day.set_value(day.day)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        try:
            day = self._parse()
        except FieldError as error:
            return {self.item.id: None}, [Issue(self.item.id, error.message_id, error.params)]
        return {self.item.id: day.isoformat()}, []

    def first_focus(self) -> QWidget:
        return next(iter(self.era_buttons.values()))


class PostalCodeView(StepView):
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

    def set_values(self, answers: Mapping[str, Any]) -> None:
        self.field.edit.setText(answers.get(self.item.id, ""))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: self.field.edit.text()}, []

    def first_focus(self) -> QWidget:
        return self.field.edit


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
        postal = answers.get(self.step.postal_item or "", "")
        candidates = address.lookup(postal) if postal else []
        chosen = answers.get(self.item.id) or {}
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
            field.edit.setText(answers.get(item_id, ""))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {item_id: f.edit.text() for item_id, f in self.fields.items()}, []

    def first_focus(self) -> QWidget:
        return next(iter(self.fields.values())).edit


class CountView(StepView):
    """A count with − and + (必要な通数)."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(step, parent)
        self.item = step.items[0]
        layout = QVBoxLayout(self)
        self.label = QLabel(self)
        self.stepper = Stepper(self.item.minimum or 1, self.item.maximum or 99, self)
        self.label.setBuddy(self.stepper.field)
        layout.addWidget(self.label)
        layout.addWidget(self.stepper)
        self._errors[self.item.id] = _error_label(self)
        layout.addWidget(self._errors[self.item.id])
        self.stepper.set_value(self.item.minimum or 1)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.label.setText(plain(self.item.label))
        self.stepper.field.setAccessibleName(plain(self.item.label))
        self.stepper.retranslate_ui()

    def set_values(self, answers: Mapping[str, Any]) -> None:
        if self.item.id in answers:
            self.stepper.set_value(int(answers[self.item.id]))

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        return {self.item.id: self.stepper.value()}, []

    def first_focus(self) -> QWidget:
        return self.stepper.field


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
        value = answers.get(self.item.id)
        if value in self.buttons:
            self.buttons[value].setChecked(True)

    def values(self) -> tuple[dict[str, Any], list[Issue]]:
        for value, button in self.buttons.items():
            if button.isChecked():
                return {self.item.id: value}, []
        return {self.item.id: None}, []

    def first_focus(self) -> QWidget:
        return next(iter(self.buttons.values()))


VIEWS: dict[str, type[StepView]] = {
    "name": NameView,
    "kana_name": NameView,
    "date": DateView,
    "postal_code": PostalCodeView,
    "address_candidate": AddressCandidateView,
    "text": TextView,
    "count": CountView,
    "choice": ChoiceView,
}


def view_for(step: Step, parent: QWidget | None = None) -> StepView:
    """Build the input view for a step from its item type."""
    return VIEWS[step.kind](step, parent)
