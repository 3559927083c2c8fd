"""Continue a saved visit: one large field for the reference code from the slip or screen."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from ui.i18n import _
from ui.screens.base import Page, body_label

CODE_FONT_FACTOR = 1.8
MAX_CODE_LENGTH = 20  # room for spaces and hyphens typed in between


class ResumeCodePage(Page):
    """The reference code field with 次へ and もどる.

    The code is accepted as typed (lower case, full-width, with or without the hyphen); the
    store normalizes it. A wrong code keeps the text in the field so it can be corrected.

    Signals:
        code_entered(str): the code as typed, when 次へ or Enter is pressed.
        back_clicked(): back to the start page.
    """

    code_entered = Signal(str)
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.help = body_label(self, "help")
        self.content.addWidget(self.help)
        self.label = QLabel(self)
        self.label.setProperty("font_bold", True)
        self.field = QLineEdit(self)
        self.field.setProperty("font_factor", CODE_FONT_FACTOR)
        self.field.setMaxLength(MAX_CODE_LENGTH)
        self.field.setInputMethodHints(Qt.InputMethodHint.ImhPreferUppercase
                                       | Qt.InputMethodHint.ImhNoPredictiveText
                                       | Qt.InputMethodHint.ImhNoAutoUppercase)
        self.label.setBuddy(self.field)
        self.content.addWidget(self.label)
        self.content.addWidget(self.field)
        self.message = body_label(self, "error")
        self.message.hide()
        self.content.addWidget(self.message)
        self.content.addStretch(1)
        self.field.returnPressed.connect(self._on_next_clicked)
        self.next_button.clicked.connect(self._on_next_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        QWidget.setTabOrder(self.field, self.back_button)
        QWidget.setTabOrder(self.back_button, self.next_button)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Please enter your reference code"))
        self.help.setText(_("You find it on the paper or the screen you got when you stopped: "
                            "8 letters and digits, for example K7QX-3MPA."))
        self.label.setText(_("Reference code"))
        self.field.setAccessibleName(_("Reference code"))
        self.field.setPlaceholderText("XXXX-XXXX")
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Next"))

    def reset(self) -> None:
        """An empty field and no message (a new visitor, or the end of a visit)."""
        self.field.setText("")
        self.show_message("")

    def show_message(self, text: str) -> None:
        """Say why the code did not open a visit; the typed code stays in the field."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.field.setAccessibleDescription(text)
        if text:
            self.field.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_next_clicked(self) -> None:
        self.code_entered.emit(self.field.text())
