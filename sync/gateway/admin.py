"""Registering callers at the gateway: client credentials for a device or back-office system."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.enrolment import valid_tenant_code
from sync.gateway.auth import new_client_id, new_salt, new_secret, secret_digest
from sync.gateway.models import Device, make_engine
from sync.protocol import GATEWAY_CLIENT_MODES, DeviceCredentials

DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""Device ids as enrolment writes them (``kiosk-1a2b3c4d``), or an administrator's choice."""


class AdminError(Exception):
    """A registration cannot be made; ``reason`` is a stable id, the message a sentence."""

    def __init__(self, reason: str, message: str) -> None:
        """Name the reason (e.g. ``tenant_code``) and explain it for an administrator."""
        super().__init__(message)
        self.reason = reason


def _check(tenant_code: str, mode: str, device_id: str | None) -> None:
    if not valid_tenant_code(tenant_code):
        raise AdminError("tenant_code", "The tenant code must be a 6-digit local government "
                                        "code with a correct check digit, e.g. 131016.")
    if mode not in GATEWAY_CLIENT_MODES:
        raise AdminError("mode", "The mode must be one of: " + ", ".join(GATEWAY_CLIENT_MODES))
    if device_id is not None and not DEVICE_ID.fullmatch(device_id):
        raise AdminError("device_id", "The device id may use A-Z, a-z, 0-9, '.', '_' and '-' "
                                      "(at most 64, starting with a letter or digit).")


def register_device(
    engine: Engine,
    *,
    tenant_code: str,
    mode: str,
    device_id: str | None = None,
    privileged: bool = False,
    replace: bool = False,
) -> DeviceCredentials:
    """Register a caller on an open engine; see ``add_device``."""
    _check(tenant_code, mode, device_id)
    chosen = device_id or f"{mode}-{secrets.token_hex(4)}"
    secret = new_secret()
    salt = new_salt()
    with Session(engine) as session, session.begin():
        active = session.scalars(
            select(Device).where(
                Device.tenant_code == tenant_code,
                Device.device_id == chosen,
                Device.disabled.is_(False),
            )
        ).all()
        if active and not replace:
            raise AdminError("device_exists", "This device id is already registered for this "
                                              "tenant; use --replace to issue new credentials.")
        for old in active:
            old.disabled = True
        client_id = new_client_id()
        session.add(
            Device(
                client_id=client_id,
                secret_salt=salt,
                secret_sha256=secret_digest(salt, secret),
                tenant_code=tenant_code,
                device_id=chosen,
                mode=mode,
                privileged=privileged,
                disabled=False,
                created_at=datetime.now(UTC),
            )
        )
    return DeviceCredentials(
        client_id=client_id,
        client_secret=secret,
        device_id=chosen,
        tenant_code=tenant_code,
        mode=mode,  # type: ignore[arg-type]  # checked against GATEWAY_CLIENT_MODES above
    )


def add_device(
    db_url: str,
    *,
    tenant_code: str,
    mode: str,
    device_id: str | None = None,
    privileged: bool = False,
    replace: bool = False,
) -> DeviceCredentials:
    """Register a device (or the back office) and return its client credentials.

    The secret is returned once and stored only as a salted digest; print it to the
    administrator and forget it.

    Args:
        db_url: SQLAlchemy URL of the gateway database (created if missing).
        tenant_code: The municipality (6 digits with a valid check digit).
        mode: ``kiosk``, ``desk``, ``counter`` or ``backoffice``; decides the scopes.
        device_id: The id the device puts in ``metadata.deviceId``; generated when None.
        privileged: Allow privileged staff paths (counter devices of authorised staff).
        replace: Disable an active registration of the same device id and issue new
            credentials (e.g. after a lost secret) instead of refusing.

    Returns:
        The credentials (client id, secret, device id, tenant, mode).

    Raises:
        AdminError: Invalid tenant code, mode or device id, or the device id is registered.
    """
    engine = make_engine(db_url)
    try:
        return register_device(engine, tenant_code=tenant_code, mode=mode, device_id=device_id,
                               privileged=privileged, replace=replace)
    finally:
        engine.dispose()


def disable_device(db_url: str, *, tenant_code: str, device_id: str) -> int:
    """Disable every registration of a device; its tokens stop working at once.

    Args:
        db_url: SQLAlchemy URL of the gateway database.
        tenant_code: The device's municipality.
        device_id: The device id.

    Returns:
        How many active registrations were disabled (0 when none was found).
    """
    engine = make_engine(db_url)
    try:
        with Session(engine) as session, session.begin():
            rows = session.scalars(
                select(Device).where(
                    Device.tenant_code == tenant_code,
                    Device.device_id == device_id,
                    Device.disabled.is_(False),
                )
            ).all()
            for row in rows:
                row.disabled = True
            return len(rows)
    finally:
        engine.dispose()
