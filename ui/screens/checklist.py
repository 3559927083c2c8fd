"""The checklist after a life event's questions: the procedures that apply, what to bring."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QScrollArea, QWidget

from desk.catalog.text import LocalizedText
from desk.interview.navigator import Applicable
from ui.catalog_text import plain, rich
from ui.i18n import _
from ui.screens.base import Page, body_label


class ChecklistPage(Page):
    """Shows what the navigator found; the resident continues to the questions of each.

    Signals:
        next_clicked(): continue to the first procedure's questions.
        back_clicked(): back to the last eligibility question.
    """

    next_clicked = Signal()
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intro = body_label(self, "help")
        self.content.addWidget(self.intro)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        self.list = body_label(self)
        scroll.setWidget(self.list)
        self.content.addWidget(scroll, 1)
        self.next_button.clicked.connect(self.next_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        self._applicable: list[Applicable] = []
        self._documents: list[LocalizedText] = []
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("These procedures are for you"))
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Next"))
        count = len(self._applicable)
        self.intro.setText(_("We will now ask the questions for these {count} procedure(s), "
                             "one at a time.", count=count))
        rows = "".join(
            f"<li><b>{rich(a.procedure.title)}</b>"
            + (f"<br>{rich(a.reason)}" if plain(a.reason) else "") + "</li>"
            for a in self._applicable
        )
        documents = "".join(f"<li>{rich(d)}</li>" for d in self._documents)
        bring = html.escape(_("Please bring"))
        self.list.setText(f"<ol>{rows}</ol>" + (f"<b>{bring}</b><ul>{documents}</ul>"
                                                if documents else ""))
        self.list.setAccessibleName(plain_list(self._applicable))

    def clear(self) -> None:
        """Forget the visit's checklist."""
        self.show_checklist([], [])

    def show_checklist(self, applicable: list[Applicable], documents: list[LocalizedText]) -> None:
        """Show the procedures that apply and the documents to bring."""
        self._applicable = applicable
        self._documents = documents
        self.retranslate_ui()


def plain_list(applicable: list[Applicable]) -> str:
    """The procedure titles as one sentence for screen readers."""
    return "、".join(plain(a.procedure.title) for a in applicable)
