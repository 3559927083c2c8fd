"""Large touch buttons (≥ 64 px) used on every screen."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from ui.theme import TOUCH_TARGET_PX


class BigButton(QPushButton):
    """A push button at least one touch target tall, optionally styled as the primary action."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 primary: bool = False, checkable: bool = False) -> None:
        super().__init__(text, parent)
        self.setMinimumHeight(TOUCH_TARGET_PX)
        self.setProperty("primary", primary)
        self.setCheckable(checkable)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
