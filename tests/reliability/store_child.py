"""A child process that works on a real store until the parent kills it (kill -9 tests).

Usage: python -m tests.reliability.store_child STORE_PATH LOG_PATH, with the device key as hex
in MADOGUCHI_TEST_DEVICE_KEY. The process imports everything, says `LOADED`, then forks one
worker per `GO <workload> <seed>` line on stdin. Protocol on stdout, one flushed line each: the
worker says `PID <pid>`, `READY` once the store is open and `ACK …` after every committed
write; when it has ended (killed or not) the zygote says `EXIT <code>` (negative: a signal).
Nothing personal is ever printed, only ids and counters.

Workloads:
- autosave: create drafts and autosave 50-item answers; `ACK <draft_id> <record_version>`.
- finalize: create → save → finalize; `ACK CREATED <id>`, `ACK SAVED <id>`, `ACK FINAL <id>`.
- fsize: `WAITING` for SIGUSR1, an autosave under a file size limit (RLIMIT_FSIZE):
  `ERROR <message_id> <sqlite error>` (or `SAVED`), `WAITING` again, then `SAVED` once the
  limit is lifted.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path

from desk.errors import StoreError
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from tests.reliability.faults import file_size_limit
from tests.reliability.workload import (
    DESK,
    KEY_ENV,
    MODE,
    PROCEDURE,
    SAVE_NO,
    answers_for,
    payload_for,
)

SAFETY_SECONDS = 120  # a child the parent forgot ends by itself; not a test timing


def emit(line: str) -> None:
    """One protocol line, flushed at once: the parent counts only what it has read."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def autosave(store: DraftStore, rng: random.Random, deadline: float) -> None:
    """Create drafts and autosave them; continue a few drafts left by earlier rounds."""
    versions: dict[str, int] = {}
    earlier = store.resumable(mode=MODE, desk_id=DESK)
    for summary in rng.sample(earlier, min(3, len(earlier))):
        versions[summary.id] = int(store.load(summary.id).answers.get(SAVE_NO, 0))
    while time.monotonic() < deadline:
        if not versions or rng.random() < 0.25:
            draft = store.create([PROCEDURE], mode=MODE, desk_id=DESK, position="shimei")
            versions[draft.id] = 0
            emit(f"ACK {draft.id} 0")
            continue
        draft_id = rng.choice(sorted(versions))
        version = versions[draft_id] + 1
        store.save(draft_id, answers_for(draft_id, version), f"q{version % 50:02d}")
        versions[draft_id] = version
        emit(f"ACK {draft_id} {version}")


def finalize(store: DraftStore, rng: random.Random, deadline: float) -> None:
    """Loop create → save → finalize; first finish drafts an earlier round left unfinalized."""
    for summary in store.resumable(mode=MODE, desk_id=DESK):
        store.finalize(summary.id, payload_for(summary.id))
        emit(f"ACK FINAL {summary.id}")
    while time.monotonic() < deadline:
        draft = store.create([PROCEDURE], mode=MODE, desk_id=DESK, position="shimei")
        emit(f"ACK CREATED {draft.id}")
        store.save(draft.id, answers_for(draft.id, 1), "review")
        emit(f"ACK SAVED {draft.id}")
        if rng.random() < 0.1:  # now and then a draft stays unfinished for the next round
            continue
        store.finalize(draft.id, payload_for(draft.id))
        emit(f"ACK FINAL {draft.id}")


def fsize(store: DraftStore, rng: random.Random, deadline: float) -> None:
    """Autosave while the file size limit refuses growth, then again once it is lifted.

    The limit is set just above the largest store file and the answers are bigger than that,
    so the WAL cannot take the new frames (EFBIG). The worker waits for SIGUSR1 before the
    failing save and after it, so the parent can look at the store in between.
    """
    del rng, deadline
    (draft,) = store.resumable(mode=MODE, desk_id=DESK)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    emit("WAITING")
    signal.sigwait({signal.SIGUSR1})
    largest = max(p.stat().st_size for p in store.path.parent.glob(f"{store.path.name}*"))
    big = {**answers_for(draft.id, 2), "note": "窓口 太郎 " * (largest // 8 + 8192)}
    with file_size_limit(largest + 512):
        try:
            store.save(draft.id, big, "big")
            emit("SAVED")
        except StoreError as error:
            cause = getattr(error.__cause__, "orig", None)
            emit(f"ERROR {error.message_id} {getattr(cause, 'sqlite_errorname', '?')}")
    emit("WAITING")
    signal.sigwait({signal.SIGUSR1})
    store.save(draft.id, answers_for(draft.id, 2), "again")
    emit("SAVED")


WORKLOADS = {"autosave": autosave, "finalize": finalize, "fsize": fsize}


def worker(store_path: Path, workload: str, seed: int) -> None:
    """One round: open the store, say READY, run the workload until killed."""
    emit(f"PID {os.getpid()}")
    store = DraftStore(store_path, MemoryKeyStore(bytes.fromhex(os.environ[KEY_ENV])))
    emit("READY")
    WORKLOADS[workload](store, random.Random(seed), time.monotonic() + SAFETY_SECONDS)
    store.close()


def main(argv: list[str]) -> int:
    """Import once, then fork one worker per `GO <workload> <seed>` line and report its end."""
    store_path, log_path = argv
    # Everything the app would log, at DEBUG, goes to a file the parent scans for canaries.
    logging.basicConfig(filename=log_path, level=logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    emit("LOADED")
    for line in sys.stdin:
        _go, workload, seed = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                worker(Path(store_path), workload, int(seed))
            except Exception:  # noqa: BLE001 - any failure: traceback to stderr, the parent shows it
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)  # never back into the zygote's loop
        _, status = os.waitpid(pid, 0)
        emit(f"EXIT {os.waitstatus_to_exitcode(status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
