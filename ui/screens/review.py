"""The check-your-answers page: every answer with a 「変更」 button back to its step."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QWidget

from desk.interview.engine import Interview
from ui.catalog_text import plain
from ui.format import format_answer
from ui.i18n import _
from ui.screens.base import Page, body_label
from ui.widgets.buttons import BigButton


class ReviewPage(Page):
    """Lists the answers of the interview.

    Signals:
        change_clicked(str): the screen key whose 「変更」 was pressed.
        next_clicked(): continue to the declaration.
        back_clicked(): back to the last question.
    """

    change_clicked = Signal(str)
    next_clicked = Signal()
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intro = body_label(self, "help")
        self.content.addWidget(self.intro)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self.content.addWidget(self._scroll, 1)
        self.rows: dict[str, tuple[QLabel, BigButton]] = {}
        self._interview: Interview | None = None
        self.next_button.clicked.connect(self.next_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language; the rows are rebuilt so answers reformat too."""
        self.heading.setText(_("Please check your answers"))
        self.intro.setText(_("If something is wrong, press “Change” next to it."))
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Next"))
        if self._interview is not None:
            self.show_interview(self._interview)

    def clear(self) -> None:
        """Drop every answer shown (end of a visit, lock)."""
        self._interview = None
        self.rows = {}
        self._scroll.setWidget(QFrame())  # deletes the old rows at once

    def show_interview(self, interview: Interview) -> None:
        """One row per answer (label, answer, 「変更」), under a heading per part of the visit."""
        self._interview = interview
        body = QFrame()
        grid = QGridLayout(body)
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(12)
        self.rows = {}
        row = 0
        section_id = None
        for screen in interview.screens():
            if screen.kind != "step" or screen.step is None or screen.section is None:
                continue
            if screen.section.id != section_id:
                section_id = screen.section.id
                title = QLabel(plain(screen.section.title), body)
                title.setProperty("font_bold", True)
                title.setWordWrap(True)
                grid.addWidget(title, row, 0, 1, 3)
                row += 1
            values = interview.values_for(screen)
            prefix = ""
            if screen.member is not None:
                prefix = _("Person {number}: ", number=screen.member + 1)
            for index, item in enumerate(screen.step.items):
                label = QLabel(prefix + plain(item.label), body)
                label.setProperty("role", "help")
                label.setWordWrap(True)
                answer = QLabel(format_answer(screen.step, item, values.get(item.id)), body)
                answer.setWordWrap(True)
                answer.setProperty("font_bold", True)
                grid.addWidget(label, row, 0)
                grid.addWidget(answer, row, 1)
                if index == 0:
                    change = BigButton(_("Change"), body)
                    change.setAccessibleName(_("Change: {label}", label=prefix + plain(item.label)))
                    change.clicked.connect(
                        lambda _=False, k=screen.key: self.change_clicked.emit(k))
                    grid.addWidget(change, row, 2)
                    self.rows[screen.key] = (answer, change)
                row += 1
        grid.setColumnStretch(1, 1)
        self._scroll.setWidget(body)
