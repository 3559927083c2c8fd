"""Fixtures for linkage tests: registered callers on the real gateway and fake applications."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.protocol import ApplicationPayload, DeviceCredentials

TENANT = "131016"
OTHER_TENANT = "011002"  # 札幌市 (check digit valid)
DEVICE_ID = "KIOSK-TEST"

Bearer = Callable[[DeviceCredentials], dict[str, str]]

_ids = itertools.count(1)


def _fake_application_id() -> str:
    """A valid, unique ULID-shaped id (digits only, so obviously not a real timestamp)."""
    return f"01J0{next(_ids):022d}"


def _fake_payload_json(application_id: str | None = None, **data: Any) -> dict[str, Any]:
    """The wire form of a fake 転入 application; ``data`` overrides procedure items."""
    items: dict[str, Any] = {
        "shimei": "窓口　太郎",
        "shimei_furigana": "マドグチ　タロウ",
        "seinengappi": "1990-04-01",
        "jusho_yubinbango": "1000014",
    }
    items.update(data)
    return {
        "metadata": {
            "applicationId": application_id or _fake_application_id(),
            "schemaVersion": "madoguchi-app/1",
            "dataListEdition": "2023-09",
            "shikuchosonkodo": TENANT,
            "deviceId": "KIOSK-TEST",
            "channel": "kiosk",
            "capturedAt": "2026-05-12T10:14:55+09:00",
        },
        "procedures": [{"procedureId": "juki-tennyu", "formVersion": "3", "data": items}],
    }


@pytest.fixture
def new_id() -> Callable[[], str]:
    """Make fresh application ids."""
    return _fake_application_id


@pytest.fixture
def make_payload_json() -> Callable[..., dict[str, Any]]:
    """Build fake applications in wire form: ``make_payload_json(application_id, shimei=...)``."""
    return _fake_payload_json


@pytest.fixture
def make_payload() -> Callable[..., ApplicationPayload]:
    """Build fake applications as models: ``make_payload(application_id, shimei=...)``."""

    def make(application_id: str | None = None, **data: Any) -> ApplicationPayload:
        return ApplicationPayload.model_validate(_fake_payload_json(application_id, **data))

    return make


@pytest.fixture
def kiosk_credentials(gateway: RunningGateway) -> DeviceCredentials:
    """A kiosk of tenant 131016 with device id KIOSK-TEST (the fake payloads' device)."""
    return add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk", device_id=DEVICE_ID)


@pytest.fixture
def counter_credentials(gateway: RunningGateway) -> DeviceCredentials:
    """A staff counter of tenant 131016 (COUNTER-TEST)."""
    return add_device(gateway.db_url, tenant_code=TENANT, mode="counter",
                      device_id="COUNTER-TEST")


@pytest.fixture
def backoffice_credentials(gateway: RunningGateway) -> DeviceCredentials:
    """申請管理 of tenant 131016 (BACKOFFICE-TEST): outbound feed and status reports."""
    return add_device(gateway.db_url, tenant_code=TENANT, mode="backoffice",
                      device_id="BACKOFFICE-TEST")


@pytest.fixture
def other_tenant_credentials(gateway: RunningGateway) -> DeviceCredentials:
    """A kiosk of another municipality (011002) that reuses the device id KIOSK-TEST."""
    return add_device(gateway.db_url, tenant_code=OTHER_TENANT, mode="kiosk",
                      device_id=DEVICE_ID)


def fetch_token(base_url: str, credentials: DeviceCredentials) -> str:
    """A fresh bearer token from the gateway's token endpoint (HTTP Basic client auth)."""
    response = httpx.post(
        f"{base_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
        timeout=10.0,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def bearer(gateway: RunningGateway) -> Bearer:
    """``bearer(credentials)`` → ``{"Authorization": "Bearer ..."}`` with a fresh token."""

    def headers(credentials: DeviceCredentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {fetch_token(gateway.url, credentials)}"}

    return headers
