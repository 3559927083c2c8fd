"""The SQLite engine of the device store: WAL, synchronous=FULL, BEGIN IMMEDIATE units of work."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from desk.errors import StoreError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
READ_ONLY_OPTION = "madoguchi_read_only"

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a committed draft survives a power cut (NORMAL may lose the last commits in WAL mode).
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    # Freed pages are zeroed, so deleted ciphertext does not linger in the file.
    "PRAGMA secure_delete=ON",
)


def create_store_engine(path: Path) -> Engine:
    """Create the engine for a store file, with the pragmas every connection needs.

    Follows SQLAlchemy's recipe for pysqlite: the driver's own transaction handling is turned
    off and every transaction starts with BEGIN IMMEDIATE, so writers take the lock up front
    instead of failing half-way with SQLITE_BUSY.
    """
    # hide_parameters: SQLAlchemy's error texts and SQL logs would otherwise quote bound values.
    engine = create_engine(f"sqlite+pysqlite:///{path}", future=True, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (see `reader()`) begin deferred: in WAL mode they never wait for a writer.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def reader(engine: Engine) -> Engine:
    """The same engine for read-only units of work: they begin deferred, not IMMEDIATE."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def check_integrity(engine: Engine) -> None:
    """Run `PRAGMA quick_check`; a damaged file is kept and reported, never recreated.

    Raises:
        StoreError: with message id ``store.damaged`` when the check fails.
    """
    try:
        result = _outside_transaction(engine, "PRAGMA quick_check")
    except Exception as exc:
        raise StoreError("store.damaged") from exc
    if result != "ok":
        raise StoreError("store.damaged")


def checkpoint(engine: Engine) -> None:
    """Fold the WAL into the database file and truncate it (after shredding keys)."""
    _outside_transaction(engine, "PRAGMA wal_checkpoint(TRUNCATE)")


def _outside_transaction(engine: Engine, pragma: str) -> Any:
    """Run a pragma on a raw autocommit connection.

    Checkpoints cannot run inside a transaction, and SQLAlchemy would begin one (with our
    BEGIN IMMEDIATE) on the first statement of a pooled connection.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        row = cursor.execute(pragma).fetchone()
        cursor.close()
        return row[0] if row else None
    finally:
        raw.close()


@contextmanager
def write_unit(engine: Engine, message_id: str = "store.write_failed") -> Iterator[Session]:
    """One write transaction (BEGIN IMMEDIATE); disk full, I/O and lock errors become StoreError.

    The reason parameter is the driver's exception class only: SQLite messages can quote
    values, and those may be personal data.
    """
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except (DBAPIError, OSError) as exc:
        raise StoreError(message_id, reason=type(getattr(exc, "orig", exc)).__name__) from exc


def read_unit(engine: Engine, work: Callable[[Session], T]) -> T:
    """One read transaction on the deferred-begin engine (see `reader`)."""
    try:
        with Session(reader(engine), expire_on_commit=False) as session, session.begin():
            return work(session)
    except (DBAPIError, OSError) as exc:
        raise StoreError("store.read_failed",
                         reason=type(getattr(exc, "orig", exc)).__name__) from exc


def open_store_engine(path: Path) -> Engine:
    """Open a store file: pragmas, `quick_check`, then migrations to the current schema.

    Raises:
        StoreError: ``store.damaged`` (the file is kept as it is), ``store.newer_schema`` or
            ``store.migration_failed``.
    """
    from desk.store.schema import migrate

    engine = create_store_engine(path)
    try:
        check_integrity(engine)
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
