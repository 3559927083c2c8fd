"""`madoguchi enroll --credentials` registers the device at the real gateway, or does nothing."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from desk.config import STORE_FILE, DeviceConfig
from desk.store.drafts import DraftStore
from desk.store.keys import PassphraseKeyStore
from desk.store.secrets import GATEWAY_CLIENT_SECRET, load_secret
from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.protocol import DeviceCredentials
from ui.cli import main

PASSPHRASE = "madoguchi-test-passphrase"
TENANT = "131016"


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def passphrase_file(tmp_path: Path) -> str:
    path = tmp_path / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return str(path)


def _credentials_file(tmp_path: Path, credentials: DeviceCredentials, **changes: str) -> str:
    path = tmp_path / "credentials.json"
    data = {**credentials.model_dump(), **changes}
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _enroll(profile: Path, passphrase_file: str, *args: str) -> int:
    return main(["--data-dir", str(profile), "enroll", "--key-store", "passphrase",
                 "--passphrase-file", passphrase_file, *args])


def _closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _nothing_made(profile: Path) -> bool:
    return not profile.exists() or not any(profile.iterdir())


def test_enroll_with_credentials_registers_the_device(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk")
    source = _credentials_file(tmp_path, credentials)
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", source) == 0
    out = capsys.readouterr().out
    assert "Registered with" in out
    assert credentials.client_secret not in out
    device = DeviceConfig.load(profile)
    assert device.device_id == credentials.device_id
    assert device.client_id == credentials.client_id and device.registered
    assert device.desk_id == credentials.device_id.lower()
    assert credentials.client_secret not in (profile / "device.json").read_text("utf-8")
    keys = PassphraseKeyStore(profile, PASSPHRASE)
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        assert load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET) == \
            credentials.client_secret.encode()
        actions = [e.action for e in store.audit_log().entries()]
    finally:
        store.close()
    assert actions == ["device.enrolled", "device.registered"]
    assert credentials.client_secret.encode() not in (profile / STORE_FILE).read_bytes()


def test_credentials_of_another_tenant_are_refused_before_anything_is_made(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sapporo = add_device(gateway.db_url, tenant_code="011002", mode="kiosk")
    source = _credentials_file(tmp_path, sapporo)
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", source) == 2
    assert "another municipality" in capsys.readouterr().err
    assert _nothing_made(profile)


def test_the_gateway_has_the_last_word_on_tenant_and_mode(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A file edited to claim this tenant (or mode): /meta tells the truth.
    sapporo = add_device(gateway.db_url, tenant_code="011002", mode="kiosk")
    edited = _credentials_file(tmp_path, sapporo, tenant_code=TENANT)
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", edited) == 2
    assert "enrol.gateway_tenant" in capsys.readouterr().err
    desk = add_device(gateway.db_url, tenant_code=TENANT, mode="desk")
    edited = _credentials_file(tmp_path, desk, mode="counter")
    assert _enroll(profile, passphrase_file, "--mode", "counter", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", edited) == 2
    assert "enrol.gateway_mode" in capsys.readouterr().err
    assert _nothing_made(profile)


def test_a_wrong_secret_or_a_mode_mismatch_is_refused(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk")
    wrong = _credentials_file(tmp_path, credentials, client_secret="x" * 43)
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", wrong) == 2
    err = capsys.readouterr().err
    assert "refused these credentials" in err and "x" * 43 not in err
    right = _credentials_file(tmp_path, credentials)
    assert _enroll(profile, passphrase_file, "--mode", "counter", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", right) == 2
    assert "another kind of device" in capsys.readouterr().err
    assert _nothing_made(profile)


def test_an_unreachable_gateway_changes_nothing(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk")
    source = _credentials_file(tmp_path, credentials)
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--gateway", _closed_url(), "--credentials", source) == 2
    assert "cannot be reached" in capsys.readouterr().err
    assert _nothing_made(profile)


def test_not_json_and_credentials_without_gateway_are_refused(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"client_secret": "s3cr3t-value"}', encoding="utf-8")
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", str(junk)) == 2
    err = capsys.readouterr().err
    assert "gateway add-device" in err and "s3cr3t" not in err
    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="kiosk")
    source = _credentials_file(tmp_path, credentials)
    assert _enroll(profile, passphrase_file, "--mode", "kiosk", "--tenant", TENANT,
                   "--credentials", source) == 2
    assert "--gateway" in capsys.readouterr().err
    assert _nothing_made(profile)


def test_offline_enrolment_then_sync_register(
    tmp_path: Path, profile: Path, passphrase_file: str, gateway: RunningGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _enroll(profile, passphrase_file, "--mode", "desk", "--tenant", TENANT) == 0
    out = capsys.readouterr().out
    device = DeviceConfig.load(profile)
    assert not device.registered and "sync register" in out and device.device_id in out
    # The administrator created another id by mistake: refused, with the id to use.
    stray = add_device(gateway.db_url, tenant_code=TENANT, mode="desk")
    register = ["--data-dir", str(profile), "sync", "register", "--gateway", gateway.url,
                "--passphrase-file", passphrase_file, "--credentials"]
    assert main([*register, _credentials_file(tmp_path, stray)]) == 2
    assert f"--device-id {device.device_id}" in capsys.readouterr().err
    assert not DeviceConfig.load(profile).registered
    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="desk",
                             device_id=device.device_id)
    assert main([*register, _credentials_file(tmp_path, credentials)]) == 0
    registered = DeviceConfig.load(profile)
    assert registered.registered and registered.gateway_url == gateway.url
    assert registered.client_id == credentials.client_id


def test_credentials_from_stdin(
    profile: Path, passphrase_file: str, gateway: RunningGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    credentials = add_device(gateway.db_url, tenant_code=TENANT, mode="counter")
    # As piped from `madoguchi gateway add-device` (its stdout is the JSON alone).
    monkeypatch.setattr("sys.stdin", io.StringIO(credentials.model_dump_json() + "\n"))
    assert _enroll(profile, passphrase_file, "--mode", "counter", "--tenant", TENANT,
                   "--gateway", gateway.url, "--credentials", "-") == 0
    assert DeviceConfig.load(profile).client_id == credentials.client_id
