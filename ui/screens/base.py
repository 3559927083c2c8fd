"""Common parts of every page: a heading, a body, and a bottom bar with back and next."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.theme import HEADING_FACTOR
from ui.widgets.buttons import BigButton


def heading_label(parent: QWidget) -> QLabel:
    """A large bold label for questions and page titles."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setProperty("font_factor", HEADING_FACTOR)
    label.setProperty("font_bold", True)
    return label


def body_label(parent: QWidget, role: str = "") -> QLabel:
    """A wrapped label of body text; `role` selects a style (help, error)."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    if role:
        label.setProperty("role", role)
    return label


class Page(QWidget):
    """A page with heading, content area and a bottom bar (back on the left, next on the right)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(48, 24, 48, 24)
        self.outer.setSpacing(16)
        self.heading = heading_label(self)
        self.outer.addWidget(self.heading)
        self.content = QVBoxLayout()
        self.content.setSpacing(16)
        self.outer.addLayout(self.content, 1)
        bar = QHBoxLayout()
        self.back_button = BigButton("", self)
        self.next_button = BigButton("", self, primary=True)
        self.back_button.setMinimumWidth(200)
        self.next_button.setMinimumWidth(240)
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.next_button)
        self.outer.addLayout(bar)

    def retranslate_ui(self) -> None:
        """Set texts in the active language (pages override and call this)."""
