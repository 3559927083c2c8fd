"""Inactivity detection: an application event filter that restarts a timer on every key or touch."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

# What counts as someone using the device. Mouse moves do not: a bumped mouse or a hand
# passing over a touch screen must not keep another resident's visit open.
ACTIVITY_EVENTS = frozenset({
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.TouchUpdate,
    QEvent.Type.TabletPress,
    QEvent.Type.InputMethod,  # text committed by an input method (Japanese typing)
})


class IdleWatcher(QObject):
    """Emits `idle_reached` once nobody touched the application for the armed time.

    While disarmed (a warning or lock page is up) activity is ignored: only that page's own
    button brings the visit back.

    Signals:
        idle_reached(): the armed time passed without activity.
    """

    idle_reached = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle_reached)
        self._filtering = False

    @property
    def armed(self) -> bool:
        """True while counting down to `idle_reached`."""
        return self._timer.isActive()

    def arm(self, msecs: int) -> None:
        """Start (or restart) counting; every activity from now on starts the count again."""
        self._timer.setInterval(max(1, msecs))
        self._timer.start()
        self._set_filtering(True)

    def disarm(self) -> None:
        """Stop counting and stop watching events."""
        self._timer.stop()
        self._set_filtering(False)

    def _set_filtering(self, on: bool) -> None:
        app = QCoreApplication.instance()
        if app is None or on == self._filtering:
            return
        if on:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)
        self._filtering = on

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Restart the count on activity; never consumes the event."""
        if self._timer.isActive() and event.type() in ACTIVITY_EVENTS:
            self._timer.start()
        return False
