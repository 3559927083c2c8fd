"""The top bar on every page: progress, language, text size, and the session row below."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import LANGUAGES, _
from ui.theme import TEXT_SIZES
from ui.widgets.buttons import BigButton


class TopBar(QFrame):
    """Progress, language and text size on every page; below them, the session.

    The session row shows the visit's reference code (so a resident can always note it),
    「あとで続ける」, and who is signed in with a sign-out button.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "topbar")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 8, 24, 8)
        outer.setSpacing(4)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        self.progress = QLabel(self)
        self.progress.setProperty("font_bold", True)
        layout.addWidget(self.progress, 1)
        self.language_label = QLabel(self)
        self.language = QComboBox(self)
        for language in LANGUAGES:
            self.language.addItem(language.native_name, language.code)
        self.language_label.setBuddy(self.language)
        layout.addWidget(self.language_label)
        layout.addWidget(self.language)
        self.size_label = QLabel(self)
        layout.addWidget(self.size_label)
        self.size_group = QButtonGroup(self)
        self.size_buttons: dict[str, BigButton] = {}
        for key in TEXT_SIZES:
            button = BigButton("", self, checkable=True)
            self.size_group.addButton(button)
            self.size_buttons[key] = button
            layout.addWidget(button)
        self.size_buttons["standard"].setChecked(True)

        self.session_row = QFrame(self)
        self.session_row.setProperty("role", "topbar")  # the bar's background, not the page's
        session = QHBoxLayout(self.session_row)
        session.setContentsMargins(0, 0, 0, 0)
        self.code = QLabel(self.session_row)
        self.later_button = BigButton("", self.session_row)
        self.user = QLabel(self.session_row)
        self.sign_out_button = BigButton("", self.session_row)
        session.addWidget(self.code)
        session.addWidget(self.later_button)
        session.addStretch(1)
        session.addWidget(self.user)
        session.addWidget(self.sign_out_button)
        outer.addWidget(self.session_row)
        self._code = ""
        self._login = ""
        self.show_session(code=None, later=False, login=None)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        """Texts in the active language."""
        self.language_label.setText(_("Language"))
        self.language.setAccessibleName(_("Language"))
        self.size_label.setText(_("Text size"))
        names = {"standard": _("Standard"), "large": _("Large"), "extra_large": _("Extra large")}
        for key, button in self.size_buttons.items():
            button.setText(names[key])
            button.setAccessibleName(_("Text size: {size}", size=names[key]))
        self.code.setText(_("Reference code: {code}", code=self._code) if self._code else "")
        self.later_button.setText(_("Save and finish later"))
        self.user.setText(_("Signed in: {login}", login=self._login) if self._login else "")
        self.sign_out_button.setText(_("Sign out"))

    def show_session(self, *, code: str | None, later: bool, login: str | None) -> None:
        """Show the reference code, 「あとで続ける」 and the signed-in person where they apply."""
        self._code, self._login = code or "", login or ""
        self.code.setVisible(bool(code))
        self.later_button.setVisible(later)
        self.user.setVisible(bool(login))
        self.sign_out_button.setVisible(bool(login))
        self.session_row.setVisible(bool(code) or later or bool(login))
        self.retranslate_ui()
