"""Persistence of received applications: idempotent receipt, 受付番号 and feed positions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.gateway.context import GatewayContext, open_context
from sync.gateway.models import FeedCounter, ReceiptCounter, ReceivedApplication, StatusEventRow
from sync.protocol import (
    ApplicationPayload,
    ApplicationStatusCode,
    Receipt,
    canonical_json,
    payload_digest,
)

# Japan has had no daylight saving time since 1951; a fixed offset avoids needing tzdata,
# which Windows installations of Python do not ship.
TOKYO = timezone(timedelta(hours=9), "JST")

# Enough for a few workers colliding on a brand-new counter row or the same key; each retry
# sees the other worker's committed row.
_INSERT_ATTEMPTS = 5


@dataclass(frozen=True)
class StoredApplication:
    """An application as the gateway holds it."""

    application_id: str
    tenant_code: str
    device_id: str
    channel: str
    audit_head: str | None
    uketsuke_bango: str
    received_at: datetime
    status: str
    version: int
    seq: int
    updated_at: datetime
    payload: dict[str, Any]


class ReceiveOutcome(Enum):
    """What happened to a submission."""

    CREATED = "created"
    REPLAYED = "replayed"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Received:
    """The outcome of a submission and the response to send (empty for a conflict)."""

    outcome: ReceiveOutcome
    response_status: int = 0
    response_json: str = ""


ResponseBuilder = Callable[[Receipt], tuple[int, str]]
"""Turns a new receipt into (HTTP status, JSON body); the result is stored for replays."""


def next_seq(session: Session, tenant_code: str) -> int:
    """Take the tenant's next change-feed position inside the caller's write transaction.

    The counter row stays locked until the transaction ends (``FOR UPDATE``; on SQLite the
    ``BEGIN IMMEDIATE`` write lock), so positions become visible in the order they were
    issued: a reader that has seen position n will never later find a new n - 1.

    Args:
        session: A session inside a write transaction; take this lock last.
        tenant_code: The tenant whose feed advances.

    Returns:
        The new position (1 for the tenant's first change).
    """
    counter = session.get(FeedCounter, tenant_code, with_for_update=True)
    if counter is None:
        # A concurrent first insert fails on the primary key and the caller retries.
        counter = FeedCounter(tenant_code=tenant_code, last_seq=0)
        session.add(counter)
    counter.last_seq += 1
    session.flush()
    return counter.last_seq


class GatewayStore:
    """Received applications in the gateway database, shared by every worker."""

    def __init__(self, source: str | GatewayContext) -> None:
        """Open the gateway database.

        Args:
            source: A SQLAlchemy URL (the store opens and later closes its own engine), or a
                running gateway's context (shared; ``close()`` leaves it open).
        """
        self._owned = isinstance(source, str)
        self.context = open_context(source) if isinstance(source, str) else source

    def close(self) -> None:
        """Close every pooled connection, if this store opened them."""
        if self._owned:
            self.context.close()

    def receive(
        self,
        payload: ApplicationPayload,
        *,
        received_at: datetime,
        respond: ResponseBuilder,
        actor: str | None = None,
    ) -> Received:
        """Store a new application, or recognise a repeat of its idempotency key.

        Args:
            payload: The validated application (tenant and device already checked).
            received_at: Server time of receipt (aware); its Tokyo date starts the 受付番号.
            respond: Builds the response for a new receipt; it is stored and replayed verbatim.
            actor: Who recorded the first status event (default: the submitting device).

        Returns:
            CREATED with the new response; REPLAYED with the stored response when the key and
            body digest match an earlier submission; CONFLICT when the key was used with
            another body.

        Raises:
            IntegrityError: Only if concurrent writers kept colliding after several attempts.
        """
        metadata = payload.metadata
        tenant = metadata.shikuchosonkodo
        digest = payload_digest(payload)
        day = received_at.astimezone(TOKYO).strftime("%Y%m%d")
        for attempt in range(_INSERT_ATTEMPTS):
            try:
                with Session(self.context.engine) as session, session.begin():
                    existing = session.scalars(
                        select(ReceivedApplication).where(
                            ReceivedApplication.tenant_code == tenant,
                            ReceivedApplication.application_id == metadata.application_id,
                        )
                    ).one_or_none()
                    if existing is not None:
                        if existing.payload_sha256 != digest:
                            return Received(ReceiveOutcome.CONFLICT)
                        return Received(
                            ReceiveOutcome.REPLAYED,
                            existing.response_status,
                            existing.response_json,
                        )
                    # On SQLite the IMMEDIATE transaction already serialises this; FOR UPDATE
                    # does the same on servers that support row locks.
                    counter = session.get(ReceiptCounter, (tenant, day), with_for_update=True)
                    if counter is None:
                        counter = ReceiptCounter(tenant_code=tenant, day=day, last_value=0)
                        session.add(counter)
                    counter.last_value += 1
                    receipt = Receipt(
                        application_id=metadata.application_id,
                        uketsuke_bango=f"{day}-{counter.last_value:06d}",
                        received_at=received_at.astimezone(TOKYO),
                        status=ApplicationStatusCode.RECEIVED.value,
                    )
                    status, body = respond(receipt)
                    wire = payload.model_dump(mode="json", by_alias=True)
                    row = ReceivedApplication(
                        tenant_code=tenant,
                        application_id=metadata.application_id,
                        device_id=metadata.device_id,
                        channel=metadata.channel,
                        audit_head=metadata.audit_head,
                        payload_sha256=digest,
                        payload_json=canonical_json(wire).decode("utf-8"),
                        uketsuke_bango=receipt.uketsuke_bango,
                        received_at=received_at,
                        status=receipt.status,
                        version=1,
                        seq=next_seq(session, tenant),
                        updated_at=received_at,
                        response_status=status,
                        response_json=body,
                    )
                    session.add(row)
                    session.flush()
                    session.add(
                        StatusEventRow(
                            application_pk=row.id,
                            status=receipt.status,
                            version=1,
                            at=received_at,
                            reason_code=None,
                            actor=actor or metadata.device_id,
                        )
                    )
                return Received(ReceiveOutcome.CREATED, status, body)
            except IntegrityError:
                # Another worker committed the same key or a new counter row first (possible
                # on servers without SQLite's global write lock); look again.
                if attempt == _INSERT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def find(self, application_id: str, tenant_code: str) -> StoredApplication | None:
        """Return one application of a tenant by id, or None.

        Args:
            application_id: The ULID of the application.
            tenant_code: The tenant it must belong to; another tenant's row is never returned.

        Returns:
            The stored application; None if this tenant has no such application.
        """
        with Session(self.context.read_engine) as session, session.begin():
            row = session.scalars(
                select(ReceivedApplication).where(
                    ReceivedApplication.tenant_code == tenant_code,
                    ReceivedApplication.application_id == application_id,
                )
            ).one_or_none()
            return None if row is None else to_stored(row)

    def applications(self, tenant_code: str | None = None) -> list[StoredApplication]:
        """Return stored applications, oldest first (all tenants when None; for tests/admin)."""
        query = select(ReceivedApplication).order_by(ReceivedApplication.id)
        if tenant_code is not None:
            query = query.where(ReceivedApplication.tenant_code == tenant_code)
        with Session(self.context.read_engine) as session, session.begin():
            return [to_stored(row) for row in session.scalars(query)]


def to_stored(row: ReceivedApplication) -> StoredApplication:
    """The plain view of a row (payload parsed)."""
    payload: dict[str, Any] = json.loads(row.payload_json)
    return StoredApplication(
        application_id=row.application_id,
        tenant_code=row.tenant_code,
        device_id=row.device_id,
        channel=row.channel,
        audit_head=row.audit_head,
        uketsuke_bango=row.uketsuke_bango,
        received_at=row.received_at,
        status=row.status,
        version=row.version,
        seq=row.seq,
        updated_at=row.updated_at,
        payload=payload,
    )
