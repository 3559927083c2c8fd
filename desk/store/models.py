"""SQLAlchemy models of the device store; everything about a resident is inside ciphertext."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes (SQLite has no timezone type; store UTC, read back aware)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of the device store."""


class DraftRow(Base):
    """One application from first answer to receipt. Clear columns are metadata only."""

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)  # ULID = idempotency key
    # The visit's procedures, space-separated ids (they change while a life event's questions
    # are answered), and the life event it started from, if any.
    procedure_ids: Mapped[str] = mapped_column(String(1024))
    life_event_id: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    desk_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reference_code: Mapped[str] = mapped_column(String(16), unique=True)
    position: Mapped[str] = mapped_column(String(200))  # screen key: where to resume
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    record_version: Mapped[int] = mapped_column(Integer, default=0)
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once shredded
    answers: Mapped[bytes | None] = mapped_column(LargeBinary)
    uketsuke_bango: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # server time


class OutboxRow(Base):
    """A finalized application waiting for, or done with, delivery to the gateway."""

    __tablename__ = "outbox"

    application_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("drafts.id"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending/in_flight/done/attention
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed; purged after receipt
    payload_sha256: Mapped[str] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(200))  # error codes only, no content
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
