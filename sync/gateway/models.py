"""Tables of the reference gateway and its engine (SQLite: WAL, FULL sync, BEGIN IMMEDIATE)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from sync.gateway.schema import ensure_schema

READ_ONLY_OPTION = "madoguchi_read_only"
"""Execution option: begin a deferred (shared) SQLite transaction instead of an IMMEDIATE one."""

_BUSY_TIMEOUT_MS = 10_000


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC and read back aware.

    SQLite has no time zone type and SQLAlchemy's DateTime returns naive values from it, which
    would silently drop the offset of a receipt's server time.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to naive UTC for storage; naive input is refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to the stored naive value."""
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of the gateway tables (other gateway modules subclass it too)."""


class ReceivedApplication(Base):
    """One accepted application, its current status and the exact response given at receipt."""

    __tablename__ = "received_applications"
    __table_args__ = (
        # The idempotency key is the application id, scoped to a tenant.
        UniqueConstraint("tenant_code", "application_id", name="uq_received_tenant_application"),
        # Backstop for the sequence: a numbering race fails the insert instead of duplicating.
        UniqueConstraint("tenant_code", "uketsuke_bango", name="uq_received_tenant_bango"),
        # Each change takes a new position in the tenant's feed; two rows never share one.
        UniqueConstraint("tenant_code", "seq", name="uq_received_tenant_seq"),
        Index("ix_received_device_feed", "tenant_code", "device_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_code: Mapped[str] = mapped_column(String(6))
    application_id: Mapped[str] = mapped_column(String(26))
    device_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    audit_head: Mapped[str | None] = mapped_column(String(128))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    payload_json: Mapped[str] = mapped_column(Text)
    uketsuke_bango: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    response_status: Mapped[int] = mapped_column(Integer)
    response_json: Mapped[str] = mapped_column(Text)


class StatusEventRow(Base):
    """One step of an application's history: the status it took, at which version, by whom."""

    __tablename__ = "application_status_events"
    __table_args__ = (
        UniqueConstraint("application_pk", "version", name="uq_status_event_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_pk: Mapped[int] = mapped_column(
        ForeignKey("received_applications.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason_code: Mapped[str | None] = mapped_column(String(32))
    # The device or system that made the change (a device id, never a person).
    actor: Mapped[str] = mapped_column(String(64))


class ReceiptCounter(Base):
    """The last 受付番号 sequence value issued per tenant and (Tokyo) day."""

    __tablename__ = "receipt_counters"

    tenant_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class FeedCounter(Base):
    """The last change-feed position issued per tenant.

    Allocated under a row lock in the transaction that makes the change, so positions are
    committed in the order they are issued and a reader's cursor never skips a later commit.
    """

    __tablename__ = "feed_counters"

    tenant_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class Device(Base):
    """A registered caller (kiosk, desk, counter or back office) and its client credentials."""

    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_tenant_device", "tenant_code", "device_id"),)

    client_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_salt: Mapped[str] = mapped_column(String(32))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    tenant_code: Mapped[str] = mapped_column(String(6))
    device_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    privileged: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AccessToken(Base):
    """An issued bearer token, by its SHA-256 only: a copy of this table grants nothing."""

    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_expires", "expires_at"),)

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("devices.client_id", ondelete="CASCADE"), index=True
    )
    tenant_code: Mapped[str] = mapped_column(String(6))
    device_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take BEGIN away from pysqlite (it would defer it past SELECTs) so the "begin" hook below
    # controls it; this is SQLAlchemy's documented recipe for the sqlite3 driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers continue during a write; FULL makes an acknowledged receipt survive
        # power loss; busy_timeout turns lock contention between workers into waiting.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: two workers can never both read the same counter
    # value and then race to write it. Read-only work uses a plain deferred BEGIN.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(db_url: str) -> Engine:
    """Create the gateway's engine and bring the database to the current schema (migrations).

    Args:
        db_url: A SQLAlchemy URL; for SQLite use a file (``sqlite:///path/gateway.db``) so that
            several workers and processes share the same state.

    Returns:
        The engine; SQLite connections get WAL, ``synchronous=FULL``, a busy timeout and
        ``BEGIN IMMEDIATE`` transactions.

    Raises:
        GatewaySchemaError: The database is from a newer release, or its upgrade failed.
    """
    # hide_parameters: error texts and SQL logs must not quote residents' data.
    engine = create_engine(db_url, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    ensure_schema(engine)
    return engine
