"""Backup and restore of the device store: real SQLite files, real keys, real shredding."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.errors import StoreError, TamperedError
from desk.store import crypto
from desk.store.backup import (
    ESCROW_KEY_ID,
    backup,
    backup_keys_path,
    forget_shredded,
    restore,
)
from desk.store.drafts import DISCARDED, DraftStore
from desk.store.keys import MemoryKeyStore

ANSWERS = {
    "shimei": {"family": "窓口", "given": "太郎"},
    "shimei_furigana": {"family": "マドグチ", "given": "タロウ"},
    "jusho": "東京都千代田区永田町",
    "jusho_yubinbango": "1000014",
    "seinengappi": "1990-04-01",
    "denwa": "03-1234-5678",
    "kojin_bango": "621498320257",
}
CANARIES = [b"621498320257", "窓口".encode(), "マドグチ".encode(), "千代田区".encode(),
            b"03-1234-5678", b"1990-04-01"]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "store"


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"
    folder.mkdir()
    return folder / "drafts.sqlite3"


@pytest.fixture
def store(store_path: Path, keys: MemoryKeyStore) -> Iterator[DraftStore]:
    opened = DraftStore(store_path, keys)
    yield opened
    opened.close()


def _new(store: DraftStore, answers: dict[str, object] | None = None) -> str:
    draft_id = store.create(("juminhyo-utsushi",), mode="counter", desk_id="desk-1",
                            position="shimei").id
    store.save(draft_id, answers or ANSWERS, "jusho")
    return draft_id


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folder_state(folder: Path) -> dict[str, str]:
    return {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _quick_check(path: Path) -> str:
    with sqlite3.connect(path) as plain:
        return str(plain.execute("PRAGMA quick_check").fetchone()[0])


def test_backup_of_a_live_store_while_another_connection_writes(
    store: DraftStore, store_path: Path, keys: MemoryKeyStore, tmp_path: Path,
) -> None:
    drafts = [_new(store) for _ in range(20)]
    acknowledged: dict[str, int] = dict.fromkeys(drafts, 0)
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        # Another connection (its own DraftStore, as another thread of the app would have).
        writer = DraftStore(store_path, keys)
        try:
            n = 0
            while not stop.is_set():
                n += 1
                draft_id = drafts[n % len(drafts)]
                writer.save(draft_id, {**ANSWERS, "n": n}, f"step-{n}")
                acknowledged[draft_id] = n
        except Exception as exc:  # noqa: BLE001  reported below: a thread cannot fail a test
            failures.append(exc)
        finally:
            writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        before = dict(acknowledged)
        target = tmp_path / "backup.sqlite3"
        info = backup(store, target)
        after = dict(acknowledged)
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert info.drafts == len(drafts) and info.key_ids == ("mem-1",)
    assert _quick_check(target) == "ok"
    data = target.read_bytes()
    assert not [c for c in CANARIES if c in data]
    assert not list(tmp_path.glob(".backup.sqlite3*"))  # no temp file left

    store.close()
    restore(target, store_path, keys)
    restored = DraftStore(store_path, keys)
    try:
        for draft_id in drafts:
            answers = restored.load(draft_id).answers  # every draft opens: a consistent copy
            n = answers.pop("n", 0)
            assert answers == ANSWERS
            # The copy is one moment between the backup's start and end.
            assert before[draft_id] <= n <= after[draft_id]
    finally:
        restored.close()


def test_backup_holds_no_usable_wrapped_key(store: DraftStore, tmp_path: Path) -> None:
    _new(store)
    _new(store)
    target = tmp_path / "b.sqlite3"
    backup(store, target)
    with sqlite3.connect(target) as plain:
        blobs = [r[0] for r in plain.execute("SELECT wrapped_dek FROM drafts")]
        journal = plain.execute("PRAGMA journal_mode").fetchone()[0]
    assert blobs and all(crypto.blob_key_id(b) == ESCROW_KEY_ID for b in blobs)
    assert journal != "wal"  # one self-contained file


def test_backup_refuses_an_existing_file_and_records_an_audit_entry(
    store: DraftStore, tmp_path: Path,
) -> None:
    _new(store)
    target = tmp_path / "窓口-backup.sqlite3"  # a path with a name in it must not reach the log
    target.write_bytes(b"keep me")
    with pytest.raises(StoreError) as error:
        backup(store, target)
    assert error.value.message_id == "store.backup_exists"
    assert target.read_bytes() == b"keep me"
    target.unlink()
    info = backup(store, target)
    entry = store.audit_log().entries()[-1]
    assert entry.action == "store.backup" and entry.detail == {"drafts": 1}
    assert entry.subject is None
    assert info.size_bytes == target.stat().st_size


def test_backup_of_a_missing_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as error:
        backup(tmp_path / "none.sqlite3", tmp_path / "b.sqlite3")
    assert error.value.message_id == "store.not_found"
    assert not (tmp_path / "b.sqlite3").exists()


def test_restore_with_another_devices_keys_is_refused_and_the_store_untouched(
    store: DraftStore, tmp_path: Path,
) -> None:
    _new(store)
    target = tmp_path / "b.sqlite3"
    backup(store, target)
    store.close()

    other_folder = tmp_path / "other-device"
    other_folder.mkdir()
    other_path = other_folder / "drafts.sqlite3"
    # Same key id, another key; and another key id altogether.
    for other_keys in (MemoryKeyStore(), MemoryKeyStore(key_id="mem-other")):
        other = DraftStore(other_path, other_keys)
        _new(other, {"other": 1})
        other.close()
        state = _folder_state(other_folder)
        with pytest.raises(StoreError) as error:
            restore(target, other_path, other_keys)
        assert error.value.message_id == "store.backup_other_device"
        assert _folder_state(other_folder) == state  # nothing moved, nothing left behind
        for path in list(other_folder.iterdir()):
            path.unlink()



def test_restore_over_a_damaged_store_keeps_it_exactly_as_it_was(
    store: DraftStore, store_path: Path, keys: MemoryKeyStore, tmp_path: Path,
) -> None:
    draft_id = _new(store)
    target = tmp_path / "b.sqlite3"
    backup(store, target)
    store.close()
    data = bytearray(store_path.read_bytes())
    for offset in range(4096 + 8, len(data), 4096):
        data[offset : offset + 16] = b"\xa5" * 16
    store_path.write_bytes(bytes(data))
    damaged = _digest(store_path)

    info = restore(target, store_path, keys)
    assert info.previous is not None and not info.previous_sealed
    assert _digest(info.previous) == damaged
    restored = DraftStore(store_path, keys)
    try:
        assert restored.load(draft_id).answers == ANSWERS
    finally:
        restored.close()


def test_restore_moves_the_old_store_aside_and_it_can_be_restored_back(
    store: DraftStore, store_path: Path, keys: MemoryKeyStore, tmp_path: Path,
) -> None:
    early = _new(store)
    target = tmp_path / "b.sqlite3"
    backup(store, target)
    late = _new(store, {"later": "窓口"})
    store.close()

    info = restore(target, store_path, keys)
    assert info.previous is not None and info.previous.exists()
    assert info.previous.name.startswith("drafts.sqlite3.before-restore-")
    assert info.previous.name.endswith("Z")
    assert info.previous_sealed and info.drafts_restored == 1 and info.drafts_unreadable == 0
    assert info.backup_made_at is not None
    restored = DraftStore(store_path, keys)
    try:
        assert restored.load(early).answers == ANSWERS
        with pytest.raises(StoreError):
            restored.summary(late)  # made after the backup: only in the store moved aside
        assert [e.action for e in restored.audit_log().entries()][-1] == "store.restored"
        assert restored.audit_log().verify().ok
    finally:
        restored.close()
    # The store moved aside holds no readable key either, and restores like a backup.
    assert not [c for c in CANARIES if c in info.previous.read_bytes()]
    again = restore(info.previous, store_path, keys)
    assert again.drafts_restored == 2
    back = DraftStore(store_path, keys)
    try:
        assert back.load(late).answers == {"later": "窓口"}
    finally:
        back.close()


def test_restore_refuses_a_store_in_use(store: DraftStore, store_path: Path,
                                        keys: MemoryKeyStore, tmp_path: Path) -> None:
    _new(store)
    target = tmp_path / "b.sqlite3"
    backup(store, target)
    state = _folder_state(store_path.parent)
    with pytest.raises(StoreError) as error:
        restore(target, store_path, keys)  # `store` still has the file open
    assert error.value.message_id == "store.busy"
    assert _folder_state(store_path.parent) == state


@pytest.mark.parametrize("kind", ["text", "empty-sqlite", "garbled"])
def test_restore_refuses_what_is_not_a_sound_store(
    store: DraftStore, store_path: Path, keys: MemoryKeyStore, tmp_path: Path, kind: str,
) -> None:
    _new(store)
    candidate = tmp_path / "candidate.sqlite3"
    if kind == "text":
        candidate.write_text("not a database\n" * 500, encoding="utf-8")
        expected = "store.not_a_store"
    elif kind == "empty-sqlite":
        with sqlite3.connect(candidate) as plain:
            plain.execute("CREATE TABLE notes (x)")
        expected = "store.not_a_store"
    else:
        backup(store, candidate)
        data = bytearray(candidate.read_bytes())
        page = 4096
        for offset in range(page + 8, len(data), page):  # every b-tree page header garbled
            data[offset : offset + 16] = b"\xa5" * 16
        candidate.write_bytes(bytes(data))
        expected = "store.backup_damaged"
    store.close()
    state = _folder_state(store_path.parent)
    with pytest.raises(StoreError) as error:
        restore(candidate, store_path, keys)
    assert error.value.message_id == expected
    assert _folder_state(store_path.parent) == state


def test_restore_of_a_first_schema_store_migrates_it(tmp_path: Path) -> None:
    folder = tmp_path / "profile"
    folder.mkdir()
    keys = MemoryKeyStore(bytes(range(32)), "fixture-1")  # the fixture's fake device key
    info = restore(FIXTURES / "schema-0001.sqlite3", folder / "drafts.sqlite3", keys)
    assert info.previous is None and info.drafts_restored == 3
    store = DraftStore(folder / "drafts.sqlite3", keys)
    try:
        assert store.load("01M7ZXQKCY9HC418HFAN781RRM").answers == {"seinengappi": "1990-04-01"}
        assert store.audit_log().entries()[-1].action == "store.restored"
    finally:
        store.close()


def test_shredded_draft_cannot_be_decrypted_even_from_an_older_backup(
    store: DraftStore, store_path: Path, keys: MemoryKeyStore, tmp_path: Path,
) -> None:
    """Acceptance test 7.

    "Cannot" here means: the backup made before the shred holds the draft's ciphertext and
    its data key wrapped under the device key, but that wrapped key is sealed once more under
    the draft's backup key, which lives only in the device's backup-key file and is deleted
    when the draft is shredded. Whoever holds the old backup *and* the device key *and* the
    current backup-key file still cannot open the draft: the one secret that would open it no
    longer exists anywhere. (The app's restore also re-applies the store's shreds, but that is
    policy; this test shows the cryptographic part too, with no live store to consult.)
    """
    shredded, kept = _new(store), _new(store, {"kept": True})
    old_backup = tmp_path / "before-shred.sqlite3"
    backup(store, old_backup)
    store.discard(shredded)

    # 1. The app's path: restore the old backup over the store that knows of the shred.
    store.close()
    info = restore(old_backup, store_path, keys)
    assert (info.drafts_restored, info.drafts_unreadable) == (1, 1)
    restored = DraftStore(store_path, keys)
    try:
        with pytest.raises(StoreError) as error:
            restored.load(shredded)
        assert error.value.message_id == "store.shredded"
        assert restored.summary(shredded).status == DISCARDED
        assert restored.load(kept).answers == {"kept": True}
    finally:
        restored.close()

    # 2. The key material: its backup key is gone, and the device key alone opens nothing.
    forget_shredded(store_path)
    with sqlite3.connect(backup_keys_path(store_path)) as plain:
        held = {r[0] for r in plain.execute("SELECT draft_id FROM backup_keys")}
    assert shredded not in held and kept in held
    with sqlite3.connect(old_backup) as plain:
        blob = plain.execute("SELECT wrapped_dek FROM drafts WHERE id = ?",
                             (shredded,)).fetchone()[0]
    assert blob is not None  # the old backup still holds something ...
    binding = crypto.Binding("drafts", shredded, "wrapped_dek", 0, "mem-1")
    with pytest.raises(TamperedError):
        crypto.unwrap_key(keys.get("mem-1"), blob, binding)  # ... that the device key cannot open
    copy = tmp_path / "copy-of-old-backup.sqlite3"
    shutil.copy(old_backup, copy)
    opened_copy = DraftStore(copy, keys)
    try:
        with pytest.raises(TamperedError):
            opened_copy.load(shredded)
    finally:
        opened_copy.close()

    # 3. Even with no live store at all (nothing left to say "shredded"), a restore of the old
    # backup cannot bring it back; the draft that was not shredded comes back whole.
    for path in store_path.parent.glob("drafts.sqlite3*"):
        path.unlink()
    info = restore(old_backup, store_path, keys)
    assert (info.drafts_restored, info.drafts_unreadable) == (1, 1)
    final = DraftStore(store_path, keys)
    try:
        with pytest.raises(StoreError):
            final.load(shredded)
        assert final.load(kept).answers == {"kept": True}
    finally:
        final.close()
