"""Simulated user input for screenshots and GUI tests: clicks, and typing as an IME delivers it.

Japanese is typed through an input method, which hands the widget a committed string; QTest's
key clicks only know ASCII keys. So ASCII goes key by key, everything else as an IME commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget


def click(widget: QWidget) -> None:
    """Click a widget with the left mouse button."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
    QApplication.processEvents()


def type_text(widget: QWidget, text: str) -> None:
    """Type `text` into a focused widget: ASCII key by key, other text as IME commits."""
    widget.setFocus()
    for char in text:
        if char.isascii():
            QTest.keyClicks(widget, char)
        else:
            event = QInputMethodEvent()
            event.setCommitString(char)
            QApplication.sendEvent(widget, event)
    QApplication.processEvents()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Process events until `condition()` holds (for work done off the GUI thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not change in time")
        QApplication.processEvents()
        time.sleep(0.02)
