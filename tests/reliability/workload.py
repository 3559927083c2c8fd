"""What the reliability children write and what the parent checks: canary answers and file scans."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY_ENV = "MADOGUCHI_TEST_DEVICE_KEY"  # the device key, hex, so the parent can open the store
STORE_NAME = "store.sqlite3"
MODE, DESK = "kiosk", "lobby"
PROCEDURE = "juminhyo-utsushi"
SAVE_NO = "autosave_no"  # answers carry the record version they were saved as

# The fake resident of every test (security.md: fake personal data only). The scan looks for
# each of these in every file; none may ever appear outside ciphertext.
CANARIES = (
    "窓口 太郎", "窓口", "太郎", "マドグチ タロウ", "マドグチ", "1990-04-01", "621498320257",
    "永田町", "03-1234-5678", "100-0014", "1000014",
)


def answers_for(draft_id: str, save_no: int) -> dict[str, Any]:
    """The 50-item answers a child saves as save number `save_no` of a draft (deterministic)."""
    answers: dict[str, Any] = {
        SAVE_NO: save_no,
        "shimei": "窓口 太郎",
        "shimei_furigana": "マドグチ タロウ",
        "seinengappi": "1990-04-01",
        "kojin_bango": "621498320257",
        "jusho_yubinbango": "1000014",
        "jusho_choaza": "永田町",
        "denwa": "03-1234-5678",
        "draft": draft_id,
    }
    for i in range(len(answers), 50):
        canary = CANARIES[i % len(CANARIES)]
        answers[f"q{i:02d}"] = f"{canary} {save_no}-{i}"
    return answers


def payload_for(draft_id: str) -> dict[str, Any]:
    """The application payload a child finalizes a draft with."""
    return {
        "application_id": draft_id,
        "procedures": [{"id": PROCEDURE, "data": answers_for(draft_id, 1)}],
    }


# -- scanning -------------------------------------------------------------------------------


def canary_hits(folder: Path) -> list[str]:
    """Files under `folder` holding a canary in UTF-8 or UTF-16: "file: canary index".

    The canary itself is never part of the result, so a failure prints no personal data.
    """
    patterns = []
    for index, canary in enumerate(CANARIES):
        patterns.append((index, canary.encode()))
        # A 4-byte pattern turns up in a few MB of ciphertext by chance; scan UTF-16 only
        # for canaries long enough that a hit means plaintext.
        if len(canary) >= 4:
            patterns.append((index, canary.encode("utf-16-le")))
    hits: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found = sorted({index for index, pattern in patterns if pattern in data})
        hits.extend(f"{path.relative_to(folder)}: canary {index}" for index in found)
    return hits


def store_files(folder: Path) -> list[str]:
    """Names of the store's files present in `folder` (db, -wal, -shm)."""
    return sorted(p.name for p in folder.glob(f"{STORE_NAME}*"))


def integrity(db: Path) -> str:
    """`PRAGMA integrity_check` on its own connection (the full check, not quick_check)."""
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()
    return "\n".join(str(r[0]) for r in rows)


def query(db: Path, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
    """Run one read on its own connection."""
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, tuple(params)).fetchall()
    finally:
        connection.close()


# -- children -------------------------------------------------------------------------------


class Zygote:
    """`python -m tests.reliability.store_child`: imports once, forks one worker per round.

    Python's start-up (about half a second with SQLAlchemy and cryptography) would dominate
    hundreds of kill rounds; a fork of a process that has already imported everything takes
    milliseconds. Each worker is its own process that opens the store itself after the fork,
    so a SIGKILL ends it exactly as it would end the app: no cleanup, locks dropped by the OS.

    The workers write temp files into `folder/tmp` (TMPDIR), and stderr and a DEBUG log into
    `folder/logs`, so the canary scan covers everything they could leave behind.
    """

    def __init__(self, folder: Path, key: bytes) -> None:
        for sub in ("tmp", "logs"):
            (folder / sub).mkdir(exist_ok=True)
        self.stderr_path = folder / "logs" / "children.stderr"
        env = {
            **os.environ,
            KEY_ENV: key.hex(),
            "TMPDIR": str(folder / "tmp"),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.store_child",
                 str(folder / STORE_NAME), str(folder / "logs" / "children.log")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=folder / "tmp", env=env, text=True, encoding="utf-8",
            )
        self.pid = 0  # the current worker
        self.exit_code: int | None = None  # of the last worker: negative = killed by a signal
        self._expect("LOADED")

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.endswith("\n"):
            raise AssertionError(f"the store child ended unexpectedly:\n{self.stderr_tail()}")
        return line.rstrip("\n")

    def _expect(self, expected: str) -> str:
        line = self._line()
        if not line.startswith(expected):
            raise AssertionError(f"store child said {line!r}, expected {expected!r}")
        return line

    def start(self, workload: str, seed: int) -> int:
        """Fork a worker that opens the store and runs `workload`; returns its pid."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"GO {workload} {seed}\n")
        self.process.stdin.flush()
        self.pid = int(self._expect("PID ").split()[1])
        self.exit_code = None
        return self.pid

    def lines(self) -> Iterator[str]:
        """The worker's protocol lines (READY, ACK …) until it has ended."""
        while self.exit_code is None:
            line = self._line()
            if line.startswith("EXIT "):
                self.exit_code = int(line.split()[1])
                return
            yield line

    def kill(self) -> None:
        """SIGKILL the worker: no cleanup of any kind runs in it."""
        with contextlib.suppress(ProcessLookupError):  # it ended already: EXIT says how
            os.kill(self.pid, signal.SIGKILL)

    def finish(self) -> list[str]:
        """Wait for the worker's end; the lines it wrote that were not read yet."""
        return list(self.lines())

    def stderr_tail(self) -> str:
        """The end of the workers' stderr, unless it holds personal data (then only where)."""
        text = self.stderr_path.read_text(errors="replace")
        if any(canary in text for canary in CANARIES):
            return f"(see {self.stderr_path})"
        return text[-3000:]

    def close(self) -> None:
        """End the zygote (its worker must have ended)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait()
        self.process.stdout.close()
