"""A number field with big − and + buttons, for counts and the parts of a date."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIntValidator, QRegularExpressionValidator
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QWidget

from desk.fields.digits import normalize_digits
from ui.i18n import _
from ui.widgets.buttons import BigButton


class Stepper(QWidget):
    """Type a number or press − / +. Empty is allowed (nothing chosen yet).

    Signals:
        value_changed(): the text changed by typing or by the buttons.
    """

    value_changed = Signal()

    def __init__(self, minimum: int, maximum: int, parent: QWidget | None = None, *,
                 allow_gannen: bool = False) -> None:
        super().__init__(parent)
        self.minimum, self.maximum = minimum, maximum
        self._allow_gannen = allow_gannen
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._minus = BigButton("−", self)
        self._plus = BigButton("+", self)
        for button in (self._minus, self._plus):
            button.setFixedWidth(72)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.field = QLineEdit(self)
        self.field.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.field.setMaxLength(len(str(maximum)))
        if allow_gannen:
            # 元 (the first year of an era) is accepted as well as digits, full-width included.
            self.field.setValidator(QRegularExpressionValidator(r"^(元|[0-9０-９]{0,2})$", self))
        else:
            self.field.setValidator(QIntValidator(0, maximum, self))
        layout.addWidget(self._minus)
        layout.addWidget(self.field, 1)
        layout.addWidget(self._plus)
        self._minus.clicked.connect(lambda: self._on_step_clicked(-1))
        self._plus.clicked.connect(lambda: self._on_step_clicked(+1))
        self.field.textChanged.connect(lambda _t: self.value_changed.emit())
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Set the buttons' accessible names in the active language."""
        self._minus.setAccessibleName(_("Decrease"))
        self._plus.setAccessibleName(_("Increase"))

    def value(self) -> int | None:
        """The number shown, or None when empty; 元 counts as 1."""
        text = normalize_digits(self.field.text().strip())
        if self._allow_gannen and text == "元":
            return 1
        return int(text) if text.isdigit() else None

    def set_value(self, value: int | None) -> None:
        """Show a number (or clear the field)."""
        self.field.setText("" if value is None else str(value))

    def _on_step_clicked(self, delta: int) -> None:
        current = self.value()
        start = self.minimum if current is None else current + delta
        self.set_value(min(max(start, self.minimum), self.maximum))
