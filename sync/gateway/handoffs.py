"""Handoffs at the gateway: kiosk/desk pre-fills held by 整理番号 until a counter picks them up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    Engine,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from desk.ids import normalize_reference_code
from sync.gateway.models import Base, UtcDateTime
from sync.gateway.store import TOKYO
from sync.protocol import Handoff, HandoffReceipt, HandoffRequest, canonical_json

if TYPE_CHECKING:
    from sync.gateway.context import GatewayContext

# A brand-new code pushed by two devices at once on a server without SQLite's global write
# lock: the loser's insert fails on the unique constraint, and the retry sees the winner's row.
_INSERT_ATTEMPTS = 3


class HandoffRow(Base):
    """One pending pre-fill: the answers of a kiosk or desk draft, by tenant and 整理番号."""

    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("tenant_code", "reference_code", name="uq_handoffs_tenant_code"),
        Index("ix_handoffs_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_code: Mapped[str] = mapped_column(String(6))
    reference_code: Mapped[str] = mapped_column(String(9))  # stored form: XXXX-XXXX
    device_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    draft_id: Mapped[str] = mapped_column(String(26))
    procedure_ids_json: Mapped[str] = mapped_column(Text)
    answers_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HandoffPickup(Base):
    """Audit of each pick-up: who fetched which 整理番号 when. Ids and times only, no answers."""

    __tablename__ = "handoff_pickups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_code: Mapped[str] = mapped_column(String(6))
    reference_code: Mapped[str] = mapped_column(String(9))
    draft_id: Mapped[str] = mapped_column(String(26))
    pushed_by: Mapped[str] = mapped_column(String(64))
    picked_up_by: Mapped[str] = mapped_column(String(64))
    picked_up_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PushOutcome(Enum):
    """What a push did."""

    CREATED = "created"
    REPLACED = "replaced"  # the same device pushed the same code again, with more answers
    CONFLICT = "conflict"  # the code belongs to another device's (or another draft's) handoff
    BAD_CODE = "bad_code"  # not a 整理番号 this system issues


@dataclass(frozen=True)
class PushResult:
    """The outcome of a push and, unless refused, the receipt to answer with."""

    outcome: PushOutcome
    receipt: HandoffReceipt | None = None


def _to_handoff(row: HandoffRow) -> Handoff:
    return Handoff(
        reference_code=row.reference_code,
        draft_id=row.draft_id,
        device_id=row.device_id,
        channel=row.channel,
        procedure_ids=json.loads(row.procedure_ids_json),
        answers=json.loads(row.answers_json),
        created_at=row.created_at.astimezone(TOKYO),
        expires_at=row.expires_at.astimezone(TOKYO),
    )


def push_handoff(
    engine: Engine,
    request: HandoffRequest,
    *,
    tenant_code: str,
    device_id: str,
    channel: str,
    now: datetime,
    ttl_s: int,
) -> PushResult:
    """Store a draft's answers under its 整理番号, or replace them on a repeat push.

    Args:
        engine: The gateway's (writing) engine.
        request: The validated push.
        tenant_code: The caller's tenant; the code is unique within it.
        device_id: The pushing device; only it may push the same code again.
        channel: The caller's mode (kiosk, desk, counter).
        now: Server time (aware).
        ttl_s: Lifetime of the handoff from this push, in seconds.

    Returns:
        CREATED or REPLACED with the receipt (the expiry restarts with each push), CONFLICT when
        an unexpired handoff with this code belongs to another device or draft, BAD_CODE when the
        code is not one this system issues.
    """
    code = normalize_reference_code(request.reference_code)
    if code is None:
        return PushResult(PushOutcome.BAD_CODE)
    expires_at = now + timedelta(seconds=ttl_s)
    procedures = canonical_json(list(request.procedure_ids)).decode("utf-8")
    answers = canonical_json(request.answers).decode("utf-8")
    receipt = HandoffReceipt(reference_code=code, expires_at=expires_at.astimezone(TOKYO))
    for attempt in range(_INSERT_ATTEMPTS):
        try:
            with Session(engine) as session, session.begin():
                _purge(session, now)  # an expired handoff frees its code for anyone
                row = session.scalars(
                    select(HandoffRow).where(
                        HandoffRow.tenant_code == tenant_code, HandoffRow.reference_code == code
                    )
                ).one_or_none()
                if row is not None:
                    if row.device_id != device_id or row.draft_id != request.draft_id:
                        return PushResult(PushOutcome.CONFLICT)
                    row.channel = channel
                    row.procedure_ids_json = procedures
                    row.answers_json = answers
                    row.updated_at = now
                    row.expires_at = expires_at
                    return PushResult(PushOutcome.REPLACED, receipt)
                session.add(
                    HandoffRow(
                        tenant_code=tenant_code,
                        reference_code=code,
                        device_id=device_id,
                        channel=channel,
                        draft_id=request.draft_id,
                        procedure_ids_json=procedures,
                        answers_json=answers,
                        created_at=now,
                        updated_at=now,
                        expires_at=expires_at,
                    )
                )
            return PushResult(PushOutcome.CREATED, receipt)
        except IntegrityError:
            if attempt == _INSERT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def pick_up_handoff(
    engine: Engine, code: str, *, tenant_code: str, picked_up_by: str, now: datetime
) -> Handoff | None:
    """Return the pre-fill for a 整理番号 and record the pick-up.

    The handoff stays until it expires: a counter whose connection dropped can fetch it again.

    Args:
        engine: The gateway's (writing) engine: the pick-up is recorded in the same transaction.
        code: The code as typed: any case, with or without the hyphen.
        tenant_code: The caller's tenant; another tenant's handoff is not found.
        picked_up_by: The counter device fetching it.
        now: Server time (aware).

    Returns:
        The handoff (times in JST), or None when the code is malformed, unknown,
        expired or another tenant's; the caller answers all of these alike.
    """
    normalized = normalize_reference_code(code)
    if normalized is None:
        return None
    with Session(engine) as session, session.begin():
        row = session.scalars(
            select(HandoffRow).where(
                HandoffRow.tenant_code == tenant_code,
                HandoffRow.reference_code == normalized,
                HandoffRow.expires_at > now,
            )
        ).one_or_none()
        if row is None:
            return None
        session.add(
            HandoffPickup(
                tenant_code=tenant_code,
                reference_code=row.reference_code,
                draft_id=row.draft_id,
                pushed_by=row.device_id,
                picked_up_by=picked_up_by,
                picked_up_at=now,
            )
        )
        return _to_handoff(row)


def _purge(session: Session, now: datetime) -> int:
    result = session.execute(delete(HandoffRow).where(HandoffRow.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_at(engine: Engine, now: datetime) -> int:
    """Delete every expired handoff (answers included); pick-up audit rows stay.

    Args:
        engine: The gateway's (writing) engine.
        now: Server time (aware).

    Returns:
        How many handoffs were deleted.
    """
    with Session(engine) as session, session.begin():
        return _purge(session, now)


def purge_expired(context: GatewayContext) -> int:
    """Delete every expired handoff, at the context's server time.

    Args:
        context: The gateway context (engine and clock).

    Returns:
        How many handoffs were deleted.
    """
    return purge_expired_at(context.engine, context.clock())
