"""Acceptance test 1 (security.md): kill -9 at random points while autosaving."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from desk.store.crypto import new_key
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from tests.reliability.rounds import kill_rounds, seed
from tests.reliability.workload import (
    SAVE_NO,
    STORE_NAME,
    answers_for,
    canary_hits,
    integrity,
    query,
    store_files,
)


def _run(tmp_path: Path, rounds: int) -> None:
    rng = random.Random(seed())
    key = new_key()
    acked: dict[str, int] = {}

    def on_line(line: str) -> None:
        if line.startswith("ACK "):
            _, draft_id, version = line.split()
            acked[draft_id] = max(acked.get(draft_id, -1), int(version))

    kills = kill_rounds("autosave", tmp_path, key, rounds, rng, on_line,
                        kill_after=lambda line: line.startswith("ACK "))
    assert kills == rounds
    assert len(acked) > rounds / 2, "the children must have got work done between kills"

    # What the kills left behind: db, -wal, -shm, temp files, stderr and logs.
    assert "store.sqlite3-wal" in store_files(tmp_path), "the scan must cover a live WAL"
    assert canary_hits(tmp_path) == []

    db = tmp_path / STORE_NAME
    store = DraftStore(db, MemoryKeyStore(key))  # opens normally: quick_check, WAL recovery
    try:
        assert integrity(db) == "ok"
        versions = dict(query(db, "SELECT id, record_version FROM drafts"))
        assert sorted(set(acked) - set(versions)) == [], "acknowledged drafts lost"
        behind = sorted(d for d, v in acked.items() if versions[d] < v)
        assert behind == [], "acknowledged saves lost"
        wrong = []
        for draft_id, version in versions.items():
            answers = store.load(draft_id).answers  # decrypts, or raises
            save_no = int(answers.get(SAVE_NO, 0))
            expected = answers_for(draft_id, save_no) if save_no else {}
            # Compared here, not in the assert, so a failure never prints the answers.
            if answers != expected or save_no != version or save_no < acked.get(draft_id, 0):
                wrong.append(draft_id)
        assert wrong == []
    finally:
        store.close()
    assert canary_hits(tmp_path) == []


def test_kill_9_while_autosaving_loses_no_acknowledged_save(tmp_path: Path) -> None:
    """Acceptance test 1, default run: 50 kill -9 rounds on one store file.

    Afterwards integrity_check is ok, every acknowledged draft is present at its acknowledged
    record version or later and decrypts to the answers of that version, and no canary is in
    the db, -wal, -shm, temp files, stderr or the children's DEBUG logs.
    """
    _run(tmp_path, 50)


@pytest.mark.slow
def test_kill_9_while_autosaving_200_rounds(tmp_path: Path) -> None:
    """Acceptance test 1, slow run: the same with 200 kill -9 rounds."""
    _run(tmp_path, 200)


def test_canary_scan_finds_plaintext(tmp_path: Path) -> None:
    """The scan used by acceptance tests 1 and 2 can fail: planted plaintext is found."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "child.log").write_text("saved 621498320257\n")
    (tmp_path / STORE_NAME).write_bytes(b"\x00" * 8 + "マドグチ".encode("utf-16-le"))
    assert canary_hits(tmp_path) == ["logs/child.log: canary 6", f"{STORE_NAME}: canary 4"]
