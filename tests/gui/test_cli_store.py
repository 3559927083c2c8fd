"""The store subcommands (backup, restore, keys rotate, audit verify, retention run), in-process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desk.config import STORE_FILE
from desk.store.drafts import DraftStore
from desk.store.keys import PassphraseKeyStore
from ui.cli import main

PASSPHRASE = "madoguchi-test-passphrase"
ANSWERS = {"shimei": {"family": "窓口", "given": "太郎"}, "kojin_bango": "621498320257",
           "jusho": "東京都千代田区永田町"}
CANARIES = ("窓口", "621498320257", "千代田")


@pytest.fixture
def passphrase_file(tmp_path: Path) -> str:
    path = tmp_path / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return str(path)


def _run(profile: Path, passphrase_file: str, *args: str) -> int:
    return main(["--data-dir", str(profile), *args, "--passphrase-file", passphrase_file])


def _enrolled(tmp_path: Path, passphrase_file: str, name: str = "profile",
              mode: str = "counter") -> Path:
    profile = tmp_path / name
    assert main(["--data-dir", str(profile), "enroll", "--mode", mode, "--tenant", "131016",
                 "--key-store", "passphrase", "--desk-id", "desk-1",
                 "--passphrase-file", passphrase_file]) == 0
    return profile


def _add_drafts(profile: Path, count: int, mode: str = "counter") -> list[str]:
    store = DraftStore(profile / STORE_FILE, PassphraseKeyStore(profile, PASSPHRASE))
    try:
        made = []
        for _ in range(count):
            draft_id = store.create(("juminhyo-utsushi",), mode=mode, desk_id="desk-1",
                                    position="a").id
            store.save(draft_id, ANSWERS, "b")
            made.append(draft_id)
        return made
    finally:
        store.close()


def _no_personal_data(captured: pytest.CaptureFixture[str]) -> tuple[str, str]:
    out, err = captured.readouterr()
    for canary in CANARIES:
        assert canary not in out and canary not in err
    return out, err


@pytest.fixture
def profile(tmp_path: Path, passphrase_file: str, capsys: pytest.CaptureFixture[str]) -> Path:
    made = _enrolled(tmp_path, passphrase_file)
    capsys.readouterr()
    return made


def test_backup_then_restore(profile: Path, passphrase_file: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    drafts = _add_drafts(profile, 2)
    target = tmp_path / "backup.sqlite3"
    assert _run(profile, passphrase_file, "backup", "--to", str(target)) == 0
    out, _ = _no_personal_data(capsys)
    assert "Backup written" in out and "2 draft(s)" in out and "keys rotate" in out
    assert target.exists()

    store = DraftStore(profile / STORE_FILE, PassphraseKeyStore(profile, PASSPHRASE))
    store.discard(drafts[0])
    store.close()
    assert _run(profile, passphrase_file, "restore", str(target)) == 0
    out, _ = _no_personal_data(capsys)
    assert "Restored 1 draft(s)" in out
    assert "1 draft(s) in the backup were deleted after it was made" in out
    assert "before-restore-" in out
    assert len(list(profile.glob(f"{STORE_FILE}.before-restore-*"))) == 1


def test_backup_refuses_to_overwrite(profile: Path, passphrase_file: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _add_drafts(profile, 1)
    target = tmp_path / "backup.sqlite3"
    target.write_text("an earlier file", encoding="utf-8")
    assert _run(profile, passphrase_file, "backup", "--to", str(target)) == 2
    _, err = _no_personal_data(capsys)
    assert "exists already" in err and "store.backup_exists" in err
    assert target.read_text(encoding="utf-8") == "an earlier file"


def test_restore_of_another_devices_backup_is_refused(
    profile: Path, passphrase_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    _add_drafts(profile, 1)
    other = _enrolled(tmp_path, passphrase_file, "other")
    _add_drafts(other, 1)
    foreign = tmp_path / "foreign.sqlite3"
    assert _run(other, passphrase_file, "backup", "--to", str(foreign)) == 0
    capsys.readouterr()
    before = (profile / STORE_FILE).read_bytes()
    assert _run(profile, passphrase_file, "restore", str(foreign)) == 2
    _, err = _no_personal_data(capsys)
    assert "another device" in err and "Nothing was changed" in err
    assert (profile / STORE_FILE).read_bytes() == before


def test_keys_rotate_and_the_old_backup(profile: Path, passphrase_file: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    drafts = _add_drafts(profile, 3)
    old_backup = tmp_path / "before-rotation.sqlite3"
    assert _run(profile, passphrase_file, "backup", "--to", str(old_backup)) == 0
    capsys.readouterr()
    old_key = PassphraseKeyStore(profile, PASSPHRASE).current()[0]

    assert _run(profile, passphrase_file, "keys", "rotate") == 0
    out, _ = _no_personal_data(capsys)
    new_key = PassphraseKeyStore(profile, PASSPHRASE).current()[0]
    assert new_key != old_key
    assert f"new device key is {new_key}" in out and f"Removed the old key(s): {old_key}" in out
    assert "Re-wrapped 3 draft key(s)" in out and "no longer open" in out
    store = DraftStore(profile / STORE_FILE, PassphraseKeyStore(profile, PASSPHRASE))
    try:
        assert all(store.load(d).answers == ANSWERS for d in drafts)
    finally:
        store.close()

    assert _run(profile, passphrase_file, "restore", str(old_backup)) == 2
    _, err = _no_personal_data(capsys)
    assert "before the device key was rotated" in err


def test_keys_rotate_with_a_wrong_passphrase(profile: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _add_drafts(profile, 1)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase", encoding="utf-8")
    assert _run(profile, str(wrong), "keys", "rotate") == 2
    assert "passphrase is not correct" in capsys.readouterr().err
    assert len(PassphraseKeyStore(profile, PASSPHRASE).key_ids()) == 1


def test_audit_verify_ok_and_broken(profile: Path, passphrase_file: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _add_drafts(profile, 2)
    assert main(["--data-dir", str(profile), "audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Audit chain ok: ")
    assert main(["--data-dir", str(profile), "audit", "verify", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["entries"] >= 2 and len(result["head"]["hash"]) == 64

    with sqlite3.connect(profile / STORE_FILE) as plain:  # as someone with the file could
        plain.execute("DROP TRIGGER audit_no_update")
        plain.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    assert main(["--data-dir", str(profile), "audit", "verify"]) == 1
    assert "broken at entry #2: content changed" in capsys.readouterr().out
    assert main(["--data-dir", str(profile), "audit", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "ok": False, "entries": 2, "first_broken": 2, "reason": "content changed"}


def test_retention_run(tmp_path: Path, passphrase_file: str,
                       capsys: pytest.CaptureFixture[str]) -> None:
    profile = _enrolled(tmp_path, passphrase_file, mode="kiosk")
    stale, fresh = _add_drafts(profile, 2, mode="kiosk")
    with sqlite3.connect(profile / STORE_FILE) as plain:  # last activity two days ago
        plain.execute("UPDATE drafts SET updated_at = datetime('now', '-2 days') WHERE id = ?",
                      (stale,))
    capsys.readouterr()
    assert _run(profile, passphrase_file, "retention", "run", "--json") == 0
    out, _ = _no_personal_data(capsys)
    assert json.loads(out) == {"expired": {"kiosk-draft": 1}, "total": 1,
                               "payloads_purged": 0, "backup_keys_forgotten": 0}
    assert _run(profile, passphrase_file, "retention", "run") == 0
    assert "nothing due" in capsys.readouterr().out
    store = DraftStore(profile / STORE_FILE, PassphraseKeyStore(profile, PASSPHRASE))
    try:
        assert store.summary(stale).status == "EXPIRED"
        assert store.load(fresh).answers == ANSWERS
    finally:
        store.close()


def test_store_commands_on_an_unenrolled_profile(tmp_path: Path, passphrase_file: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path / "nothing", passphrase_file, "retention", "run") == 2
    assert "not enrolled" in capsys.readouterr().err


def test_console_script_audit_verify(profile: Path) -> None:
    _add_drafts(profile, 1)
    result = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--data-dir", str(profile), "audit", "verify",
         "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
