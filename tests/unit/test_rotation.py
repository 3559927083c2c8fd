"""Device key rotation: re-wrap data keys only, resumable after a crash at any step."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.errors import StoreError
from desk.store.backup import backup, restore
from desk.store.crypto import KdfParams
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore, PassphraseKeyStore
from desk.store.rotation import ROTATION_FACT, rotate

ANSWERS = {"shimei": {"family": "窓口", "given": "太郎"}, "kojin_bango": "621498320257"}
CHEAP = KdfParams.new("scrypt", {"n": 2**10, "r": 8, "p": 1})
PASSPHRASE = "窓口の合言葉 correct horse"


class CrashError(Exception):
    """Stands for the process dying at that point."""


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def store(tmp_path: Path, keys: MemoryKeyStore) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", keys)
    yield opened
    opened.close()


def _drafts(store: DraftStore, count: int) -> dict[str, dict[str, object]]:
    made = {}
    for n in range(count):
        draft_id = store.create(("juminhyo-utsushi",), mode="counter", desk_id="desk-1",
                                position="a").id
        answers = {**ANSWERS, "n": n}
        store.save(draft_id, answers, "b")
        made[draft_id] = answers
    return made


def _ciphertexts(path: Path) -> dict[str, bytes]:
    with sqlite3.connect(path) as plain:
        return dict(plain.execute("SELECT id, answers FROM drafts"))


def _kek_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as plain:
        return {r[0] for r in plain.execute("SELECT kek_id FROM drafts")}


def _all_open(store: DraftStore, made: dict[str, dict[str, object]]) -> None:
    for draft_id, answers in made.items():
        assert store.load(draft_id).answers == answers


def test_rotation_rewraps_data_keys_in_batches_and_removes_the_old_key(
    store: DraftStore, keys: MemoryKeyStore,
) -> None:
    made = _drafts(store, 25)
    sealed = _ciphertexts(store.path)
    report = rotate(store, keys, batch_size=10, actor="supervisor-1")

    assert not report.resumed and report.rewrapped == 25 and report.batches == 3
    assert report.removed_key_ids == ("mem-1",) and report.unreadable == 0
    assert keys.key_ids() == [report.new_key_id] == [keys.current()[0]]
    assert _kek_ids(store.path) == {report.new_key_id}
    assert _ciphertexts(store.path) == sealed  # only the small data keys changed
    _all_open(store, made)
    entries = store.audit_log().entries()
    rewrapped = [e for e in entries if e.action == "keys.rewrapped"]
    assert [e.detail for e in rewrapped] == [{"count": 10}, {"count": 10}, {"count": 5}]
    assert [(e.action, e.subject) for e in entries[-2:]] == [
        ("keys.removed", "mem-1"), ("keys.rotated", report.new_key_id)]
    assert entries[-1].actor == "supervisor-1"
    assert entries[-1].detail == {"rewrapped": 25, "removed": 1, "unreadable": 0}
    assert store.audit_log().verify().ok
    assert store.keys_open_store()


@pytest.mark.parametrize(("crash_at", "occurrence"), [
    ("key_added", 1), ("fact_recorded", 1), ("current_set", 1), ("batch", 1), ("batch", 2),
    ("keys_removed", 1),
])
def test_a_crash_at_any_step_is_finished_by_the_next_run(
    store: DraftStore, keys: MemoryKeyStore, crash_at: str, occurrence: int,
) -> None:
    made = _drafts(store, 12)
    sealed = _ciphertexts(store.path)
    seen: list[str] = []

    def crash(step: str) -> None:
        seen.append(step)
        if step == crash_at and seen.count(step) == occurrence:
            raise CrashError(step)

    with pytest.raises(CrashError):
        rotate(store, keys, batch_size=5, on_step=crash)
    _all_open(store, made)  # usable in between: every draft opens mid-rotation
    keys_after_crash = set(keys.key_ids())

    report = rotate(store, keys, batch_size=5)
    _all_open(store, made)
    assert _ciphertexts(store.path) == sealed
    assert keys.key_ids() == [report.new_key_id] == [keys.current()[0]]
    assert _kek_ids(store.path) == {report.new_key_id}
    if crash_at == "key_added":
        # The key added before the crash was never recorded: a fresh rotation adds another
        # and removes the orphan with the old key.
        assert not report.resumed and len(keys_after_crash) == 2
        assert set(report.removed_key_ids) == keys_after_crash
    elif crash_at == "keys_removed":
        # That rotation had finished; this run is a new one.
        assert not report.resumed
    else:
        assert report.resumed
        assert report.new_key_id in keys_after_crash  # no further key was created
        assert report.removed_key_ids == ("mem-1",)
    counts = [e.detail["count"] for e in store.audit_log().entries()
              if e.action == "keys.rewrapped"]
    # Every data key was re-wrapped exactly once per rotation (never twice, never skipped).
    assert sum(counts) == 12 * (2 if crash_at == "keys_removed" else 1)


def test_a_draft_created_during_rotation_is_under_the_new_key(
    store: DraftStore, keys: MemoryKeyStore,
) -> None:
    made = _drafts(store, 6)
    extra: dict[str, dict[str, object]] = {}

    def create_meanwhile(step: str) -> None:
        if step in ("current_set", "batch"):
            extra.update(_drafts(store, 1))

    report = rotate(store, keys, batch_size=4, on_step=create_meanwhile)
    assert len(extra) == 3
    _all_open(store, {**made, **extra})
    assert _kek_ids(store.path) == {report.new_key_id}
    assert keys.key_ids() == [report.new_key_id]


def test_a_damaged_wrapped_key_keeps_its_old_key(store: DraftStore,
                                                 keys: MemoryKeyStore) -> None:
    made = _drafts(store, 4)
    victim = next(iter(made))
    with sqlite3.connect(store.path) as plain:
        blob = bytearray(plain.execute("SELECT wrapped_dek FROM drafts WHERE id = ?",
                                       (victim,)).fetchone()[0])
        blob[-1] ^= 1
        plain.execute("UPDATE drafts SET wrapped_dek = ? WHERE id = ?", (bytes(blob), victim))
    report = rotate(store, keys)
    assert report.unreadable == 1 and report.rewrapped == 3
    assert report.removed_key_ids == ()
    assert set(keys.key_ids()) == {"mem-1", report.new_key_id}
    _all_open(store, {k: v for k, v in made.items() if k != victim})


def test_backups_made_before_a_rotation_no_longer_open(
    store: DraftStore, keys: MemoryKeyStore, tmp_path: Path,
) -> None:
    made = _drafts(store, 2)
    before = tmp_path / "before-rotation.sqlite3"
    backup(store, before)
    rotate(store, keys)
    after = tmp_path / "after-rotation.sqlite3"
    backup(store, after)
    store.close()
    untouched = store.path.read_bytes()

    with pytest.raises(StoreError) as error:
        restore(before, store.path, keys)
    assert error.value.message_id == "store.backup_key_retired"
    assert store.path.read_bytes() == untouched

    restore(after, store.path, keys)
    reopened = DraftStore(store.path, keys)
    try:
        _all_open(reopened, made)
    finally:
        reopened.close()


def test_rotation_with_a_passphrase_key_file(tmp_path: Path) -> None:
    keys = PassphraseKeyStore(tmp_path, PASSPHRASE, params=CHEAP)
    keys.provision()
    store = DraftStore(tmp_path / "drafts.sqlite3", keys)
    try:
        made = _drafts(store, 3)
        report = rotate(store, keys)
    finally:
        store.close()
    reopened_keys = PassphraseKeyStore(tmp_path, PASSPHRASE)  # as the next start would
    assert reopened_keys.key_ids() == [report.new_key_id]
    reopened = DraftStore(tmp_path / "drafts.sqlite3", reopened_keys)
    try:
        _all_open(reopened, made)
    finally:
        reopened.close()


_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from desk.store.drafts import DraftStore
    from desk.store.keys import PassphraseKeyStore
    from desk.store.rotation import rotate

    profile = Path(sys.argv[1])
    store = DraftStore(profile / "drafts.sqlite3", PassphraseKeyStore(profile, sys.argv[2]))

    def step(name):
        print(name, flush=True)
        time.sleep(0.3)  # the parent kills us here (or, on a slow machine, a step later)

    rotate(store, PassphraseKeyStore(profile, sys.argv[2]), batch_size=3, on_step=step)
    print("done", flush=True)
""")


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("kill_after", ["fact_recorded", "current_set", "batch"])
def test_kill_9_mid_rotation_then_run_again(tmp_path: Path, kill_after: str) -> None:
    keys = PassphraseKeyStore(tmp_path, PASSPHRASE, params=CHEAP)
    keys.provision()
    store = DraftStore(tmp_path / "drafts.sqlite3", keys)
    made = _drafts(store, 10)
    store.close()
    sealed = _ciphertexts(tmp_path / "drafts.sqlite3")

    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), PASSPHRASE],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == kill_after:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    keys = PassphraseKeyStore(tmp_path, PASSPHRASE)
    store = DraftStore(tmp_path / "drafts.sqlite3", keys)
    try:
        with sqlite3.connect(store.path) as plain:
            fact = plain.execute("SELECT value FROM store_meta WHERE key = ?",
                                 (ROTATION_FACT,)).fetchone()
        assert fact is not None  # the interrupted rotation left its mark
        report = rotate(store, keys)
        assert report.resumed
        _all_open(store, made)
        assert keys.key_ids() == [report.new_key_id]
        assert _kek_ids(store.path) == {report.new_key_id}
        assert _ciphertexts(store.path) == sealed
        assert store.audit_log().verify().ok
    finally:
        store.close()


def test_rotation_moves_the_gateway_secret_to_the_new_key(store: DraftStore,
                                                           keys: MemoryKeyStore) -> None:
    """The client secret is sealed under the device key: rotation re-seals it before the old
    key goes, so the device can still send afterwards."""
    from desk.store.secrets import load_secret, save_secret, secret_key_ids

    save_secret(store.engine, keys, "gateway_client_secret", b"fake-secret-for-tests")
    old_id, _ = keys.current()
    report = rotate(store, keys)
    assert old_id in report.removed_key_ids
    assert secret_key_ids(store.engine) == [report.new_key_id]
    assert load_secret(store.engine, keys, "gateway_client_secret") == b"fake-secret-for-tests"
