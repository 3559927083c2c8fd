"""A layout that puts buttons in a row and wraps them onto more rows when the row is too narrow."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapping when the width runs out; every row fills the full width.

    Long translations at the largest text size wrap onto a second row instead of making the
    page wider than the screen; the buttons of a row share its spare width, so they stay big.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = 12) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Everything on one row."""
        visible = self._visible()
        margins = self.contentsMargins()
        width = sum(i.sizeHint().width() for i in visible) + self._gap * max(len(visible) - 1, 0)
        height = max((i.sizeHint().height() for i in visible), default=0)
        return QSize(width + margins.left() + margins.right(),
                     height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        """The widest item alone on a row (items never get narrower than their size hint)."""
        visible = self._visible()
        margins = self.contentsMargins()
        width = max((i.sizeHint().width() for i in visible), default=0)
        height = max((i.sizeHint().height() for i in visible), default=0)
        return QSize(width + margins.left() + margins.right(),
                     height + margins.top() + margins.bottom())

    def _visible(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        rows: list[list[QLayoutItem]] = []
        used = 0
        for item in self._visible():
            width = item.sizeHint().width()
            if rows and used + self._gap + width <= area.width():
                rows[-1].append(item)
                used += self._gap + width
            else:
                rows.append([item])
                used = width
        y = area.y()
        for row in rows:
            height = max(item.sizeHint().height() for item in row)
            if apply:
                natural = sum(item.sizeHint().width() for item in row)
                spare = max(area.width() - natural - self._gap * (len(row) - 1), 0)
                x = area.x()
                for index, item in enumerate(row):
                    # Spare width shared out; the last item takes the rounding remainder.
                    share = spare // len(row) + (spare % len(row) if index == len(row) - 1 else 0)
                    width = item.sizeHint().width() + share
                    item.setGeometry(QRect(QPoint(x, y), QSize(width, height)))
                    x += width + self._gap
            y += height + self._gap
        total = y - area.y() - (self._gap if rows else 0)
        return total + margins.top() + margins.bottom()
