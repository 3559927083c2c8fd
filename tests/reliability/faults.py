"""Write faults for the store: a full database (SQLITE_FULL) and a file size limit (EFBIG)."""

from __future__ import annotations

import resource
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def database_full(engine: Engine) -> Iterator[int]:
    """Every new connection of `engine` may not grow the database beyond its current pages.

    `PRAGMA max_page_count` is per connection, so it is set in a connect listener and the
    pool is emptied. A write that needs a new page then fails with SQLITE_FULL, as on a full
    disk; a write that fits in the existing pages still succeeds. Yields the page limit.
    """
    raw = engine.raw_connection()
    try:
        (pages,) = raw.cursor().execute("PRAGMA page_count").fetchone()
    finally:
        raw.close()

    def limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={int(pages)}")

    event.listen(engine, "connect", limit)
    engine.dispose()
    try:
        yield int(pages)
    finally:
        event.remove(engine, "connect", limit)
        engine.dispose()


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """This process may not write regular files beyond `limit` bytes (RLIMIT_FSIZE).

    A write past the limit fails with EFBIG, as a write to a full disk fails with ENOSPC;
    SIGXFSZ, which would kill the process, is ignored meanwhile. Only the soft limit changes,
    so it can be lifted again. Keep the block short: it applies to every file of the process.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


@contextmanager
def wal_cannot_grow(db: Path) -> Iterator[None]:
    """The store's next commit fails with an I/O error: its WAL cannot grow (EFBIG).

    A commit appends frames at the end of the WAL unless a checkpoint has copied every frame
    back since the last write (then the WAL starts over from its beginning, inside the file,
    and no size limit bites). So checkpoint with TRUNCATE, then commit once, before this.
    `PRAGMA max_page_count` cannot stand in here: a small autosave that fits in the pages the
    database already has would still succeed.
    """
    size = db.with_name(f"{db.name}-wal").stat().st_size
    assert size > 0, "commit once after the checkpoint: the limit would be 0 bytes"
    with file_size_limit(size):
        yield


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read on a connection of its own (sees committed data only)."""
    connection = sqlite3.connect(db)
    try:
        tables = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )]
        return {t: sorted(connection.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        connection.close()
