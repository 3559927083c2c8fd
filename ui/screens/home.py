"""The start page: life events, single procedures, a way back with a reference code, and (at
desks and counters) the drafts left unfinished there."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from desk.catalog.model import LifeEvent, Procedure
from desk.store.drafts import DraftSummary
from ui.catalog_text import plain
from ui.i18n import _
from ui.screens.base import Page, body_label, heading_label
from ui.widgets.buttons import BigButton

EVENT_COLUMNS = 2


class HomePage(Page):
    """What the resident came for (a life event or one procedure), and drafts to resume.

    Drafts are listed without any personal data: what was started, and when it was saved.
    A kiosk never lists drafts: a resident comes back with the reference code instead.

    Signals:
        event_clicked(str): life event id to start.
        start_clicked(str): procedure id to start.
        resume_clicked(str): draft id to resume.
        discard_clicked(str): draft id to delete (start over).
        code_clicked(): continue a saved visit with its reference code.
    """

    event_clicked = Signal(str)
    start_clicked = Signal(str)
    resume_clicked = Signal(str)
    discard_clicked = Signal(str)
    code_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button.hide()
        self.next_button.hide()
        self.intro = body_label(self)
        self.content.addWidget(self.intro)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        self.content.addWidget(scroll, 1)
        body = QWidget()
        self.body = QVBoxLayout(body)
        self.body.setSpacing(16)
        scroll.setWidget(body)

        self.code_button = BigButton("", body)
        self.code_button.clicked.connect(self.code_clicked)
        self.body.addWidget(self.code_button)
        self.resume_heading = heading_label(body)
        self.body.addWidget(self.resume_heading)
        self.resume_area = QVBoxLayout()
        self.body.addLayout(self.resume_area)
        self.events_heading = heading_label(body)
        self.body.addWidget(self.events_heading)
        self.events_grid = QGridLayout()
        self.events_grid.setSpacing(16)
        self.body.addLayout(self.events_grid)
        self.procedures_heading = heading_label(body)
        self.body.addWidget(self.procedures_heading)
        self.procedures_area = QVBoxLayout()
        self.body.addLayout(self.procedures_area)
        self.body.addStretch(1)

        self.event_buttons: dict[str, BigButton] = {}
        self.procedure_buttons: dict[str, BigButton] = {}
        self.resume_buttons: dict[str, BigButton] = {}
        self.discard_buttons: dict[str, BigButton] = {}
        self._events: list[LifeEvent] = []
        self._procedures: list[Procedure] = []
        self._drafts: list[DraftSummary] = []
        self._titles: dict[str, str] = {}
        self._resume_rows: list[QWidget] = []
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Madoguchi Desk"))
        self.intro.setText(_("What would you like to do? Press a button."))
        self.resume_heading.setText(_("Continue where you stopped"))
        self.events_heading.setText(_("What happened?"))
        self.procedures_heading.setText(_("Or choose one procedure"))
        self.code_button.setText(_("Continue with a reference code"))
        self.code_button.setAccessibleDescription(
            _("For a visit you saved before: enter the code you got."))
        for event in self._events:
            self.event_buttons[event.id].setText(plain(event.title))
            self.event_buttons[event.id].setToolTip(plain(event.description))
        for procedure in self._procedures:
            self.procedure_buttons[procedure.id].setText(plain(procedure.title))
        self.events_heading.setVisible(bool(self._events))
        self._show_draft_rows()

    def show_events(self, events: list[LifeEvent]) -> None:
        """One big button per life event, in the catalog's order."""
        for button in self.event_buttons.values():
            button.deleteLater()
        self.event_buttons = {}
        self._events = events
        for index, event in enumerate(events):
            button = BigButton(plain(event.title), self, primary=True)
            button.setAccessibleDescription(plain(event.description))
            button.clicked.connect(lambda _=False, e=event.id: self.event_clicked.emit(e))
            self.events_grid.addWidget(button, index // EVENT_COLUMNS, index % EVENT_COLUMNS)
            self.event_buttons[event.id] = button
        self.retranslate_ui()

    def show_procedures(self, procedures: list[Procedure]) -> None:
        """One button per procedure offered on this device."""
        for button in self.procedure_buttons.values():
            button.deleteLater()
        self.procedure_buttons = {}
        self._procedures = procedures
        for procedure in procedures:
            button = BigButton(plain(procedure.title), self)
            button.clicked.connect(lambda _=False, p=procedure.id: self.start_clicked.emit(p))
            self.procedures_area.addWidget(button)
            self.procedure_buttons[procedure.id] = button
        self.procedures_heading.setVisible(bool(procedures))
        self.retranslate_ui()

    def show_drafts(self, drafts: list[DraftSummary], titles: dict[str, str]) -> None:
        """List unfinished drafts (what was started, time saved), with continue / start over.

        `titles` maps a draft id to what it was started from, in the active language.
        """
        self._drafts = drafts
        self._titles = titles
        self._show_draft_rows()

    def _show_draft_rows(self) -> None:
        for row in self._resume_rows:
            self.resume_area.removeWidget(row)
            row.deleteLater()
        self._resume_rows = []
        self.resume_buttons = {}
        self.discard_buttons = {}
        shown = [d for d in self._drafts if d.id in self._titles]
        self.resume_heading.setVisible(bool(shown))
        for draft in shown:
            row = QWidget(self)
            layout = QHBoxLayout(row)
            saved = draft.updated_at.astimezone().strftime("%H:%M")
            label = QLabel(_("{procedure} (saved {time})", procedure=self._titles[draft.id],
                             time=saved), row)
            label.setWordWrap(True)
            resume = BigButton(_("Continue"), row, primary=True)
            resume.clicked.connect(lambda _=False, d=draft.id: self.resume_clicked.emit(d))
            discard = BigButton(_("Start over"), row)
            discard.clicked.connect(lambda _=False, d=draft.id: self.discard_clicked.emit(d))
            layout.addWidget(label, 1)
            layout.addWidget(resume)
            layout.addWidget(discard)
            self.resume_area.addWidget(row)
            self._resume_rows.append(row)
            self.resume_buttons[draft.id] = resume
            self.discard_buttons[draft.id] = discard
