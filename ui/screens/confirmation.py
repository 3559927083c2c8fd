"""The confirmation page: the gateway's 受付番号 (or that sending waits), what happens next."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

from desk.catalog.text import LocalizedText
from desk.store.drafts import DraftSummary
from ui.catalog_text import rich
from ui.i18n import _
from ui.screens.base import Page, body_label


class ConfirmationPage(Page):
    """Shows the receipt.

    Signals:
        finish_clicked(): the resident is done; the session ends.
    """

    finish_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.number_caption = body_label(self, "help")
        self.number = QLabel(self)
        self.number.setProperty("font_factor", 2.0)
        self.number.setProperty("font_bold", True)
        self.next_steps = body_label(self)
        self.documents = body_label(self)
        for widget in (self.number_caption, self.number, self.next_steps, self.documents):
            self.content.addWidget(widget)
        self.content.addStretch(1)
        self.back_button.hide()
        self.next_button.clicked.connect(self.finish_clicked)
        self._draft: DraftSummary | None = None
        self._documents: list[LocalizedText] = []
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.next_button.setText(_("Finish"))
        if self._draft is not None:
            self.show_result(self._draft, self._documents)

    def clear(self) -> None:
        """Forget the receipt (end of a visit)."""
        self._draft, self._documents = None, []
        for label in (self.heading, self.number_caption, self.number, self.next_steps,
                      self.documents):
            label.clear()
        self.number.setAccessibleName("")

    def show_result(self, draft: DraftSummary, documents: list[LocalizedText]) -> None:
        """Show the 受付番号 when the gateway answered, or the reference code while it waits."""
        self._draft, self._documents = draft, documents
        if draft.uketsuke_bango:
            self.heading.setText(_("Your application was received"))
            self.number_caption.setText(_("Reception number"))
            self.number.setText(draft.uketsuke_bango)
            self.next_steps.setText(
                _("Please take this number to the counter. Staff will check your ID and "
                  "hand you the certificate.")
            )
        else:
            self.heading.setText(_("Your application is saved"))
            self.number_caption.setText(_("Reference code"))
            self.number.setText(draft.reference_code)
            self.next_steps.setText(
                _("It will be sent automatically as soon as the network is back. "
                  "Please tell the counter this reference code.")
            )
        self.number.setAccessibleName(f"{self.number_caption.text()} {self.number.text()}")
        items = "".join(f"<li>{rich(doc)}</li>" for doc in documents)
        caption = html.escape(_("Please bring"))
        self.documents.setText(f"<b>{caption}</b><ul>{items}</ul>" if items else "")
