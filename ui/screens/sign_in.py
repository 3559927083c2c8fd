"""Signing in at a desk or counter, choosing a new PIN, and unlocking after inactivity."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ui.i18n import _
from ui.screens.base import Page, body_label
from ui.widgets.number_pad import NumberPad

_LOGIN_HINTS = (Qt.InputMethodHint.ImhNoAutoUppercase | Qt.InputMethodHint.ImhPreferLowercase
                | Qt.InputMethodHint.ImhNoPredictiveText | Qt.InputMethodHint.ImhLatinOnly)
_PIN_HINTS = (Qt.InputMethodHint.ImhPreferNumbers | Qt.InputMethodHint.ImhSensitiveData
              | Qt.InputMethodHint.ImhNoPredictiveText | Qt.InputMethodHint.ImhHiddenText)
MAX_PIN_LENGTH = 64


def secret_field(parent: QWidget) -> QLineEdit:
    """A masked field for a PIN or password; digits first on touch keyboards."""
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setInputMethodHints(_PIN_HINTS)
    field.setMaxLength(MAX_PIN_LENGTH)
    # A PIN must never be copied out of its field.
    field.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
    return field


class _FieldsWithPad(QWidget):
    """Labelled fields in a column and a number pad beside them that types into the focused one."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        column = QVBoxLayout()
        self.grid = QGridLayout()
        self.grid.setVerticalSpacing(12)
        column.addLayout(self.grid)
        column.addStretch(1)
        outer.addLayout(column, 3)
        self._rows = 0
        self._pad_targets: list[QLineEdit] = []
        self.pad: NumberPad | None = None
        self._outer = outer

    def add(self, label: QLabel, field: QLineEdit, *, pad: bool = False) -> None:
        label.setBuddy(field)
        label.setProperty("font_bold", True)
        self.grid.addWidget(label, self._rows, 0)
        self.grid.addWidget(field, self._rows + 1, 0)
        self._rows += 2
        if pad:
            if self.pad is None:
                self.pad = NumberPad(field, self)
                self._outer.addWidget(self.pad, 2, Qt.AlignmentFlag.AlignTop)
            self._pad_targets.append(field)
            field.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """The pad types into whichever of its fields got the focus last."""
        if (event.type() == QEvent.Type.FocusIn and self.pad is not None
                and isinstance(watched, QLineEdit) and watched in self._pad_targets):
            self.pad.set_target(watched)
        return False

    def retranslate_ui(self) -> None:
        if self.pad is not None:
            self.pad.retranslate_ui()


class SignInPage(Page):
    """Login id and PIN; after a supervisor reset, a new PIN typed twice.

    Signals:
        sign_in_requested(str, str): login id and PIN as typed.
        new_pin_requested(str, str): the new PIN and its repetition.
    """

    sign_in_requested = Signal(str, str)
    new_pin_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button.hide()
        self.intro = body_label(self, "help")
        self.content.addWidget(self.intro)
        self.form = _FieldsWithPad(self)
        self.login_label, self.login = QLabel(self), QLineEdit(self)
        self.login.setInputMethodHints(_LOGIN_HINTS)
        self.login.setMaxLength(32)
        self.pin_label, self.pin = QLabel(self), secret_field(self)
        self.new_label, self.new_pin = QLabel(self), secret_field(self)
        self.again_label, self.again = QLabel(self), secret_field(self)
        self.form.add(self.login_label, self.login)
        self.form.add(self.pin_label, self.pin, pad=True)
        self.form.add(self.new_label, self.new_pin, pad=True)
        self.form.add(self.again_label, self.again, pad=True)
        self.content.addWidget(self.form, 1)
        self.message = body_label(self, "error")
        self.message.hide()
        self.content.addWidget(self.message)
        self.no_accounts = body_label(self, "help")
        self.no_accounts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.no_accounts.hide()
        self.content.addWidget(self.no_accounts)
        self.login.returnPressed.connect(self.pin.setFocus)
        for field in (self.pin, self.again):
            field.returnPressed.connect(self._on_next_clicked)
        self.new_pin.returnPressed.connect(self.again.setFocus)
        self.next_button.clicked.connect(self._on_next_clicked)
        for before, after in ((self.login, self.pin), (self.pin, self.new_pin),
                              (self.new_pin, self.again), (self.again, self.next_button)):
            QWidget.setTabOrder(before, after)
        self.changing_pin = False
        self.retranslate_ui()
        self.reset(has_accounts=True)

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        if self.changing_pin:
            self.heading.setText(_("Please choose a new PIN"))
            self.intro.setText(_("Your PIN was reset. Choose a new one that only you know."))
            self.next_button.setText(_("Save the new PIN"))
        else:
            self.heading.setText(_("Sign in"))
            self.intro.setText(_("Staff and volunteers sign in with their ID and PIN."))
            self.next_button.setText(_("Sign in"))
        self.login_label.setText(_("ID"))
        self.login.setAccessibleName(_("ID"))
        self.pin_label.setText(_("PIN"))
        self.pin.setAccessibleName(_("PIN"))
        self.new_label.setText(_("New PIN"))
        self.new_pin.setAccessibleName(_("New PIN"))
        self.again_label.setText(_("New PIN again"))
        self.again.setAccessibleName(_("New PIN again"))
        self.no_accounts.setText(_(
            "There are no sign-ins on this device yet. A supervisor adds one on this computer "
            "with the command: {command}", command="madoguchi accounts add"))
        self.form.retranslate_ui()

    def reset(self, *, has_accounts: bool) -> None:
        """Empty fields for the next person; say how to add a sign-in if there is none."""
        self.changing_pin = False
        for field in (self.login, self.pin, self.new_pin, self.again):
            field.setText("")
        for widget in (self.login_label, self.login, self.pin_label, self.pin):
            widget.setVisible(True)
        for widget in (self.new_label, self.new_pin, self.again_label, self.again):
            widget.setVisible(False)
        self.no_accounts.setVisible(not has_accounts)
        self.show_message("")
        self.retranslate_ui()
        self.login.setFocus(Qt.FocusReason.OtherFocusReason)

    def ask_new_pin(self) -> None:
        """Switch to choosing a new PIN (the account must change the one a supervisor set)."""
        self.changing_pin = True
        for widget in (self.login_label, self.login, self.pin_label, self.pin):
            widget.setVisible(False)
        for widget in (self.new_label, self.new_pin, self.again_label, self.again):
            widget.setVisible(True)
        self.show_message("")
        self.retranslate_ui()
        self.new_pin.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_message(self, text: str) -> None:
        """Say why signing in did not work; the ID stays, the PIN is emptied."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            for field in (self.pin, self.new_pin, self.again):
                field.setText("")
            focus = self.new_pin if self.changing_pin else self.pin
            focus.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_next_clicked(self) -> None:
        if self.changing_pin:
            self.new_pin_requested.emit(self.new_pin.text(), self.again.text())
        else:
            self.sign_in_requested.emit(self.login.text(), self.pin.text())


class LockPage(Page):
    """The screen locked after inactivity: the same person's PIN continues where they were.

    Signals:
        unlock_requested(str): the PIN as typed.
        sign_out_clicked(): someone else wants to use the device.
    """

    unlock_requested = Signal(str)
    sign_out_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intro = body_label(self)
        self.content.addWidget(self.intro)
        self.form = _FieldsWithPad(self)
        self.pin_label, self.pin = QLabel(self), secret_field(self)
        self.form.add(self.pin_label, self.pin, pad=True)
        self.content.addWidget(self.form, 1)
        self.message = body_label(self, "error")
        self.message.hide()
        self.content.addWidget(self.message)
        self.pin.returnPressed.connect(self._on_unlock_clicked)
        self.next_button.clicked.connect(self._on_unlock_clicked)
        self.back_button.clicked.connect(self.sign_out_clicked)
        QWidget.setTabOrder(self.pin, self.back_button)
        QWidget.setTabOrder(self.back_button, self.next_button)
        self.login = ""
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.heading.setText(_("The screen is locked"))
        self.intro.setText(_("It was locked because nobody used it for a while. {login}, please "
                             "enter your PIN to continue where you were.", login=self.login))
        self.pin_label.setText(_("PIN"))
        self.pin.setAccessibleName(_("PIN"))
        self.back_button.setText(_("Sign out"))
        self.next_button.setText(_("Unlock"))
        self.form.retranslate_ui()

    def lock(self, login: str) -> None:
        """Show the lock for `login`, with an empty PIN field."""
        self.login = login
        self.pin.setText("")
        self.show_message("")
        self.retranslate_ui()
        self.pin.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_message(self, text: str) -> None:
        """Say why unlocking did not work; the PIN field is emptied."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            self.pin.setText("")
            self.pin.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_unlock_clicked(self) -> None:
        self.unlock_requested.emit(self.pin.text())
