"""Wiping what a resident typed out of widgets and the clipboard (auto-lock, end of a visit)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtGui import QClipboard, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)


def scrub(root: QWidget) -> None:
    """Empty every text a widget tree shows or holds, including undo history and item models.

    Used on views that are about to be deleted: `deleteLater` only deletes on a later turn
    of the event loop, and until then the widgets would still hold the answers.
    `setText("")` rather than `clear()`: only setting the text also drops the undo history
    (`clear()` is undoable). Signals are blocked: the view's own handlers must not react
    to being emptied.
    """
    for widget in [root, *root.findChildren(QWidget)]:
        widget.blockSignals(True)
        if isinstance(widget, QLineEdit):
            widget.setText("")
            widget.setPlaceholderText("")
        elif isinstance(widget, QTextEdit | QPlainTextEdit):
            widget.setPlainText("")
        elif isinstance(widget, QLabel):
            widget.clear()
        elif isinstance(widget, QAbstractButton):
            widget.setText("")
        elif isinstance(widget, QComboBox | QAbstractSpinBox):
            widget.clear()
        elif isinstance(widget, QAbstractItemView):
            _clear_model(widget.model())
        widget.setToolTip("")
        widget.setAccessibleName("")
        widget.setAccessibleDescription("")
    for model in root.findChildren(QAbstractItemModel):
        _clear_model(model)


def _clear_model(model: QAbstractItemModel | None) -> None:
    if isinstance(model, QStandardItemModel):
        model.clear()
    elif model is not None and model.rowCount() and hasattr(model, "setStringList"):
        model.setStringList([])


def discard_widget(widget: QWidget) -> None:
    """Scrub a widget, take it off screen and delete it on the next turn of the event loop."""
    scrub(widget)
    widget.hide()
    widget.deleteLater()


def clear_clipboard() -> None:
    """Empty the clipboard (and the X11 selection and find buffers where they exist)."""
    clipboard = QApplication.clipboard()
    modes = [QClipboard.Mode.Clipboard]
    if clipboard.supportsSelection():
        modes.append(QClipboard.Mode.Selection)
    if clipboard.supportsFindBuffer():
        modes.append(QClipboard.Mode.FindBuffer)
    for mode in modes:
        clipboard.clear(mode)
