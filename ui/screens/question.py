"""The question page: one step of the interview, its help, its input view and back/next."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from desk.catalog.model import Step
from desk.interview.issues import Issue
from ui.catalog_text import plain, rich
from ui.i18n import _
from ui.screens.base import Page, body_label
from ui.screens.step_views import StepView, view_for


class QuestionPage(Page):
    """Shows one step; the window's controller decides what happens on back and next.

    Signals:
        next_clicked(): the resident pressed 次へ.
        back_clicked(): the resident pressed もどる.
    """

    next_clicked = Signal()
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.help = body_label(self, "help")
        self.content.addWidget(self.help)
        self.view: StepView | None = None
        self.banner = body_label(self, "error")
        self.banner.hide()
        self.content.addWidget(self.banner)
        self.content.addStretch(1)
        self.next_button.clicked.connect(self.next_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        self.step: Step | None = None
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts of the buttons, the question and the view in the active language."""
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Next"))
        if self.step is not None:
            self.heading.setText(rich(self.step.question))
            self.help.setText(rich(self.step.help))
            self.help.setVisible(bool(plain(self.step.help)))
        if self.view is not None:
            self.view.retranslate_ui()

    def show_step(self, step: Step, answers: Mapping[str, Any], *, can_go_back: bool) -> None:
        """Replace the input view with the one for `step`, filled with the stored answers."""
        if self.view is not None:
            # Hidden at once: deleteLater only deletes on the next turn of the event loop.
            self.view.hide()
            self.content.removeWidget(self.view)
            self.view.deleteLater()
        self.step = step
        self.view = view_for(step, self)
        self.content.insertWidget(1, self.view)
        self.view.set_values(answers)
        self.banner.hide()
        self.back_button.setEnabled(can_go_back)
        self.heading.setAccessibleName(plain(step.question))
        self.retranslate_ui()
        self.view.first_focus().setFocus(Qt.FocusReason.OtherFocusReason)

    def show_issues(self, issues: list[Issue]) -> None:
        """Show validation issues next to their fields and move focus to the first one."""
        assert self.view is not None
        self.view.show_issues(issues)
        if issues:
            errors = [w for w in self.view.findChildren(QLabel) if w.property("role") == "error"
                      and w.isVisibleTo(self)]
            if errors:
                errors[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def show_banner(self, text: str) -> None:
        """Show a message about the page as a whole (e.g. could not save)."""
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
