"""Drafts cannot be saved on this device: why, what staff can do, going on without saving."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from desk.errors import DeskError
from ui.i18n import N_, _
from ui.messages import drafts_off_reason
from ui.screens.base import Page, body_label
from ui.screens.sign_in import secret_field
from ui.widgets.buttons import BigButton

# What staff can do about each problem; commands stay untranslated (typed as they are).
STAFF_HINTS: dict[str, str] = {
    "store.damaged": N_("For staff: the data file was kept as it is. Restore a backup on "
                        "this computer with: {command}"),
    "store.migration_failed": N_("For staff: the data file was kept as it is. Restore a "
                                 "backup on this computer with: {command}"),
    "store.newer_schema": N_("For staff: this data file needs a newer release of Madoguchi "
                             "Desk. Install it; the file was kept as it is."),
    "store.no_keyring": N_("For staff: this computer has no usable keyring for the device "
                           "key. Enrol it with a passphrase, or set up the keyring service."),
    "store.key_locked": N_("For staff: unlock the keyring of this computer's user, then "
                           "press “Try again”."),
    "store.passphrase_needed": N_("For staff: enter the device passphrase and press "
                                  "“Try again”."),
    "store.passphrase_wrong": N_("For staff: enter the device passphrase and press "
                                 "“Try again”."),
}
RESTORE_COMMAND = "madoguchi restore FILE"
PASSPHRASE_PROBLEMS = frozenset({"store.passphrase_needed", "store.passphrase_wrong"})
RETRY_PROBLEMS = PASSPHRASE_PROBLEMS | {"store.key_locked", "store.no_keyring"}


class StoreProblemPage(Page):
    """Drafts are off: the reason, a hint for staff, a passphrase field where one would help.

    Signals:
        retry_clicked(str): try to open the device key again (with the passphrase typed,
            or "" when none is asked for).
        continue_clicked(): go on without saving.
    """

    retry_clicked = Signal(str)
    continue_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button.hide()
        self.reason = body_label(self)
        self.hint = body_label(self, "help")
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.passphrase_label = QLabel(self)
        self.passphrase_label.setProperty("font_bold", True)
        self.passphrase = secret_field(self)
        self.passphrase_label.setBuddy(self.passphrase)
        self.retry_button = BigButton("", self)
        self.message = body_label(self, "error")
        self.message.hide()
        for widget in (self.reason, self.hint, self.passphrase_label, self.passphrase,
                       self.retry_button, self.message):
            self.content.addWidget(widget)
        self.content.addStretch(1)
        self.passphrase.returnPressed.connect(self._on_retry_clicked)
        self.retry_button.clicked.connect(self._on_retry_clicked)
        self.next_button.clicked.connect(self.continue_clicked)
        QWidget.setTabOrder(self.passphrase, self.retry_button)
        QWidget.setTabOrder(self.retry_button, self.next_button)
        self.problem: DeskError | None = None
        self.can_continue = True
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("Answers are not saved on this device"))
        self.passphrase_label.setText(_("Device passphrase"))
        self.passphrase.setAccessibleName(_("Device passphrase"))
        self.retry_button.setText(_("Try again"))
        self.next_button.setText(_("Continue without saving"))
        if self.problem is None:
            return
        message_id = self.problem.message_id
        self.reason.setText(drafts_off_reason(self.problem))
        hint = STAFF_HINTS.get(message_id)
        self.hint.setText(_(hint, command=RESTORE_COMMAND) if hint else "")
        self.hint.setVisible(bool(hint))
        asks = message_id in PASSPHRASE_PROBLEMS
        self.passphrase_label.setVisible(asks)
        self.passphrase.setVisible(asks)
        self.retry_button.setVisible(message_id in RETRY_PROBLEMS)
        self.next_button.setVisible(self.can_continue)

    def show_problem(self, problem: DeskError, *, can_continue: bool) -> None:
        """Explain `problem`; `can_continue` offers going on without saving."""
        self.problem, self.can_continue = problem, can_continue
        self.passphrase.setText("")
        self.message.hide()
        self.retranslate_ui()

    def show_message(self, text: str) -> None:
        """Say why trying again did not work."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.passphrase.setText("")

    def _on_retry_clicked(self) -> None:
        secret = self.passphrase.text()
        self.passphrase.setText("")
        self.retry_clicked.emit(secret)
