"""The declaration page: what will be sent, a toggle to agree, and the send button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QProgressBar, QWidget

from desk.catalog.model import Procedure
from ui.catalog_text import rich
from ui.i18n import _
from ui.screens.base import Page, body_label
from ui.widgets.buttons import BigButton


class DeclarationPage(Page):
    """The resident agrees to the declaration, then sends.

    Signals:
        send_clicked(): agreed and pressed 送信する.
        back_clicked(): back to the check page.
    """

    send_clicked = Signal()
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.statement = body_label(self)
        self.content.addWidget(self.statement)
        # A big toggle instead of a small checkbox: easy to hit, and its state is shown by
        # a mark as well as by colour.
        self.agree = BigButton("", self, checkable=True)
        self.content.addWidget(self.agree)
        self.status = body_label(self, "help")
        self.content.addWidget(self.status)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # busy: the time a send takes is unknown
        self.progress.hide()
        self.content.addWidget(self.progress)
        self.content.addStretch(1)
        self.procedures: list[Procedure] = []
        self.sending_off = False
        self.agree.toggled.connect(self._on_agree_toggled)
        self.next_button.clicked.connect(self.send_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Declaration"))
        mark = "☑" if self.agree.isChecked() else "☐"
        agree_text = _("Yes, I confirm this")
        self.agree.setText(f"{mark} {agree_text}")
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Send"))
        if self.procedures:
            self.statement.setText("<br><br>".join(
                f"<b>{rich(p.title)}</b><br>{rich(p.declaration)}" if len(self.procedures) > 1
                else rich(p.declaration) for p in self.procedures))
        if self.progress.isVisible():
            self.status.setText(_("Sending…"))
        elif self.sending_off:
            self.status.setText(_("Sending is off because answers cannot be saved on this "
                                  "device. Please show this screen to a staff member."))

    def show_procedures(self, procedures: list[Procedure]) -> None:
        """Reset the page for the procedures of a visit (one declaration each)."""
        self.procedures = procedures
        self.agree.setChecked(False)
        self.set_busy(False)
        self.retranslate_ui()

    def set_sending_off(self, off: bool) -> None:
        """Drafts are off: the declaration can be read and agreed to, but not sent."""
        self.sending_off = off
        self.next_button.setEnabled(self.agree.isChecked() and not off)
        self.retranslate_ui()

    def clear(self) -> None:
        """Forget the visit's procedures."""
        self.procedures = []
        self.statement.clear()
        self.agree.setChecked(False)
        self.status.clear()

    def set_busy(self, busy: bool) -> None:
        """While sending: buttons off, a busy bar, and a status line for screen readers."""
        self.progress.setVisible(busy)
        self.status.setText(_("Sending…") if busy else "")
        self.back_button.setEnabled(not busy)
        self.agree.setEnabled(not busy)
        self.next_button.setEnabled(self.agree.isChecked() and not busy and not self.sending_off)

    def _on_agree_toggled(self, checked: bool) -> None:
        self.next_button.setEnabled(checked and not self.sending_off)
        self.retranslate_ui()
