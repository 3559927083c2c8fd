"""The start page: which procedure, and the draft left unfinished on this device, if any."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from desk.catalog.model import Procedure
from desk.store.drafts import DraftSummary
from ui.catalog_text import plain
from ui.i18n import _
from ui.screens.base import Page, body_label, heading_label
from ui.widgets.buttons import BigButton


class HomePage(Page):
    """Procedures to start, and drafts to resume (shown without any personal data).

    Signals:
        start_clicked(str): procedure id to start.
        resume_clicked(str): draft id to resume.
        discard_clicked(str): draft id to delete (start over).
    """

    start_clicked = Signal(str)
    resume_clicked = Signal(str)
    discard_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button.hide()
        self.next_button.hide()
        self.intro = body_label(self)
        self.content.addWidget(self.intro)
        self.procedure_buttons: dict[str, BigButton] = {}
        self._procedures: list[Procedure] = []
        self._drafts: list[DraftSummary] = []
        self.resume_heading = heading_label(self)
        self.content.addWidget(self.resume_heading)
        self._resume_rows: list[QWidget] = []
        self.resume_buttons: dict[str, BigButton] = {}
        self.discard_buttons: dict[str, BigButton] = {}
        self.content.addStretch(1)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Madoguchi Desk"))
        self.intro.setText(_("What would you like to do? Press a button."))
        self.resume_heading.setText(_("Continue where you stopped"))
        for procedure in self._procedures:
            self.procedure_buttons[procedure.id].setText(plain(procedure.title))
        self.show_drafts(self._drafts, {p.id: p for p in self._procedures})

    def show_procedures(self, procedures: list[Procedure]) -> None:
        """One big button per procedure offered on this device."""
        for button in self.procedure_buttons.values():
            button.deleteLater()
        self.procedure_buttons = {}
        self._procedures = procedures
        for index, procedure in enumerate(procedures):
            button = BigButton(plain(procedure.title), self, primary=True)
            button.clicked.connect(lambda _=False, p=procedure.id: self.start_clicked.emit(p))
            self.content.insertWidget(1 + index, button)
            self.procedure_buttons[procedure.id] = button

    def show_drafts(self, drafts: list[DraftSummary], procedures: dict[str, Procedure]) -> None:
        """List unfinished drafts by procedure and time saved, each with continue / start over."""
        for row in self._resume_rows:
            self.content.removeWidget(row)
            row.deleteLater()
        self._resume_rows = []
        self.resume_buttons = {}
        self.discard_buttons = {}
        self._drafts = drafts
        self.resume_heading.setVisible(bool(drafts))
        position = self.content.indexOf(self.resume_heading) + 1
        for draft in drafts:
            procedure = procedures.get(draft.procedure_id)
            if procedure is None:
                continue
            row = QWidget(self)
            layout = QHBoxLayout(row)
            saved = draft.updated_at.astimezone().strftime("%H:%M")
            label = QLabel(_("{procedure} (saved {time})", procedure=plain(procedure.title),
                             time=saved), row)
            label.setWordWrap(True)
            resume = BigButton(_("Continue"), row, primary=True)
            resume.clicked.connect(lambda _=False, d=draft.id: self.resume_clicked.emit(d))
            discard = BigButton(_("Start over"), row)
            discard.clicked.connect(lambda _=False, d=draft.id: self.discard_clicked.emit(d))
            layout.addWidget(label, 1)
            layout.addWidget(resume)
            layout.addWidget(discard)
            self.content.insertWidget(position, row)
            position += 1
            self._resume_rows.append(row)
            self.resume_buttons[draft.id] = resume
            self.discard_buttons[draft.id] = discard
