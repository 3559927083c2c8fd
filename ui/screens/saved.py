"""「あとで続ける」: the answers are saved; the reference code, large, to come back with."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

from ui.i18n import _
from ui.screens.base import Page, body_label

CODE_FONT_FACTOR = 2.4


class SavedPage(Page):
    """Shows the reference code of the saved draft and how to continue with it.

    Signals:
        finish_clicked(): the resident has noted the code; the visit ends.
        back_clicked(): back to the questions after all.
    """

    finish_clicked = Signal()
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = body_label(self, "help")
        self.code = QLabel(self)
        self.code.setProperty("font_factor", CODE_FONT_FACTOR)
        self.code.setProperty("font_bold", True)
        self.how = body_label(self)
        for widget in (self.caption, self.code, self.how):
            self.content.addWidget(widget)
        self.content.addStretch(1)
        self.next_button.clicked.connect(self.finish_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        self._code = ""
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Your answers are saved"))
        self.caption.setText(_("Reference code"))
        self.how.setText(_("Please write down this code or take a photo of it. To continue "
                           "later, press “Continue with a reference code” on the first "
                           "screen and enter it. At the counter, show this code to staff."))
        self.back_button.setText(_("Back to the questions"))
        self.next_button.setText(_("Finish"))
        self.code.setAccessibleName(_("Reference code: {code}", code=self._code)
                                    if self._code else "")

    def show_code(self, code: str) -> None:
        """Show the reference code of the saved draft."""
        self._code = code
        self.code.setText(code)
        self.retranslate_ui()

    def clear(self) -> None:
        """Forget the code (end of the visit)."""
        self.show_code("")
