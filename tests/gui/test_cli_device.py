"""`madoguchi enroll` and `madoguchi accounts`, run as an administrator would (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desk.config import DeviceConfig
from desk.store.keys import PassphraseKeyStore
from ui.cli import main

PASSPHRASE = "madoguchi-test-passphrase"


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, str]:
    files = {"passphrase": PASSPHRASE, "super": "1357", "staff": "2580", "new": "4826",
             "wrong": "9999"}
    paths = {}
    for name, value in files.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(value + "\n", encoding="utf-8")
        paths[name] = str(path)
    return paths


def _run(profile: Path, secrets: dict[str, str], *args: str) -> int:
    return main(["--data-dir", str(profile), *args, "--passphrase-file",
                 secrets["passphrase"]])


def _enrol(profile: Path, secrets: dict[str, str]) -> int:
    return _run(profile, secrets, "enroll", "--mode", "counter", "--tenant", "131016",
                "--key-store", "passphrase", "--desk-id", "counter-3")


def test_enroll_creates_key_store_and_configuration(
    profile: Path, secrets: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enrol(profile, secrets) == 0
    device = DeviceConfig.load(profile)
    assert (device.mode, device.tenant_code, device.desk_id, device.key_store) == (
        "counter", "131016", "counter-3", "passphrase")
    assert PassphraseKeyStore(profile, PASSPHRASE).current()
    assert "accounts add" in capsys.readouterr().out
    assert _enrol(profile, secrets) == 2  # never twice: a second key would orphan drafts
    assert "already enrolled" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--tenant", "131017", "check digit"),
    ("--gateway", "http://gateway.example.jp", "https"),
])
def test_enroll_refuses_bad_settings(profile: Path, secrets: dict[str, str], flag: str,
                                     value: str, says: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = {"--tenant": "131016", flag: value}
    extra = [item for pair in args.items() for item in pair]
    assert _run(profile, secrets, "enroll", "--mode", "desk", "--key-store", "passphrase",
                *extra) == 2
    assert says in capsys.readouterr().err
    assert not (profile / "device.json").exists()


def test_accounts_from_first_supervisor_to_reset(
    profile: Path, secrets: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enrol(profile, secrets) == 0
    # The first account must be a supervisor, made by whoever holds the device key.
    assert _run(profile, secrets, "accounts", "add", "staff-01", "--role", "staff",
                "--pin-file", secrets["staff"]) == 2
    assert _run(profile, secrets, "accounts", "add", "super-01", "--role", "supervisor",
                "--pin-file", secrets["super"]) == 0
    # After that, changes need a supervisor's sign-in.
    assert _run(profile, secrets, "accounts", "add", "staff-01", "--role", "staff",
                "--pin-file", secrets["staff"]) == 2
    assert _run(profile, secrets, "accounts", "add", "staff-01", "--role", "staff",
                "--pin-file", secrets["staff"], "--as", "super-01",
                "--as-pin-file", secrets["wrong"]) == 2
    assert _run(profile, secrets, "accounts", "add", "staff-01", "--role", "staff",
                "--pin-file", secrets["staff"], "--as", "super-01",
                "--as-pin-file", secrets["super"]) == 0
    assert _run(profile, secrets, "accounts", "reset-pin", "staff-01", "--pin-file",
                secrets["new"], "--as", "super-01", "--as-pin-file", secrets["super"]) == 0
    assert _run(profile, secrets, "accounts", "disable", "staff-01", "--as", "super-01",
                "--as-pin-file", secrets["super"]) == 0
    capsys.readouterr()
    assert _run(profile, secrets, "accounts", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [
        {"login": "staff-01", "role": "staff", "disabled": True, "locked": False},
        {"login": "super-01", "role": "supervisor", "disabled": False, "locked": False},
    ]


def test_a_staff_member_cannot_manage_accounts(
    profile: Path, secrets: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enrol(profile, secrets) == 0
    _run(profile, secrets, "accounts", "add", "super-01", "--role", "supervisor",
         "--pin-file", secrets["super"])
    _run(profile, secrets, "accounts", "add", "staff-01", "--role", "staff", "--pin-file",
         secrets["staff"], "--as", "super-01", "--as-pin-file", secrets["super"])
    capsys.readouterr()
    assert _run(profile, secrets, "accounts", "add", "staff-02", "--role", "staff",
                "--pin-file", secrets["new"], "--as", "staff-01",
                "--as-pin-file", secrets["staff"]) == 2
    assert "Only a supervisor" in capsys.readouterr().err


def test_wrong_device_passphrase_changes_nothing(
    profile: Path, secrets: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enrol(profile, secrets) == 0
    before = (profile / "device-keys.json").read_bytes()
    code = main(["--data-dir", str(profile), "accounts", "list", "--passphrase-file",
                 secrets["wrong"]])
    assert code == 2
    assert "passphrase is not correct" in capsys.readouterr().err
    assert (profile / "device-keys.json").read_bytes() == before
