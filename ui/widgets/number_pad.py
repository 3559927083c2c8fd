"""An on-screen number pad for kiosks, so nobody needs the system keyboard for digits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLineEdit, QWidget

from ui.i18n import _
from ui.widgets.buttons import BigButton


class NumberPad(QWidget):
    """Digits 0–9, delete and clear, typing into one QLineEdit."""

    def __init__(self, target: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = target
        layout = QGridLayout(self)
        layout.setSpacing(12)
        self._digit_buttons: list[BigButton] = []
        for index, digit in enumerate("1234567890"):
            button = BigButton(digit, self)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep focus in the field
            button.clicked.connect(lambda _=False, d=digit: self._on_digit_clicked(d))
            row, column = divmod(index, 3) if digit != "0" else (3, 1)
            layout.addWidget(button, row, column)
            self._digit_buttons.append(button)
        self._delete = BigButton("", self)
        self._delete.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._delete.clicked.connect(self._on_delete_clicked)
        layout.addWidget(self._delete, 3, 2)
        self._clear = BigButton("", self)
        self._clear.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._clear.clicked.connect(self._target.clear)
        layout.addWidget(self._clear, 3, 0)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Set the texts in the active language."""
        self._delete.setText(_("Delete"))
        self._delete.setAccessibleName(_("Delete one digit"))
        self._clear.setText(_("Clear"))
        self._clear.setAccessibleName(_("Clear the field"))

    def _on_digit_clicked(self, digit: str) -> None:
        self._target.insert(digit)

    def _on_delete_clicked(self) -> None:
        self._target.backspace()
