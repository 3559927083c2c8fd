"""Acceptance test 4 (security.md): disk full and I/O errors on write leave the store unchanged."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from desk.errors import StoreError
from desk.store.crypto import new_key
from desk.store.database import checkpoint
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from tests.reliability.faults import database_full, dump
from tests.reliability.workload import (
    DESK,
    MODE,
    PROCEDURE,
    STORE_NAME,
    Zygote,
    answers_for,
    canary_hits,
    integrity,
    query,
)


def _version(db: Path, draft_id: str) -> int:
    return int(query(db, "SELECT record_version FROM drafts WHERE id = ?", (draft_id,))[0][0])


def test_disk_full_on_autosave_leaves_store_unchanged(tmp_path: Path) -> None:
    """Acceptance test 4 (disk full): SQLITE_FULL on autosave.

    The save raises StoreError `store.write_failed` (no personal data in it), the previous
    answers and record version still load, the committed file bytes and every row are
    unchanged; once the disk has room again the same save succeeds.
    """
    db = tmp_path / STORE_NAME
    store = DraftStore(db, MemoryKeyStore(new_key()))
    try:
        draft = store.create([PROCEDURE], mode=MODE, desk_id=DESK, position="shimei")
        store.save(draft.id, answers_for(draft.id, 1), "seinengappi")
        checkpoint(store.engine)  # the committed state is wholly in the main file
        committed, rows = db.read_bytes(), dump(db)
        # Typed on the screen, not yet saved: far more than the free pages can take.
        form = {**answers_for(draft.id, 2), "note": "窓口 太郎 " * 20_000}

        with database_full(store.engine) as pages:
            (free,) = query(db, "PRAGMA freelist_count")[0]
            (page_size,) = query(db, "PRAGMA page_size")[0]
            assert len(str(form).encode()) > 2 * (free + 1) * page_size, "must need new pages"
            with pytest.raises(StoreError) as raised:
                store.save(draft.id, form, "jusho")
            error = raised.value
            assert error.message_id == "store.write_failed"
            cause = error.__cause__
            assert isinstance(cause, DBAPIError)
            assert getattr(cause.orig, "sqlite_errorname", None) == "SQLITE_FULL"
            shown = f"{error} {error.params} {cause}"
            assert not any(c in shown for c in ("窓口", "621498320257")), "personal data in error"

            loaded = store.load(draft.id)
            assert loaded.summary.position == "seinengappi"
            kept = loaded.answers == answers_for(draft.id, 1)  # not in the assert: no answers
            assert kept, "previous answers lost"  # printed on failure
            assert _version(db, draft.id) == 1
            assert db.read_bytes() == committed
            assert dump(db) == rows
            assert query(db, "PRAGMA page_count")[0][0] <= pages

        store.save(draft.id, form, "jusho")  # room again: the form in memory is saved
        saved = store.load(draft.id).answers == form
        assert saved, "the form was not saved once there was room"
        assert _version(db, draft.id) == 2
    finally:
        store.close()
    assert integrity(db) == "ok"
    assert canary_hits(tmp_path) == []


def test_io_error_on_autosave_in_child_leaves_store_unchanged(tmp_path: Path) -> None:
    """Acceptance test 4 (I/O error): a real write error from the OS, in a child process.

    The child autosaves under RLIMIT_FSIZE just above the store's file sizes (SIGXFSZ
    ignored), so the WAL write fails with EFBIG. The child gets StoreError
    `store.write_failed`; meanwhile the parent finds every row and the main file unchanged;
    once the limit is lifted the child's next save succeeds on the same connection.
    """
    key = new_key()
    db = tmp_path / STORE_NAME
    store = DraftStore(db, MemoryKeyStore(key))
    draft = store.create([PROCEDURE], mode=MODE, desk_id=DESK, position="shimei")
    store.save(draft.id, answers_for(draft.id, 1), "seinengappi")
    store.close()

    zygote = Zygote(tmp_path, key)
    try:
        pid = zygote.start("fsize", 0)
        lines = zygote.lines()
        assert next(lines) == "READY"
        assert next(lines) == "WAITING"
        committed, rows = db.read_bytes(), dump(db)  # after the child opened the store
        os.kill(pid, signal.SIGUSR1)
        failed = next(lines)
        print(failed)  # which error SQLite reported: SQLITE_IOERR_WRITE or SQLITE_FULL
        assert next(lines) == "WAITING"
        assert failed.split()[:2] == ["ERROR", "store.write_failed"], failed
        assert failed.split()[2].startswith(("SQLITE_IOERR", "SQLITE_FULL")), failed
        assert dump(db) == rows
        assert db.read_bytes() == committed
        assert integrity(db) == "ok"
        assert _version(db, draft.id) == 1
        os.kill(pid, signal.SIGUSR1)
        assert zygote.finish() == ["SAVED"]
        assert zygote.exit_code == 0, zygote.stderr_tail()
    finally:
        if zygote.exit_code is None:
            zygote.kill()
            zygote.finish()
        zygote.close()

    store = DraftStore(db, MemoryKeyStore(key))
    try:
        saved = store.load(draft.id).answers == answers_for(draft.id, 2)
        assert saved, "the save after lifting the limit is missing"
        assert _version(db, draft.id) == 2
    finally:
        store.close()
    assert integrity(db) == "ok"
    assert canary_hits(tmp_path) == []
