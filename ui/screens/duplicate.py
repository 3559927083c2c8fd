"""Instead of a duplicate: continue the unfinished draft of the same thing, or start anew."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from babel.dates import format_datetime
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget

from desk.store.drafts import DraftSummary
from ui.i18n import LANGUAGES, _, current_language
from ui.screens.base import Page, body_label
from ui.widgets.buttons import BigButton


def saved_at_text(moment: dt.datetime) -> str:
    """When a draft was last saved, in local time and the active language's format."""
    locale = next(lang.locale for lang in LANGUAGES if lang.code == current_language())
    local = moment.astimezone()
    return format_datetime(local, format="short", tzinfo=local.tzinfo, locale=locale)


class DuplicatePage(Page):
    """What was started before and when it was last saved (no personal data), and a choice.

    `replaces` says that starting anew deletes the earlier draft (a resident's own visit);
    otherwise the earlier draft is kept (at a desk it may be another resident's).

    Signals:
        continue_clicked(): open the earlier draft on the screen where it was left.
        new_clicked(): start a new draft.
        back_clicked(): back to the start page.
    """

    continue_clicked = Signal()
    new_clicked = Signal()
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = body_label(self)
        self.what.setProperty("font_bold", True)
        self.when = body_label(self, "help")
        self.new_button = BigButton("", self)
        self.new_note = body_label(self, "help")
        self.message = body_label(self, "error")
        self.message.hide()
        for widget in (self.what, self.when, self.new_button, self.new_note, self.message):
            self.content.addWidget(widget)
        self.content.addStretch(1)
        self.next_button.clicked.connect(self.continue_clicked)
        self.new_button.clicked.connect(self.new_clicked)
        self.back_button.clicked.connect(self.back_clicked)
        QWidget.setTabOrder(self.new_button, self.back_button)
        QWidget.setTabOrder(self.back_button, self.next_button)
        self._title: Callable[[], str] = str
        self._draft: DraftSummary | None = None
        self._replaces = False
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("You have already started this"))
        self.back_button.setText(_("Back"))
        self.next_button.setText(_("Continue where you stopped"))
        if self._replaces:
            self.new_button.setText(_("Start over"))
            self.new_note.setText(_("Starting over deletes the answers saved before."))
        else:
            self.new_button.setText(_("Start a new one"))
            self.new_note.setText(_("The one saved before is kept."))
        self.what.setText(self._title())
        self.when.setText(_("Last saved: {time}", time=saved_at_text(self._draft.updated_at))
                          if self._draft is not None else "")

    def show_offer(self, draft: DraftSummary, title: Callable[[], str], *,
                   replaces: bool) -> None:
        """Offer to continue `draft` or start anew; `title()` names it in the active language."""
        self._draft, self._title, self._replaces = draft, title, replaces
        self.show_message("")
        self.retranslate_ui()
        self.next_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_message(self, text: str) -> None:
        """Say why continuing or starting over did not work."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    @property
    def draft(self) -> DraftSummary | None:
        """The draft on offer."""
        return self._draft

    def clear(self) -> None:
        """Forget the offer (end of the visit)."""
        self._draft, self._title = None, str
        self.retranslate_ui()
