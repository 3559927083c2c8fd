"""The encrypted draft store: a real SQLite file, real AES-GCM, tampering and shredding."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.errors import KeyUnavailableError, StoreError, TamperedError
from desk.store import crypto
from desk.store.drafts import DraftStore
from desk.store.keys import DemoFileKeyStore, MemoryKeyStore

NAME = {"shimei": {"family": "窓口", "given": "太郎"}, "jusho_yubinbango": "1000014"}


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def store(tmp_path: Path, keys: MemoryKeyStore) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", keys)
    yield opened
    opened.close()


def _new(store: DraftStore) -> str:
    return store.create(("juminhyo-utsushi",), mode="kiosk", desk_id="lobby",
                        position="shimei").id


def test_pragmas_for_durability(store: DraftStore) -> None:
    with sqlite3.connect(store.path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert cursor.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        raw.close()


def test_round_trip_and_resume_metadata(store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "seinengappi")
    loaded = store.load(draft_id)
    assert loaded.answers == NAME
    assert loaded.summary.position == "seinengappi"
    assert [d.id for d in store.resumable(mode="kiosk", desk_id="lobby")] == [draft_id]
    assert store.resumable(mode="kiosk", desk_id="another-desk") == []


def test_application_id_is_a_ulid_fixed_at_creation(store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "x")
    assert len(draft_id) == 26 and store.load(draft_id).summary.id == draft_id


def test_ciphertext_moved_to_another_row_is_tampered(store: DraftStore) -> None:
    first, second = _new(store), _new(store)
    store.save(first, NAME, "a")
    store.save(second, {"other": 1}, "a")
    with sqlite3.connect(store.path) as plain:
        blob = plain.execute("SELECT answers FROM drafts WHERE id = ?", (first,)).fetchone()[0]
        plain.execute("UPDATE drafts SET answers = ? WHERE id = ?", (blob, second))
    with pytest.raises(TamperedError):
        store.load(second)


def test_altered_byte_is_tampered(store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "a")
    with sqlite3.connect(store.path) as plain:
        blob = bytearray(plain.execute("SELECT answers FROM drafts").fetchone()[0])
        blob[-1] ^= 1
        plain.execute("UPDATE drafts SET answers = ?", (bytes(blob),))
    with pytest.raises(TamperedError):
        store.load(draft_id)


def test_other_device_key_cannot_open(tmp_path: Path, store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "a")
    store.close()
    stranger = DraftStore(store.path, MemoryKeyStore(key_id="mem-1"))
    try:
        with pytest.raises(TamperedError):
            stranger.load(draft_id)
    finally:
        stranger.close()


def test_discarded_draft_is_shredded(store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "a")
    store.discard(draft_id)
    with pytest.raises(StoreError):
        store.load(draft_id)
    assert store.resumable(mode="kiosk", desk_id="lobby") == []
    with sqlite3.connect(store.path) as plain:
        row = plain.execute("SELECT wrapped_dek, answers FROM drafts").fetchone()
    assert row == (None, None)


def test_finalize_and_receipt_purge_the_payload(store: DraftStore) -> None:
    draft_id = _new(store)
    store.finalize(draft_id, {"metadata": {"applicationId": draft_id}})
    with pytest.raises(StoreError):
        store.save(draft_id, NAME, "a")  # frozen
    (entry,) = store.claim_due()
    assert entry.payload == {"metadata": {"applicationId": draft_id}}
    assert store.outbox_state(draft_id)[0] == "in_flight"
    assert store.claim_due() == []  # not claimed twice
    store.record_receipt(draft_id, "20261121-000001",
                         dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC))
    assert store.summary(draft_id).uketsuke_bango == "20261121-000001"
    with sqlite3.connect(store.path) as plain:
        assert plain.execute("SELECT payload, state FROM outbox").fetchone() == (None, "done")


def test_in_flight_rows_go_back_to_pending_on_restart(store: DraftStore) -> None:
    draft_id = _new(store)
    store.finalize(draft_id, {"a": 1})
    store.claim_due()
    assert store.recover_in_flight() == 1
    assert store.outbox_state(draft_id)[0] == "pending"


def test_write_failure_becomes_a_store_error(tmp_path: Path, store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "a")
    # Another connection holds the write lock past the busy timeout: the save must fail
    # cleanly, and the last saved answers stay intact.
    blocker = sqlite3.connect(store.path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    store.engine.dispose()
    raw_timeout = store.engine.raw_connection()
    raw_timeout.cursor().execute("PRAGMA busy_timeout=50")
    raw_timeout.close()
    try:
        with pytest.raises(StoreError) as raised:
            store.save(draft_id, {"changed": True}, "b")
        assert raised.value.message_id == "store.write_failed"
    finally:
        blocker.rollback()
        blocker.close()
    assert store.load(draft_id).answers == NAME


def test_damaged_file_is_reported_and_kept(tmp_path: Path, keys: MemoryKeyStore) -> None:
    path = tmp_path / "drafts.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as raised:
        DraftStore(path, keys)
    assert raised.value.message_id == "store.damaged"
    assert path.read_bytes().startswith(b"this is not a database")


def test_seal_binds_every_field() -> None:
    key = crypto.new_key()
    binding = crypto.Binding("drafts", "row1", "answers", 3, "dek")
    blob = crypto.seal(key, b"secret", binding)
    assert crypto.open_sealed(key, blob, binding) == b"secret"
    for other in (
        crypto.Binding("outbox", "row1", "answers", 3, "dek"),
        crypto.Binding("drafts", "row2", "answers", 3, "dek"),
        crypto.Binding("drafts", "row1", "payload", 3, "dek"),
        crypto.Binding("drafts", "row1", "answers", 4, "dek"),
    ):
        with pytest.raises(TamperedError):
            crypto.open_sealed(key, blob, other)
    with pytest.raises(TamperedError):
        crypto.open_sealed(key, b"\x09garbage", binding)


def test_demo_key_store_refuses_a_real_profile(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailableError):
        DemoFileKeyStore(tmp_path)
    (tmp_path / DemoFileKeyStore.MARKER).touch()
    demo = DemoFileKeyStore(tmp_path)
    key_id, key = demo.current()
    assert DemoFileKeyStore(tmp_path).get(key_id) == key  # survives a restart
    assert (tmp_path / "demo-device.key").stat().st_mode & 0o077 == 0


def test_reading_does_not_wait_for_a_writer(tmp_path: Path, store: DraftStore) -> None:
    draft_id = _new(store)
    store.save(draft_id, NAME, "a")
    writer = sqlite3.connect(store.path, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # someone else is mid-autosave
    try:
        assert store.load(draft_id).answers == NAME
        assert len(store.resumable(mode="kiosk", desk_id="lobby")) == 1
    finally:
        writer.rollback()
        writer.close()


def test_ciphertext_moved_between_columns_or_keys_is_tampered(store: DraftStore) -> None:
    """Acceptance test 5: answers into the outbox payload, a data key into another row."""
    first, second = _new(store), _new(store)
    store.save(first, NAME, "a")
    store.save(second, {"other": 1}, "a")
    store.finalize(second, {"application_id": second})
    with sqlite3.connect(store.path) as plain:
        answers = plain.execute("SELECT answers FROM drafts WHERE id = ?", (first,)).fetchone()[0]
        plain.execute("UPDATE outbox SET payload = ? WHERE application_id = ?",
                      (answers, second))
    # Refused as tampered: the item is parked for staff instead of sent (it blocks nothing).
    assert store.claim_due() == []
    assert store.outbox_state(second)[0::2] == ("attention", "payload_unreadable")
    with sqlite3.connect(store.path) as plain:
        wrapped = plain.execute("SELECT wrapped_dek FROM drafts WHERE id = ?",
                                (first,)).fetchone()[0]
        plain.execute("UPDATE drafts SET wrapped_dek = ? WHERE id = ?", (wrapped, second))
    with pytest.raises(TamperedError):
        store.load(second)
    assert store.load(first).answers == NAME  # the source row itself is untouched
