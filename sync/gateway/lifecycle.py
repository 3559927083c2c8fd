"""The status lifecycle at the gateway: history, withdrawal, back-office reports and feeds."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.gateway.context import GatewayContext
from sync.gateway.models import ReceivedApplication, StatusEventRow
from sync.gateway.store import TOKYO, next_seq
from sync.protocol import (
    ALLOWED_TRANSITIONS,
    ApplicationStatus,
    ApplicationStatusCode,
    OutboundApplication,
    StatusEvent,
    StatusReport,
)

# Modes that see every application of their tenant; kiosks and desks see only their own.
TENANT_WIDE_MODES = frozenset({"counter", "backoffice"})


class Outcome(Enum):
    """What a status change did."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"  # an idempotent repeat: nothing new was written
    NOT_FOUND = "not_found"  # unknown, another tenant's, or not visible to this caller
    NOT_ALLOWED = "not_allowed"  # E1010: the lifecycle or a newer version forbids it


@dataclass(frozen=True)
class Change:
    """The result of a status change and the application's status afterwards."""

    outcome: Outcome
    status: ApplicationStatus | None = None


def _aware_tokyo(value: datetime) -> datetime:
    return value.astimezone(TOKYO)


def _histories(session: Session, rows: Sequence[ReceivedApplication]) -> dict[int, list[Any]]:
    by_application: dict[int, list[Any]] = defaultdict(list)
    if not rows:
        return by_application
    events = session.scalars(
        select(StatusEventRow)
        .where(StatusEventRow.application_pk.in_([row.id for row in rows]))
        .order_by(StatusEventRow.application_pk, StatusEventRow.version)
    )
    for event in events:
        by_application[event.application_pk].append(
            StatusEvent(
                status=event.status,
                version=event.version,
                at=_aware_tokyo(event.at),
                reason_code=event.reason_code,
            )
        )
    return by_application


def _status(row: ReceivedApplication, history: list[Any]) -> ApplicationStatus:
    return ApplicationStatus(
        application_id=row.application_id,
        uketsuke_bango=row.uketsuke_bango,
        received_at=_aware_tokyo(row.received_at),
        status=row.status,
        version=row.version,
        updated_at=_aware_tokyo(row.updated_at),
        seq=row.seq,
        history=history,
    )


def _statuses(session: Session, rows: Sequence[ReceivedApplication]) -> list[ApplicationStatus]:
    histories = _histories(session, rows)
    return [_status(row, histories[row.id]) for row in rows]


def _visible(query: Any, tenant_code: str, device_id: str | None) -> Any:
    query = query.where(ReceivedApplication.tenant_code == tenant_code)
    if device_id is not None:
        query = query.where(ReceivedApplication.device_id == device_id)
    return query


def get_status(
    context: GatewayContext, *, tenant_code: str, application_id: str, device_id: str | None
) -> ApplicationStatus | None:
    """One application's status and history.

    Args:
        context: The gateway context.
        tenant_code: The caller's tenant; other tenants' rows are never read.
        application_id: The application.
        device_id: Only this device's applications (kiosk/desk callers); None for tenant-wide.

    Returns:
        The status, or None when not found or not visible (the caller cannot tell which).
    """
    query = _visible(select(ReceivedApplication), tenant_code, device_id).where(
        ReceivedApplication.application_id == application_id
    )
    with Session(context.read_engine) as session, session.begin():
        row = session.scalars(query).one_or_none()
        return None if row is None else _statuses(session, [row])[0]


def _apply(
    session: Session,
    row: ReceivedApplication,
    target: ApplicationStatusCode,
    *,
    at: datetime,
    reason_code: str | None,
    actor: str,
) -> None:
    row.status = target.value
    row.version += 1
    row.updated_at = at
    # The feed position is taken last, after the application row lock (one lock order).
    row.seq = next_seq(session, row.tenant_code)
    session.add(
        StatusEventRow(
            application_pk=row.id,
            status=target.value,
            version=row.version,
            at=at,
            reason_code=reason_code,
            actor=actor,
        )
    )
    session.flush()


def _locked_row(
    session: Session, tenant_code: str, application_id: str, device_id: str | None
) -> ReceivedApplication | None:
    query = _visible(select(ReceivedApplication), tenant_code, device_id).where(
        ReceivedApplication.application_id == application_id
    )
    return session.scalars(query.with_for_update()).one_or_none()


def withdraw(
    context: GatewayContext,
    *,
    tenant_code: str,
    application_id: str,
    device_id: str | None,
    reason_code: str | None,
    actor: str,
) -> Change:
    """取下げ: move an application to WITHDRAWN, idempotently.

    Args:
        context: The gateway context.
        tenant_code: The caller's tenant.
        application_id: The application.
        device_id: Only if this device submitted it (kiosk/desk); None for a counter.
        reason_code: Optional code of the reason.
        actor: The calling device id, kept in the history.

    Returns:
        CHANGED with the new status; UNCHANGED when already withdrawn (no new version);
        NOT_ALLOWED once a decision was made; NOT_FOUND when not visible.
    """
    with Session(context.engine) as session, session.begin():
        row = _locked_row(session, tenant_code, application_id, device_id)
        if row is None:
            return Change(Outcome.NOT_FOUND)
        current = ApplicationStatusCode(row.status)
        if current is ApplicationStatusCode.WITHDRAWN:
            return Change(Outcome.UNCHANGED, _statuses(session, [row])[0])
        if ApplicationStatusCode.WITHDRAWN not in ALLOWED_TRANSITIONS[current]:
            return Change(Outcome.NOT_ALLOWED, _statuses(session, [row])[0])
        _apply(session, row, ApplicationStatusCode.WITHDRAWN, at=context.clock(),
               reason_code=reason_code, actor=actor)
        return Change(Outcome.CHANGED, _statuses(session, [row])[0])


def report_status(
    context: GatewayContext,
    *,
    tenant_code: str,
    application_id: str,
    report: StatusReport,
    actor: str,
) -> Change:
    """Apply a back-office status report (申請管理 moving an application on).

    ``report.version`` is the version the reporter saw. If the application has moved on
    since, the report is refused (``E1010``) unless it is the very report that moved it: the
    same status and reason at ``report.version + 1``, which answers UNCHANGED so a reporter
    can safely resend after a lost response.

    Args:
        context: The gateway context.
        tenant_code: The reporter's tenant.
        application_id: The application.
        report: Target status, seen version, optional reason code.
        actor: The reporting system's device id, kept in the history.

    Returns:
        CHANGED, UNCHANGED (a repeat), NOT_ALLOWED or NOT_FOUND, with the status when found.
    """
    with Session(context.engine) as session, session.begin():
        row = _locked_row(session, tenant_code, application_id, None)
        if row is None:
            return Change(Outcome.NOT_FOUND)
        if row.version != report.version:
            if row.status == report.status.value and row.version == report.version + 1:
                last = session.scalars(
                    select(StatusEventRow).where(
                        StatusEventRow.application_pk == row.id,
                        StatusEventRow.version == row.version,
                    )
                ).one()
                if last.reason_code == report.reason_code:
                    return Change(Outcome.UNCHANGED, _statuses(session, [row])[0])
            return Change(Outcome.NOT_ALLOWED, _statuses(session, [row])[0])
        if report.status not in ALLOWED_TRANSITIONS[ApplicationStatusCode(row.status)]:
            return Change(Outcome.NOT_ALLOWED, _statuses(session, [row])[0])
        _apply(session, row, report.status, at=context.clock(), reason_code=report.reason_code,
               actor=actor)
        return Change(Outcome.CHANGED, _statuses(session, [row])[0])


def status_feed(
    context: GatewayContext,
    *,
    tenant_code: str,
    device_id: str | None,
    cursor: int,
    limit: int,
    updated_since: datetime | None = None,
) -> list[ApplicationStatus]:
    """Applications changed after a feed position, oldest change first.

    Args:
        context: The gateway context.
        tenant_code: The caller's tenant.
        device_id: Only this device's applications; None for the whole tenant.
        cursor: The highest ``seq`` the caller has seen (0 for the start).
        limit: Page size.
        updated_since: Only changes at or after this time.

    Returns:
        Up to ``limit`` statuses with their history, by ``seq``.
    """
    query = _visible(select(ReceivedApplication), tenant_code, device_id).where(
        ReceivedApplication.seq > cursor
    )
    if updated_since is not None:
        query = query.where(ReceivedApplication.updated_at >= updated_since)
    query = query.order_by(ReceivedApplication.seq).limit(limit)
    with Session(context.read_engine) as session, session.begin():
        return _statuses(session, session.scalars(query).all())


def outbound(
    context: GatewayContext,
    *,
    tenant_code: str,
    status: ApplicationStatusCode | None,
    since: int,
    limit: int,
) -> list[OutboundApplication]:
    """Applications with their content for 申請管理, by feed position.

    Args:
        context: The gateway context.
        tenant_code: The back office's tenant.
        status: Only applications now in this status; None for every status.
        since: The highest ``seq`` already fetched (0 for the start).
        limit: Page size.

    Returns:
        Up to ``limit`` applications by ``seq``.
    """
    query = select(ReceivedApplication).where(
        ReceivedApplication.tenant_code == tenant_code, ReceivedApplication.seq > since
    )
    if status is not None:
        query = query.where(ReceivedApplication.status == status.value)
    query = query.order_by(ReceivedApplication.seq).limit(limit)
    with Session(context.read_engine) as session, session.begin():
        return [
            OutboundApplication(
                application_id=row.application_id,
                uketsuke_bango=row.uketsuke_bango,
                received_at=_aware_tokyo(row.received_at),
                status=row.status,
                version=row.version,
                seq=row.seq,
                device_id=row.device_id,
                payload=json.loads(row.payload_json),
            )
            for row in session.scalars(query)
        ]
