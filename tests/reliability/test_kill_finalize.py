"""Acceptance test 2 (security.md): kill -9 around finalize."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from desk.store.crypto import new_key
from desk.store.drafts import DRAFT, READY, DraftStore
from desk.store.keys import MemoryKeyStore
from tests.reliability.rounds import kill_rounds, seed
from tests.reliability.workload import STORE_NAME, canary_hits, integrity, payload_for, query

FINALIZED = "application.finalized"


def _run(tmp_path: Path, rounds: int) -> None:
    rng = random.Random(seed())
    key = new_key()
    acked: dict[str, set[str]] = {"CREATED": set(), "SAVED": set(), "FINAL": set()}

    def on_line(line: str) -> None:
        if line.startswith("ACK "):
            _, what, draft_id = line.split()
            acked[what].add(draft_id)

    # Kill a random moment after a save was acknowledged: finalize is what runs next.
    kills = kill_rounds("finalize", tmp_path, key, rounds, rng, on_line,
                        kill_after=lambda line: line.startswith("ACK SAVED "), most=4)
    assert kills == rounds
    print({what: len(ids) for what, ids in acked.items()})
    assert acked["FINAL"], "the workers must have finalized between kills"
    assert canary_hits(tmp_path) == []

    db = tmp_path / STORE_NAME
    store = DraftStore(db, MemoryKeyStore(key))
    try:
        assert integrity(db) == "ok"
        statuses = dict(query(db, "SELECT id, status FROM drafts"))
        assert sorted(acked["CREATED"] - set(statuses)) == [], "acknowledged drafts lost"
        assert sorted(d for d in acked["FINAL"] if statuses[d] != READY) == [], (
            "acknowledged finalize lost"
        )
        outbox = dict(query(db, "SELECT application_id, count(*) FROM outbox GROUP BY 1"))
        between = []
        for draft_id, status in statuses.items():
            entries = query(db, "SELECT count(*) FROM audit WHERE action = ? AND subject = ?",
                            (FINALIZED, draft_id))[0][0]
            rows = outbox.get(draft_id, 0)
            if (status, rows, entries) not in {(DRAFT, 0, 0), (READY, 1, 1)}:
                between.append(f"{draft_id}: {status}, {rows} outbox rows, {entries} audit")
        assert between == [], "applications between draft and finalized"
        assert sorted(set(outbox) - set(statuses)) == [], "outbox rows without a draft"
        chain = store.audit_log().verify()  # a kill mid-append must not break the chain
        assert chain.ok, f"audit chain broken at entry {chain.first_broken}: {chain.reason}"

        ready = sorted(d for d, s in statuses.items() if s == READY)
        assert ready, "some applications must have been finalized"
        claimed = store.claim_due(dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                                  limit=len(ready) + 1)
        assert sorted(e.application_id for e in claimed) == ready
        # Compared here, not in an assert, so a failure never prints the payloads.
        wrong = [e.application_id for e in claimed if e.payload != payload_for(e.application_id)]
        assert wrong == [], "payloads that do not open to what was finalized"
    finally:
        store.close()
    assert canary_hits(tmp_path) == []


def test_kill_9_around_finalize_leaves_draft_or_application(tmp_path: Path) -> None:
    """Acceptance test 2, default run: 50 kill -9 rounds of create → save → finalize.

    Afterwards every draft is either a DRAFT with no outbox row and no finalized audit entry,
    or READY with exactly one outbox row and exactly one `application.finalized` audit entry;
    never in between. Acknowledged finalizes are READY and their payloads open.
    """
    _run(tmp_path, 50)


@pytest.mark.slow
def test_kill_9_around_finalize_200_rounds(tmp_path: Path) -> None:
    """Acceptance test 2, slow run: the same with 200 kill -9 rounds."""
    _run(tmp_path, 200)
