"""`madoguchi gateway --workers 2` as real processes, beside an in-thread gateway, one database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from tests.sync.conftest import fetch_token

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = "/madoguchi/v1/applications"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 20.0
PayloadJson = Callable[..., dict[str, Any]]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    """Child process ids (Linux /proc); empty where that is not available."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


class GatewayProcess:
    """`madoguchi gateway` started as its own process, stopped by its own pid."""

    def __init__(self, db_url: str, workers: int, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "gateway", "--host", "127.0.0.1",
             "--port", str(self.port), "--db", db_url, "--workers", str(workers)],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited with {self.process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError("gateway did not start")

    def stop(self) -> int | None:
        workers = _children(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn stops its workers, then itself
            try:
                self.process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in workers:  # only if the supervisor died without stopping them
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()
        return self.process.returncode


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def shared_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def workers(shared_db_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    """`madoguchi gateway --workers 2` on the database."""
    started = GatewayProcess(shared_db_url, 2, tmp_path / "workers.log")
    try:
        started.wait_ready()
        yield started
    finally:
        code = started.stop()
    assert code == 0, (tmp_path / "workers.log").read_text(errors="replace")[-2000:]


@pytest.fixture
def in_thread(shared_db_url: str) -> Iterator[RunningGateway]:
    """A gateway in this test process on the same database (a process of its own kind)."""
    running = start_in_thread(shared_db_url)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="stops the workers with SIGINT (POSIX)")
def test_worker_processes_share_tokens_keys_and_numbers(
    workers: GatewayProcess, in_thread: RunningGateway, shared_db_url: str,
    make_payload_json: PayloadJson,
) -> None:
    multi, single = workers, in_thread
    if sys.platform.startswith("linux"):
        assert len(_children(multi.process.pid)) >= 2  # two workers (plus maybe a tracker)
    kiosk = add_device(shared_db_url, tenant_code="131016", mode="kiosk", device_id="KIOSK-TEST")
    # Issued in this process, used on the workers: always another process.
    auth = {"Authorization": f"Bearer {fetch_token(single.url, kiosk)}"}
    assert httpx.get(f"{multi.url}/madoguchi/v1/meta", headers=auth).status_code == 200

    rounds, copies = 8, 6
    bodies = [make_payload_json() for _ in range(rounds)]
    answers: list[list[httpx.Response]] = [[] for _ in range(rounds)]
    start = threading.Barrier(copies)

    def send(url: str, body: dict[str, Any], into: list[httpx.Response]) -> None:
        key = {"Idempotency-Key": body["metadata"]["applicationId"]}
        # A new connection each time, so the kernel spreads them over both workers.
        with httpx.Client(base_url=url, timeout=30.0, headers=auth | key) as http:
            start.wait()
            into.append(http.post(APPLICATIONS, json=body))

    for body, into in zip(bodies, answers, strict=True):
        threads = [threading.Thread(target=send, args=((multi, multi, single)[i % 3].url,
                                                        body, into)) for i in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    for into in answers:
        assert [r.status_code for r in into] == [201] * copies, [r.text for r in into]
        assert len({r.content for r in into}) == 1
        assert sum("Idempotent-Replayed" not in r.headers for r in into) == 1
    store = GatewayStore(shared_db_url)
    try:
        stored = store.applications()
    finally:
        store.close()
    assert len(stored) == rounds
    assert len({a.uketsuke_bango for a in stored}) == rounds
    assert sorted(a.seq for a in stored) == list(range(1, rounds + 1))
