"""The kiosk's inactivity warning: a big countdown and one button to keep going."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from ui.i18n import _
from ui.screens.base import Page, body_label

COUNTDOWN_FONT_FACTOR = 3.0


class IdleWarningPage(Page):
    """「まだ続けますか？」 with the seconds left before the visit ends.

    Signals:
        continue_clicked(): the resident is still there.
    """

    continue_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button.hide()
        self.explanation = body_label(self)
        self.seconds = QLabel(self)
        self.seconds.setProperty("font_factor", COUNTDOWN_FONT_FACTOR)
        self.seconds.setProperty("font_bold", True)
        self.seconds.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.content.addWidget(self.explanation)
        self.content.addWidget(self.seconds)
        self.content.addStretch(1)
        self.next_button.clicked.connect(self.continue_clicked)
        self._left = 0
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Do you want to continue?"))
        self.explanation.setText(_(
            "Nobody has touched the screen for a while. To protect your answers, this visit "
            "ends when the countdown reaches zero. Your saved answers are kept: continue "
            "later with your reference code, or ask a staff member."))
        self.next_button.setText(_("Continue"))
        self.seconds.setText(str(self._left))
        self.seconds.setAccessibleName(_("{seconds} seconds left", seconds=self._left))

    def set_seconds(self, left: int) -> None:
        """Show how many seconds are left."""
        self._left = left
        self.retranslate_ui()
