"""SQLAlchemy models of the device store; everything about a resident is inside ciphertext."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
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
    # Listing a desk's drafts (the home page, the counter's queue) without scanning every row.
    __table_args__ = (
        Index("ix_drafts_desk_status", "desk_id", "status", "updated_at"),
        # Every-desk listings and retention filter on status and a range of last activity.
        Index("ix_drafts_status_updated", "status", "updated_at"),
    )

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


class StoreMetaRow(Base):
    """Small facts about the store itself (key checks, rotation progress); never personal data."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    """One entry of the append-only audit chain: who did what to which id, never content.

    UPDATE and DELETE are refused by triggers (see the migrations); `entry_hash` chains each
    entry to the one before it, so edits, deletions, insertions and reordering show.
    """

    __tablename__ = "audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # account login, "kiosk" or "system"
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64), index=True)  # a draft or account id
    detail: Mapped[str] = mapped_column(String(400))  # canonical JSON of ids and codes
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AccountRow(Base):
    """A staff member's or volunteer's sign-in: login id, role and a hashed PIN or password."""

    __tablename__ = "accounts"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # volunteer / staff / supervisor
    secret_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    must_change: Mapped[bool] = mapped_column(Boolean, default=False)  # after a reset
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
