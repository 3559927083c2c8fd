"""Fixtures for linkage tests: a real gateway on loopback and obviously fake applications."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from sync.protocol import ApplicationPayload

TENANT = "131016"

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
