"""Persistence of the reference gateway: idempotent receipt of applications, 受付番号 numbering."""

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

from sync.gateway.models import (
    READ_ONLY_OPTION,
    ReceiptCounter,
    ReceivedApplication,
    make_engine,
)
from sync.protocol import ApplicationPayload, Receipt, canonical_json, payload_digest

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
    uketsuke_bango: str
    received_at: datetime
    status: str
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


class GatewayStore:
    """All gateway state, in one database, so any number of workers can share it."""

    def __init__(self, db_url: str) -> None:
        """Open (and if needed create) the gateway database.

        Args:
            db_url: A SQLAlchemy URL, e.g. ``sqlite:///path/gateway.db``.
        """
        self._engine = make_engine(db_url)
        self._read_engine = self._engine.execution_options(**{READ_ONLY_OPTION: True})

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def receive(
        self, payload: ApplicationPayload, *, received_at: datetime, respond: ResponseBuilder
    ) -> Received:
        """Store a new application, or recognise a repeat of its idempotency key.

        Args:
            payload: The validated application.
            received_at: Server time of receipt (aware); its Tokyo date starts the 受付番号.
            respond: Builds the response for a new receipt; it is stored and replayed verbatim.

        Returns:
            CREATED with the new response; REPLAYED with the stored response when the key and
            body digest match an earlier submission; CONFLICT when the key was used with
            another body.

        Raises:
            IntegrityError: Only if concurrent writers kept colliding after several attempts.
        """
        tenant = payload.metadata.shikuchosonkodo
        application_id = payload.metadata.application_id
        digest = payload_digest(payload)
        day = received_at.astimezone(TOKYO).strftime("%Y%m%d")
        for attempt in range(_INSERT_ATTEMPTS):
            try:
                with Session(self._engine) as session, session.begin():
                    existing = session.scalars(
                        select(ReceivedApplication).where(
                            ReceivedApplication.tenant_code == tenant,
                            ReceivedApplication.application_id == application_id,
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
                        application_id=application_id,
                        uketsuke_bango=f"{day}-{counter.last_value:06d}",
                        received_at=received_at.astimezone(TOKYO),
                        status="RECEIVED",
                    )
                    status, body = respond(receipt)
                    wire = payload.model_dump(mode="json", by_alias=True)
                    session.add(
                        ReceivedApplication(
                            tenant_code=tenant,
                            application_id=application_id,
                            payload_sha256=digest,
                            payload_json=canonical_json(wire).decode("utf-8"),
                            uketsuke_bango=receipt.uketsuke_bango,
                            received_at=received_at,
                            status=receipt.status,
                            response_status=status,
                            response_json=body,
                        )
                    )
                return Received(ReceiveOutcome.CREATED, status, body)
            except IntegrityError:
                # Another worker committed the same key or a new counter row first (possible
                # on servers without SQLite's global write lock); look again.
                if attempt == _INSERT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def find(self, application_id: str) -> StoredApplication | None:
        """Return one application by id, or None.

        Args:
            application_id: The ULID of the application.

        Returns:
            The stored application; None if unknown. Until tokens bind callers to a tenant, a
            lookup by id spans tenants (ULIDs do not collide in practice).
        """
        with Session(self._read_engine) as session, session.begin():
            row = session.scalars(
                select(ReceivedApplication)
                .where(ReceivedApplication.application_id == application_id)
                .order_by(ReceivedApplication.id)
                .limit(1)
            ).one_or_none()
            return None if row is None else _to_stored(row)

    def applications(self) -> list[StoredApplication]:
        """Return every stored application, oldest first."""
        with Session(self._read_engine) as session, session.begin():
            rows = session.scalars(select(ReceivedApplication).order_by(ReceivedApplication.id))
            return [_to_stored(row) for row in rows]


def _to_stored(row: ReceivedApplication) -> StoredApplication:
    payload: dict[str, Any] = json.loads(row.payload_json)
    return StoredApplication(
        application_id=row.application_id,
        tenant_code=row.tenant_code,
        uketsuke_bango=row.uketsuke_bango,
        received_at=row.received_at,
        status=row.status,
        payload=payload,
    )
