"""Large touch buttons (≥ 64 px) used on every screen."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from ui.theme import TOUCH_TARGET_PX

# Marks in front of a toggle's label, so its state never shows by color alone (ux.md).
# All four are in JIS X 0208 and in the bundled BIZ UDPGothic.
_RADIO_MARKS = ("○", "●")
_CHECK_MARKS = ("☐", "☑")


class BigButton(QPushButton):
    """A push button at least one touch target tall, optionally styled as the primary action."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 primary: bool = False, checkable: bool = False) -> None:
        super().__init__(text, parent)
        self.setMinimumHeight(TOUCH_TARGET_PX)
        self.setProperty("primary", primary)
        self.setCheckable(checkable)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)


class ToggleButton(BigButton):
    """A checkable big button whose text starts with a mark for its state (○/● or ☐/☑).

    `exclusive` buttons (one of several, like はい／いいえ) get round marks, the others boxes.
    The accessible name is the label alone: screen readers announce the checked state.
    """

    def __init__(self, parent: QWidget | None = None, *, exclusive: bool = False) -> None:
        super().__init__("", parent, checkable=True)
        self._label = ""
        self._marks = _RADIO_MARKS if exclusive else _CHECK_MARKS
        self.toggled.connect(self._on_self_toggled)

    def set_label(self, text: str) -> None:
        """Set the label (in the active language) shown after the mark."""
        self._label = text
        self.setAccessibleName(text)
        self._show_state()

    def label(self) -> str:
        """The label without the mark."""
        return self._label

    def _on_self_toggled(self, _checked: bool) -> None:
        self._show_state()

    def _show_state(self) -> None:
        self.setText(f"{self._marks[self.isChecked()]} {self._label}")
