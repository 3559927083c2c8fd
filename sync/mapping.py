"""Answers of a visit → the linkage payload (the standard envelope's submission body)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from desk.config import DeviceConfig
from desk.store.drafts import DraftStore
from sync.protocol import ApplicationMetadata, ApplicationPayload, Consent, ProcedureData


def build_payload(
    *,
    application_id: str,
    procedures: Sequence[tuple[str, str, dict[str, Any]]],
    device: DeviceConfig,
    captured_at: dt.datetime,
    consent_purpose: str,
    operator_id: str | None = None,
    audit_head: str | None = None,
) -> ApplicationPayload:
    """Wrap the linkage data of a visit's procedures in the submission envelope.

    Args:
        application_id: The draft's ULID, fixed at creation; also the idempotency key.
        procedures: Per procedure of the visit: catalog id, form version, and linkage data
            keyed by 基本データリスト item ids (from the interview).
        device: This device's configuration (tenant, device id, channel).
        captured_at: When the resident confirmed the declaration (aware).
        consent_purpose: The declaration the resident agreed to, in Japanese.
        operator_id: The signed-in staff member (sosashaid), None at a kiosk.
        audit_head: Hex hash of the device audit chain head when the application was frozen
            (`audit_head_of`), so the gateway holds an anchor of the device's chain.
    """
    return ApplicationPayload(
        metadata=ApplicationMetadata(
            application_id=application_id,
            shikuchosonkodo=device.tenant_code,
            device_id=device.device_id,
            channel=device.mode,
            sosashaid=operator_id,
            captured_at=captured_at,
            audit_head=audit_head,
        ),
        procedures=[
            ProcedureData(procedure_id=procedure_id, form_version=form_version, data=data)
            for procedure_id, form_version, data in procedures
        ],
        consent=Consent(purpose=consent_purpose, agreed_at=captured_at),
    )


def audit_head_of(store: DraftStore) -> str | None:
    """The device audit chain head to put in a payload (None while the chain is empty)."""
    head = store.audit_log().head()
    return head.entry_hash if head.seq > 0 else None


def payload_to_json(payload: ApplicationPayload) -> dict[str, Any]:
    """The payload as JSON-ready data with wire names, as the store seals it."""
    return payload.model_dump(mode="json", by_alias=True)
