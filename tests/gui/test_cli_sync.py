"""`madoguchi sync status|run` against the real gateway: JSON shape and exit codes."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desk.config import STORE_FILE, DeviceConfig
from desk.store.drafts import DraftStore
from desk.store.keys import PassphraseKeyStore
from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from tests.sync.conftest import _fake_payload_json
from ui.cli import main

PASSPHRASE = "madoguchi-test-passphrase"
TENANT = "131016"
DEVICE_ID = "KIOSK-TEST"  # the device of the fake payloads

Run = Callable[..., int]


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def run(profile: Path, tmp_path: Path) -> Run:
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE, encoding="utf-8")

    def run(*args: str) -> int:
        return main(["--data-dir", str(profile), *args, "--passphrase-file", str(secret)])

    return run


@pytest.fixture
def enrolled(profile: Path, tmp_path: Path, run: Run, gateway: RunningGateway) -> DeviceConfig:
    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk",
                             device_id=DEVICE_ID)
    source = tmp_path / "credentials.json"
    source.write_text(credentials.model_dump_json(), encoding="utf-8")
    assert run("enroll", "--key-store", "passphrase", "--mode", "kiosk", "--tenant", TENANT,
               "--gateway", gateway.url, "--credentials", str(source)) == 0
    return DeviceConfig.load(profile)


def _finalize(profile: Path, **metadata: Any) -> str:
    store = DraftStore(profile / STORE_FILE, PassphraseKeyStore(profile, PASSPHRASE))
    try:
        draft = store.create(["juki-tennyu"], mode="kiosk", desk_id="lobby", position="x")
        payload = _fake_payload_json(draft.id)
        payload["metadata"].update(metadata)
        store.finalize(draft.id, payload)
        return draft.id
    finally:
        store.close()


def _status(run: Run, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = run("sync", "status", "--json")
    return code, json.loads(capsys.readouterr().out)


def test_status_and_run_from_waiting_to_sent(
    profile: Path, run: Run, enrolled: DeviceConfig, gateway: RunningGateway,
    gateway_store: GatewayStore, capsys: pytest.CaptureFixture[str],
) -> None:
    code, data = _status(run, capsys)
    assert code == 0
    assert set(data) == {
        "device_id", "tenant_code", "mode", "gateway_url", "credentials", "pending",
        "in_flight", "done", "needs_attention", "attention_ids", "oldest_pending_at",
        "oldest_pending_age_s", "next_attempt_at", "last_receipt_at",
    }
    assert (data["credentials"], data["gateway_url"], data["pending"]) == (True, gateway.url, 0)

    first, second = _finalize(profile), _finalize(profile)
    code, data = _status(run, capsys)
    assert code == 3  # waiting to be sent
    assert (data["pending"], data["done"]) == (2, 0)
    assert data["oldest_pending_age_s"] >= 0 and data["next_attempt_at"] is not None

    assert run("sync", "run", "--once") == 0
    assert "sent 2" in capsys.readouterr().out
    assert {a.application_id for a in gateway_store.applications()} == {first, second}
    code, data = _status(run, capsys)
    assert code == 0
    assert (data["pending"], data["done"], data["needs_attention"]) == (0, 2, 0)
    assert data["last_receipt_at"] is not None and data["oldest_pending_at"] is None


def test_a_refused_application_needs_attention(
    profile: Path, run: Run, enrolled: DeviceConfig, capsys: pytest.CaptureFixture[str],
) -> None:
    refused = _finalize(profile, schemaVersion="madoguchi-app/999")
    _finalize(profile)
    assert run("sync", "run", "--once") == 1
    code, data = _status(run, capsys)
    assert code == 1
    assert data["attention_ids"] == [refused] and data["done"] == 1


def test_offline_exits_3_and_keeps_everything(
    profile: Path, run: Run, enrolled: DeviceConfig, capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    dataclasses.replace(enrolled, gateway_url=closed).save(profile)
    application = _finalize(profile)
    assert run("sync", "run", "--once") == 3
    assert "cannot be reached" in capsys.readouterr().err
    code, data = _status(run, capsys)
    assert (code, data["pending"]) == (3, 1)
    store = DraftStore(profile / STORE_FILE, PassphraseKeyStore(profile, PASSPHRASE))
    try:
        assert store.outbox_state(application)[0] == "pending"
    finally:
        store.close()


def test_not_registered_or_refused_exits_2(
    profile: Path, run: Run, gateway: RunningGateway, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("enroll", "--key-store", "passphrase", "--mode", "kiosk", "--tenant", TENANT,
               "--gateway", gateway.url) == 0
    _finalize(profile)
    code, data = _status(run, capsys)
    assert (code, data["credentials"], data["pending"]) == (2, False, 1)
    assert run("sync", "run", "--once") == 2
    assert "sending is off" in capsys.readouterr().err


def test_refused_credentials_exit_2(
    profile: Path, run: Run, enrolled: DeviceConfig, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The administrator issued new credentials for this device id: the old ones stop working.
    add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk", device_id=DEVICE_ID,
               replace=True)
    _finalize(profile)
    assert run("sync", "run", "--once") == 2
    assert "refused this device's credentials" in capsys.readouterr().err


def test_status_without_enrolment_says_so(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("sync", "status") == 2
    assert "not enrolled" in capsys.readouterr().err


def test_the_demo_registers_its_device_once_and_really_sends(
    tmp_path: Path, gateway: RunningGateway, gateway_store: GatewayStore,
) -> None:
    from desk.store.keys import DemoFileKeyStore
    from sync.worker import device_worker
    from ui.cli import _demo_registration

    profile = tmp_path / "demo"
    profile.mkdir()
    (profile / DemoFileKeyStore.MARKER).touch()
    keys = DemoFileKeyStore(profile)
    device = DeviceConfig(mode="counter", tenant_code=TENANT, device_id="DEMO-COUNTER-01",
                          desk_id="demo-counter", gateway_url=gateway.url, key_store="demo")
    first = _demo_registration(profile, keys, gateway.db_url, device)
    first.save(profile)
    again = _demo_registration(profile, keys, gateway.db_url, device)
    assert first.registered and again.client_id == first.client_id  # the sealed secret reused

    store = DraftStore(profile / STORE_FILE, keys)
    try:
        draft = store.create(["juki-tennyu"], mode="counter", desk_id="demo-counter",
                             position="x")
        payload = _fake_payload_json(draft.id)
        payload["metadata"].update(deviceId="DEMO-COUNTER-01", channel="counter")
        store.finalize(draft.id, payload)
    finally:
        store.close()
    worker = device_worker(profile, again, keys)
    try:
        report = worker.run_once()
    finally:
        worker.close()
    assert draft.id in report.delivery.received
    assert [a.application_id for a in gateway_store.applications()] == [draft.id]
