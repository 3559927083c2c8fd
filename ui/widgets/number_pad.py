"""An on-screen number pad for kiosks, so nobody needs the system keyboard for digits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLineEdit, QWidget

from ui.i18n import N_, _
from ui.widgets.buttons import BigButton

# Keys a pad may have besides the digits, with their accessible names.
EXTRA_KEYS: dict[str, str] = {
    "-": N_("Hyphen"),
    ".": N_("Decimal point"),
}


class NumberPad(QWidget):
    """Digits 0–9, delete and clear (and optionally "-" or "."), typing into a QLineEdit.

    The target can change (`set_target`), so one pad serves a form of several digit fields.
    """

    def __init__(self, target: QLineEdit, parent: QWidget | None = None, *,
                 extra_key: str | None = None) -> None:
        super().__init__(parent)
        self._target = target
        layout = QGridLayout(self)
        layout.setSpacing(12)
        self._digit_buttons: list[BigButton] = []
        for index, digit in enumerate("1234567890"):
            button = self._key(digit)
            button.clicked.connect(lambda _=False, d=digit: self._on_key_clicked(d))
            row, column = divmod(index, 3) if digit != "0" else (3, 1)
            layout.addWidget(button, row, column)
            self._digit_buttons.append(button)
        self._delete = self._key("")
        self._delete.clicked.connect(self._on_delete_clicked)
        layout.addWidget(self._delete, 3, 2)
        self._clear = self._key("")
        self._clear.clicked.connect(self._on_clear_clicked)
        self.extra_buttons: dict[str, BigButton] = {}
        if extra_key is None:
            layout.addWidget(self._clear, 3, 0)
        else:
            if extra_key not in EXTRA_KEYS:
                raise ValueError(f"no accessible name for the pad key {extra_key!r}")
            button = self._key(extra_key)
            button.clicked.connect(lambda _=False, k=extra_key: self._on_key_clicked(k))
            layout.addWidget(button, 3, 0)
            self.extra_buttons[extra_key] = button
            # The extra key takes the place next to 0; clearing, used less, goes below.
            layout.addWidget(self._clear, 4, 0, 1, 3)
        for column in range(3):
            layout.setColumnStretch(column, 1)
        self.retranslate_ui()

    def _key(self, text: str) -> BigButton:
        button = BigButton(text, self)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep focus in the field
        return button

    def retranslate_ui(self) -> None:
        """Set the texts in the active language."""
        self._delete.setText(_("Delete"))
        self._delete.setAccessibleName(_("Delete one digit"))
        self._clear.setText(_("Clear"))
        self._clear.setAccessibleName(_("Clear the field"))
        for key, button in self.extra_buttons.items():
            button.setAccessibleName(_(EXTRA_KEYS[key]))

    def target(self) -> QLineEdit:
        """The field the pad types into."""
        return self._target

    def set_target(self, target: QLineEdit) -> None:
        """Type into another field from now on."""
        self._target = target

    def _on_key_clicked(self, key: str) -> None:
        self._target.insert(key)

    def _on_delete_clicked(self) -> None:
        self._target.backspace()

    def _on_clear_clicked(self) -> None:
        self._target.clear()
