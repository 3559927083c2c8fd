"""The one bridge from background work to the GUI thread.

A task is a plain, Qt-free callable that runs on `QThreadPool`; it gets a `TaskContext` for
progress and cooperative cancel. Results and errors come back as signals delivered on the GUI
thread. Long-running Qt-free workers with their own thread (the sync worker) report through
callbacks; `CallbackBridge` turns those into calls on the GUI thread. Workers never touch
widgets and never share a database session with the GUI.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskContext:
    """Handed to a running task: report progress, check for cancel."""

    def __init__(self, progress: Callable[[int, int], None]) -> None:
        self._progress = progress
        self._cancelled = threading.Event()

    def report(self, done: int, total: int) -> None:
        """Report progress (delivered to the GUI thread)."""
        self._progress(done, total)

    def cancel(self) -> None:
        """Ask the task to stop at its next check."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """True once cancel was asked for."""
        return self._cancelled.is_set()


class _Signals(QObject):
    """Signals of one task; lives in the GUI thread so slots run there.

    Signals:
        finished(object): the task's return value.
        failed(object): the exception the task raised.
        progressed(int, int): done, total.
    """

    finished = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int)


class _Runnable(QRunnable):
    def __init__(self, work: Callable[[TaskContext], Any], signals: _Signals,
                 context: TaskContext) -> None:
        super().__init__()
        self._work = work
        self._signals = signals
        self._context = context

    def run(self) -> None:
        try:
            result = self._work(self._context)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI as a value
            # Type only: exception text may hold data the task was working on.
            log.warning("background task failed: %s", type(exc).__name__)
            self._signals.failed.emit(exc)
        else:
            self._signals.finished.emit(result)


class TaskRunner:
    """Runs tasks on a thread pool and delivers their outcome on the GUI thread."""

    def __init__(self, pool: QThreadPool | None = None) -> None:
        self._pool = pool or QThreadPool.globalInstance()
        self._live: set[_Signals] = set()

    def run(
        self,
        work: Callable[[TaskContext], Any],
        *,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> TaskContext:
        """Start `work(context)` in the background; returns the context to cancel it."""
        signals = _Signals()
        self._live.add(signals)  # keep the QObject alive until the task reports back

        def release(*_: object) -> None:
            self._live.discard(signals)

        signals.finished.connect(on_done)
        signals.failed.connect(on_error)
        signals.finished.connect(release)
        signals.failed.connect(release)
        if on_progress is not None:
            signals.progressed.connect(on_progress)
        context = TaskContext(signals.progressed.emit)
        self._pool.start(_Runnable(work, signals, context))
        return context

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for running tasks (shutdown and tests)."""
        return self._pool.waitForDone(msecs)


class _Forwarded(QObject):
    """Carries a callback and its argument from any thread to the GUI thread.

    Signals:
        called(object, object): the callback, and the value to call it with.
    """

    called = Signal(object, object)


class CallbackBridge:
    """Forwards callbacks made on another thread (a Qt-free worker's) to the GUI thread.

    Create it on the GUI thread; `forward(callback)` returns a function any thread may call:
    the call is queued and `callback(value)` runs on the GUI thread. After `close()` queued
    and later calls are dropped (the window is going away).
    """

    def __init__(self) -> None:
        self._signals = _Forwarded()
        self._signals.called.connect(self._deliver)
        self._closed = False

    def forward(self, callback: Callable[[T], None]) -> Callable[[T], None]:
        """A thread-safe stand-in for `callback` that runs it on the GUI thread."""

        def call(value: T) -> None:
            if not self._closed:
                self._signals.called.emit(callback, value)

        return call

    def _deliver(self, callback: Callable[[Any], None], value: object) -> None:
        if not self._closed:
            callback(value)

    def close(self) -> None:
        """Drop every call from now on."""
        self._closed = True
