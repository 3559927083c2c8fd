"""The question page: one step of the interview, its help, its input view and back/next."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QVBoxLayout, QWidget

from desk.catalog.model import Step
from desk.interview.issues import Issue
from ui.catalog_text import plain, rich
from ui.i18n import _
from ui.screens.base import Page, body_label
from ui.screens.step_views import StepView, view_for
from ui.widgets.buttons import BigButton
from ui.widgets.scrub import discard_widget


class QuestionPage(Page):
    """Shows one step; the window's controller decides what happens on back and next.

    Where the catalog allows it, a 「わからない／あとで」 button lets the resident move on;
    staff complete the answer at the counter.

    Signals:
        next_clicked(): the resident pressed 次へ.
        back_clicked(): the resident pressed もどる.
        unknown_clicked(): the resident pressed わからない／あとで.
    """

    next_clicked = Signal()
    back_clicked = Signal()
    unknown_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.help = body_label(self, "help")
        self.content.addWidget(self.help)
        self.unknown_note = body_label(self, "help")
        self.unknown_note.hide()
        self.content.addWidget(self.unknown_note)
        # The view scrolls when it does not fit (a long form at the largest text size); the
        # buttons below it stay in place. Tab scrolls to the field it moves to (QScrollArea).
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        body = QWidget()
        self._body = QVBoxLayout(body)
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.addStretch(1)
        self._scroll.setWidget(body)
        self.content.addWidget(self._scroll, 1)
        self.view: StepView | None = None
        self.unknown_button = BigButton("", self)
        self.unknown_button.hide()
        self.content.addWidget(self.unknown_button)
        self.banner = body_label(self, "error")
        self.banner.hide()
        self.content.addWidget(self.banner)
        self.next_button.clicked.connect(self.next_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        self.unknown_button.clicked.connect(self.unknown_clicked)
        self.step: Step | None = None
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts of the buttons, the question and the view in the active language."""
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Next"))
        self.unknown_button.setText(_("I don't know / later"))
        self.unknown_button.setAccessibleName(_("I don't know / later"))
        self.unknown_note.setText(
            _("You answered “I don't know”. Staff will help you at the counter."))
        if self.step is not None:
            self.heading.setText(rich(self.step.question))
            self.help.setText(rich(self.step.help))
            self.help.setVisible(bool(plain(self.step.help)))
        if self.view is not None:
            self.view.retranslate_ui()

    def show_step(self, step: Step, answers: Mapping[str, Any], *, can_go_back: bool,
                  unknown: bool = False) -> None:
        """Replace the input view with the one for `step`, filled with the stored answers.

        `unknown` says the stored answer is the わからない marker: a note says so above the
        (empty) view, and the resident may still answer.
        """
        if self.view is not None:
            # Hidden at once: deleteLater only deletes on the next turn of the event loop.
            self.view.hide()
            self._body.removeWidget(self.view)
            self.view.deleteLater()
        self.step = step
        self.view = view_for(step, self._scroll.widget())
        self._body.insertWidget(0, self.view)
        self._scroll.verticalScrollBar().setValue(0)
        self.view.set_values(answers)
        self.banner.hide()
        self.back_button.setEnabled(can_go_back)
        # A group's "how many?" always needs a number: the engine refuses わからない there.
        self.unknown_button.setVisible(step.unknown_allowed and not step.is_group)
        self.unknown_note.setVisible(unknown)
        self.heading.setAccessibleName(plain(step.question))
        self.retranslate_ui()
        self._set_tab_order()
        self.view.first_focus().setFocus(Qt.FocusReason.OtherFocusReason)

    def clear(self) -> None:
        """Drop the view and everything it showed (end of a visit, lock).

        Views replaced earlier may still wait for deletion; they are wiped too.
        """
        body = self._scroll.widget()
        assert body is not None
        for view in body.findChildren(StepView, options=Qt.FindChildOption.FindDirectChildrenOnly):
            self._body.removeWidget(view)
            discard_widget(view)
        self.view = None
        self.step = None
        self.heading.clear()
        self.heading.setAccessibleName("")
        self.help.clear()
        self.unknown_note.hide()
        self.unknown_button.hide()
        self.show_banner("")

    def _set_tab_order(self) -> None:
        """Tab goes through the view first, then わからない, もどる and 次へ (reading order)."""
        assert self.view is not None
        in_view: list[QWidget] = []
        widget = self.view.nextInFocusChain()
        while widget is not self.view and widget is not None:
            if self.view.isAncestorOf(widget) and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
                in_view.append(widget)
            widget = widget.nextInFocusChain()
        chain = [*in_view, self.unknown_button, self.back_button, self.next_button]
        for before, after in pairwise(chain):
            QWidget.setTabOrder(before, after)

    def show_issues(self, issues: list[Issue]) -> None:
        """Show validation issues next to their fields and move focus to the first one."""
        assert self.view is not None
        self.view.show_issues(issues)
        if issues:
            errors = [w for w in self.view.findChildren(QLabel) if w.property("role") == "error"
                      and w.isVisibleTo(self)]
            if errors:
                # Lay the shown errors out before scrolling to them.
                QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
                self._scroll.ensureWidgetVisible(errors[0])
                errors[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def show_banner(self, text: str) -> None:
        """Show a message about the page as a whole (e.g. could not save)."""
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
