"""Acceptance test 3 (security.md): a torn or garbled WAL tail keeps a prefix of the commits."""

from __future__ import annotations

import random
import shutil
import struct
from pathlib import Path
from typing import Any

from sqlalchemy import event

from desk.store.crypto import new_key
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from tests.reliability.rounds import seed
from tests.reliability.workload import (
    DESK,
    MODE,
    PROCEDURE,
    SAVE_NO,
    STORE_NAME,
    answers_for,
    canary_hits,
    query,
)

WAL_HEADER, FRAME_HEADER = 32, 24
State = dict[str, int]  # draft id → record version


def _commit_sequence(
    folder: Path, keys: MemoryKeyStore, rng: random.Random
) -> tuple[DraftStore, list[State]]:
    """Drafts in the main file, then 40 commits left in the WAL; the state after each commit.

    Returns the open store (close it only after copying its files: closing checkpoints the
    WAL into the main file) and the states in commit order: [0] is what the main file holds,
    [i] the state after the i-th commit in the WAL.
    """
    store = DraftStore(folder / STORE_NAME, keys)
    state: State = {}
    for _ in range(3):
        draft = store.create([PROCEDURE], mode=MODE, desk_id=DESK, position="shimei")
        store.save(draft.id, answers_for(draft.id, 1), "seinengappi")
        state[draft.id] = 1
    store.close()  # the last connection checkpoints: these drafts are in the main file

    store = DraftStore(folder / STORE_NAME, keys)

    def no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

    event.listen(store.engine, "connect", no_autocheckpoint)
    store.engine.dispose()
    states = [dict(state)]
    for _ in range(40):
        if rng.random() < 0.3:
            draft = store.create([PROCEDURE], mode=MODE, desk_id=DESK, position="shimei")
            state[draft.id] = 0
        else:
            draft_id = rng.choice(sorted(state))
            state[draft_id] += 1
            store.save(draft_id, answers_for(draft_id, state[draft_id]), "jusho")
        states.append(dict(state))
    return store, states


def _variants(wal: bytes, rng: random.Random) -> list[tuple[str, bytes]]:
    """Torn WALs (cut at frame boundaries, next to them and anywhere) and garbled tails."""
    (page_size,) = struct.unpack(">I", wal[8:12])
    frame = FRAME_HEADER + page_size
    frames = (len(wal) - WAL_HEADER) // frame
    cuts = {0, 1, WAL_HEADER - 1, WAL_HEADER, WAL_HEADER + 1, len(wal) - 1, len(wal)}
    for boundary in rng.sample(range(1, frames), min(12, frames - 1)):
        offset = WAL_HEADER + boundary * frame
        cuts |= {offset - 1, offset, offset + 1, offset + FRAME_HEADER}
    cuts |= {rng.randrange(len(wal)) for _ in range(30)}
    variants = [(f"cut at {cut}", wal[:cut]) for cut in sorted(cuts)]

    def garbled(offsets: list[int]) -> bytes:
        data = bytearray(wal)
        for offset in offsets:
            data[offset] ^= rng.randrange(1, 256)
        return bytes(data)

    tail = len(wal) * 6 // 10
    for _ in range(15):  # a few bytes of the tail changed, as a bad sector or torn page would
        start = rng.randrange(tail, len(wal) - 16)
        offsets = [start + rng.randrange(16) for _ in range(rng.randint(1, 8))]
        variants.append((f"garbled at {min(offsets)}", garbled(offsets)))
    for index in rng.sample(range(frames * 6 // 10, frames), min(5, frames // 3)):
        start = WAL_HEADER + index * frame  # a frame header: page number, salts, checksums
        variants.append((f"frame {index} header garbled", garbled([start + rng.randrange(24)])))
    variants.append(("WAL header garbled", garbled([rng.randrange(WAL_HEADER)])))
    return variants


def _state_of(folder: Path, keys: MemoryKeyStore) -> tuple[State, str, list[str]]:
    """Open a copy like the app would: its drafts, its quick_check, drafts that do not open."""
    store = DraftStore(folder / STORE_NAME, keys)
    try:
        raw = store.engine.raw_connection()
        try:
            check = str(raw.cursor().execute("PRAGMA quick_check").fetchone()[0])
        finally:
            raw.close()
        state = dict(query(folder / STORE_NAME, "SELECT id, record_version FROM drafts"))
        wrong = []
        for draft_id, version in state.items():
            answers = store.load(draft_id).answers  # decrypts, or raises
            expected = answers_for(draft_id, version) if version else {}
            if answers != expected or answers.get(SAVE_NO, 0) != version:
                wrong.append(draft_id)  # ids only: a failure never prints answers
        return state, check, wrong
    finally:
        store.close()


def test_torn_or_garbled_wal_tail_keeps_a_prefix_of_commits(tmp_path: Path) -> None:
    """Acceptance test 3: torn or garbled WAL tail.

    A store with drafts in the main file and 40 more commits in its WAL is copied while open;
    the WAL copy is cut at many byte offsets (frame boundaries, next to them, anywhere) and,
    separately, garbled in its tail. Every copy opens with DraftStore, passes quick_check, and
    holds exactly the drafts of a prefix of the commits, in commit order, each decrypting.
    Longer cuts never keep fewer commits, and the whole WAL keeps all of them.
    """
    rng = random.Random(seed())
    keys = MemoryKeyStore(new_key())
    live = tmp_path / "live"
    live.mkdir()
    store, states = _commit_sequence(live, keys, rng)
    try:
        db = (live / STORE_NAME).read_bytes()
        wal = (live / f"{STORE_NAME}-wal").read_bytes()
    finally:
        store.close()
    assert len(wal) > WAL_HEADER, "the commits must still be in the WAL"

    kept: dict[str, int] = {}
    for number, (name, wal_copy) in enumerate(_variants(wal, rng)):
        copy = tmp_path / f"copy-{number}"
        copy.mkdir()
        (copy / STORE_NAME).write_bytes(db)
        (copy / f"{STORE_NAME}-wal").write_bytes(wal_copy)
        state, check, wrong = _state_of(copy, keys)
        assert check == "ok", name
        assert wrong == [], f"{name}: drafts that do not open to their saved answers"
        assert state in states, f"{name}: not a prefix of the commits"
        kept[name] = states.index(state)
        shutil.rmtree(copy)

    print(f"commits kept per variant: {kept}")
    cuts = sorted((int(n.split()[-1]), k) for n, k in kept.items() if n.startswith("cut at "))
    assert [k for _, k in cuts] == sorted(k for _, k in cuts), "a longer cut kept fewer commits"
    assert kept[f"cut at {len(wal)}"] == len(states) - 1, "the whole WAL keeps every commit"
    assert kept["cut at 0"] == 0 and kept["WAL header garbled"] == 0
    assert len(set(kept.values())) > 10, "the cuts must land at many different commits"
    assert canary_hits(tmp_path) == []
