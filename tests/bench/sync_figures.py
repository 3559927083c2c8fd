"""Figures of the linkage: outbox drain vs. a bare httpx loop, client memory, gateway under load.

Targets (issue 5, not asserted here): the outbox drains at ≥ 0.8 × the rate of a bare httpx
keep-alive loop posting the same bodies to the same gateway; the client's peak memory during a
10,000-application drain ≤ 300 MB; the gateway serves 50 concurrent devices with zero errors.

The gateway runs as ``madoguchi gateway`` does (``sync.gateway.server.serve``) in its own
process, on a fresh SQLite file for every run, so every submission is a real insert; every
client runs in another child (``tests.bench.sync_child``), so its memory is its own and it never
competes with the gateway for one interpreter lock.
Every baseline runs in the same run, in alternating order.

``python -m tests.bench.sync_figures --drain 1000 --profile build/bench/prof`` runs just these
figures, and with ``--profile`` also writes cProfile data of the drain and the bare loop.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.bench.figures import Figure
from tests.bench.stats import NS_PER_MS, p95
from tests.bench.store_figures import ANSWERS_50, PROCEDURES

ROOT = Path(__file__).resolve().parents[2]
TENANT = "131016"  # 千代田区, the fake tenant of every test
DRAIN_DEVICE = "KIOSK-BENCH"
DRAIN_DESK = "kiosk-01"
DRAIN_SIZE_ENV = "MADOGUCHI_BENCH_DRAIN"
LOAD_SIZE_ENV = "MADOGUCHI_BENCH_LOAD"
DEFAULT_DRAIN = 10_000
DEFAULT_LOAD = 2_000
HOST = "127.0.0.1"
MB = 1_000_000  # decimal megabytes: the larger number, so the 300 MB target is not flattered

_GATEWAY_START_S = 20.0
_GATEWAY_STOP_S = 10.0
_ITEMS = list(ANSWERS_50.items())
_CONSENT = "申請内容を市区町村の担当課へ送信することに同意します。"


# -- payloads ----------------------------------------------------------------------------------


def payload_json(application_id: str, device_id: str, variant: int) -> dict[str, Any]:
    """A fake application in wire form, 2–4 KB: one to three procedures of one visit.

    The first procedure carries 30 to 50 items of the 50-item moving-in visit, each further
    procedure 5 to 10 items; ``variant`` picks the shape, so the queue is not one body repeated.
    """
    count = 1 + variant % len(PROCEDURES)
    procedures = []
    for n, procedure_id in enumerate(PROCEDURES[:count]):
        size = 30 + (variant * 7) % 21 if n == 0 else 5 + (variant + n) % 6
        start = 0 if n == 0 else (variant * 3 + n * 11) % (len(_ITEMS) - size)
        procedures.append({"procedureId": procedure_id, "formVersion": "1",
                           "data": dict(_ITEMS[start:start + size])})
    captured = "2026-05-12T10:14:55+09:00"
    return {
        "metadata": {
            "applicationId": application_id,
            "schemaVersion": "madoguchi-app/1",
            "dataListEdition": "2023-09",
            "shikuchosonkodo": TENANT,
            "deviceId": device_id,
            "channel": "kiosk",
            "capturedAt": captured,
        },
        "procedures": procedures,
        "consent": {"purpose": _CONSENT, "agreedAt": captured},
    }


def encode_body(payload: dict[str, Any]) -> bytes:
    """The bytes httpx sends for ``json=payload`` (compact, UTF-8, no NaN)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()


def sent_body(stored: dict[str, Any]) -> bytes:
    """The request body the outbox makes of a payload it stored.

    The store keeps JSON with sorted keys; the outbox reads it into the model and dumps it,
    so fields come in model order and free-form data in sorted order.
    """
    from sync.protocol import ApplicationPayload

    as_stored = json.loads(json.dumps(stored, sort_keys=True))
    model = ApplicationPayload.model_validate(as_stored)
    return encode_body(model.model_dump(mode="json", by_alias=True))


def wire_body(application_id: str, device_id: str, variant: int) -> bytes:
    """The request body of one fake application, as the real client would send it."""
    return sent_body(payload_json(application_id, device_id, variant))


# -- the queue ---------------------------------------------------------------------------------


def build_queue(path: Path, key: bytes, key_id: str, count: int, bodies: Path) -> int:
    """Create and finalize `count` applications in a new store; write their bodies for the
    bare loop (``id TAB body`` per line). Returns the total size of the bodies in bytes.

    Every application goes through the store's own `create` and `finalize` (its data key,
    the sealed outbox row, the audit entries), one durable transaction each, as at a kiosk.
    """
    from desk.store.drafts import DraftStore
    from desk.store.keys import MemoryKeyStore
    from sync.mapping import payload_to_json
    from sync.protocol import ApplicationPayload

    store = DraftStore(path, MemoryKeyStore(key, key_id))
    total = 0
    try:
        with bodies.open("wb") as out:
            for n in range(count):
                procedures = PROCEDURES[: 1 + n % len(PROCEDURES)]
                draft = store.create(procedures, mode="kiosk", desk_id=DRAIN_DESK,
                                     position="shimei")
                model = ApplicationPayload.model_validate(
                    payload_json(draft.id, DRAIN_DEVICE, n))
                stored = payload_to_json(model)
                store.finalize(draft.id, stored)
                body = sent_body(stored)
                total += len(body)
                out.write(draft.id.encode("ascii") + b"\t" + body + b"\n")
    finally:
        store.close()  # the last connection checkpoints the WAL into the file
    return total


def _copy_store(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        part = source.with_name(source.name + suffix)
        if part.exists():
            shutil.copyfile(part, target.with_name(target.name + suffix))


# -- the gateway and the children --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _serve(db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``sync.gateway.server.serve`` (what ``madoguchi gateway`` runs) in a child."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from sync.gateway.server import serve; "
                               "serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])",
         HOST, str(port), db_url],
        cwd=ROOT, env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + _GATEWAY_START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    _stop(process)
    raise RuntimeError("bench gateway did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()  # uvicorn finishes its requests and closes the database
    try:
        process.wait(_GATEWAY_STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr is not None:
        process.stderr.close()


@dataclass(frozen=True)
class BenchGateway:
    """A running bench gateway and the kiosks registered on it."""

    url: str
    db_path: str
    credentials: list[dict[str, Any]]  # DeviceCredentials as JSON data, one per device id
    pid: int | None  # its process; None when it serves from a thread of this process

    def cpu_seconds(self) -> float | None:
        """CPU time the gateway process has used so far (Linux), else None."""
        return process_cpu_seconds(self.pid) if self.pid is not None else None


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "; the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _gateway(db_url: str, in_thread: bool) -> Iterator[tuple[str, int | None]]:
    if in_thread:
        from sync.gateway.server import start_in_thread

        running = start_in_thread(db_url)
        try:
            yield running.url, None
        finally:
            running.stop()
    else:
        process, url = _serve(db_url)
        try:
            yield url, process.pid
        finally:
            _stop(process)


@contextmanager
def fresh_gateway(folder: Path, device_ids: list[str], *,
                  in_thread: bool = False) -> Iterator[BenchGateway]:
    """A gateway serving a new SQLite file, with one kiosk registered per device id.

    By default in its own process, as in production (``madoguchi gateway``): it never shares
    an interpreter with the client under measurement, nor with this process. `in_thread`
    serves from a thread of this process instead (``start_in_thread``, as the tests do):
    quicker to start, for the tiny-size tests.
    """
    from sync.gateway.admin import add_device

    db_path = folder / f"gateway-{secrets.token_hex(4)}.db"
    db_url = f"sqlite:///{db_path}"
    with _gateway(db_url, in_thread) as (url, pid):
        credentials = [
            add_device(db_url, tenant_code=TENANT, mode="kiosk",
                       device_id=device_id).model_dump(mode="json")
            for device_id in device_ids
        ]
        yield BenchGateway(url, str(db_path), credentials, pid)


def received_count(db_path: str) -> int:
    """How many applications the gateway database holds (read with plain sqlite3)."""
    from sync.gateway.models import ReceivedApplication

    connection = sqlite3.connect(db_path)
    try:
        table = ReceivedApplication.__tablename__
        (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    finally:
        connection.close()
    return int(count)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one client in a fresh interpreter; return its JSON result."""
    process = subprocess.run(
        [sys.executable, "-m", "tests.bench.sync_child"], input=json.dumps(spec),
        capture_output=True, text=True, cwd=ROOT, env=_child_env(), check=False,
    )
    if process.returncode != 0:
        raise RuntimeError(f"bench child '{spec['mode']}' failed "
                           f"(exit {process.returncode}):\n{process.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


# -- 1./2. the drain: rate vs. the bare loop, client memory vs. the idle client ------------------


def drain_size() -> int:
    """Applications to drain: ``$MADOGUCHI_BENCH_DRAIN`` or 10,000."""
    return int(os.environ.get(DRAIN_SIZE_ENV, DEFAULT_DRAIN))


def drain(count: int | None = None, rounds: int = 2, profile_dir: Path | None = None,
          in_thread: bool = False) -> dict[str, Figure]:
    """Drain a queue of finalized applications through the real outbox vs. the bare loop.

    Each round runs both sides, each against its own fresh gateway, the order swapped every
    round; each round also runs the idle client once (imports and the opened store only).
    """
    count = drain_size() if count is None else count
    key, key_id = secrets.token_bytes(32), "bench-1"
    outbox_runs: list[dict[str, Any]] = []
    bare_runs: list[dict[str, Any]] = []
    idle_runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        folder = Path(tmp)
        queue, bodies = folder / "queue.sqlite3", folder / "bodies.tsv"
        body_bytes = build_queue(queue, key, key_id, count, bodies)
        common = {"key_hex": key.hex(), "key_id": key_id}
        for n in range(rounds):
            for side in ("drain", "bare") if n % 2 == 0 else ("bare", "drain"):
                with fresh_gateway(folder, [DRAIN_DEVICE], in_thread=in_thread) as gateway:
                    spec: dict[str, Any] = {**common, "mode": side, "url": gateway.url,
                                            "credentials": gateway.credentials[0],
                                            "expected": count}
                    if side == "drain":
                        store = folder / f"outbox-{n}.sqlite3"
                        _copy_store(queue, store)
                        spec["store"] = str(store)
                    else:
                        spec["bodies"] = str(bodies)
                    if profile_dir is not None and n == 0:
                        spec["profile"] = str(profile_dir / f"{side}.prof")
                    cpu_before = gateway.cpu_seconds()
                    result = run_child(spec)
                    cpu_after = gateway.cpu_seconds()
                    if cpu_before is not None and cpu_after is not None:
                        result["gateway_cpu_seconds"] = cpu_after - cpu_before
                    held = received_count(gateway.db_path)
                    if held != count or result["received"] != count:
                        raise RuntimeError(f"bench {side}: gateway holds {held}, "
                                           f"client counted {result['received']} of {count}")
                (outbox_runs if side == "drain" else bare_runs).append(result)
            idle_runs.append(run_child({**common, "mode": "idle", "store": str(queue),
                                        "credentials": gateway.credentials[0]}))

    def rate(runs: list[dict[str, Any]]) -> float:
        return sum(r["received"] for r in runs) / sum(r["seconds"] for r in runs)

    def cpu_ms_per_app(runs: list[dict[str, Any]], key: str) -> float:
        return sum(r[key] for r in runs) / sum(r["received"] for r in runs) * 1000

    failures = sum(r["retries"] + r["needs_attention"] for r in outbox_runs)
    figures: dict[str, Figure] = {
        "sync_drain_rate": (rate(outbox_runs), "apps/s", rate(bare_runs)),
        # CPU per application: what each side costs, whatever else the machine is doing.
        "sync_drain_client_cpu_per_app": (cpu_ms_per_app(outbox_runs, "cpu_seconds"), "ms",
                                          cpu_ms_per_app(bare_runs, "cpu_seconds")),
        "sync_drain_client_peak_rss": (max(r["peak_rss_bytes"] for r in outbox_runs) / MB, "MB",
                                       max(r["peak_rss_bytes"] for r in idle_runs) / MB),
        "sync_drain_failures": (float(failures), "count",
                                float(sum(r["errors"] for r in bare_runs))),
        "sync_drain_applications": (float(count), "apps", None),
        "sync_drain_body_mean_bytes": (body_bytes / count if count else 0.0, "bytes", None),
    }
    if all("gateway_cpu_seconds" in r for r in outbox_runs + bare_runs):
        figures["sync_drain_gateway_cpu_per_app"] = (
            cpu_ms_per_app(outbox_runs, "gateway_cpu_seconds"), "ms",
            cpu_ms_per_app(bare_runs, "gateway_cpu_seconds"))
    return figures


# -- 3. the gateway under many devices at once -------------------------------------------------


def load_size() -> int:
    """Submissions per load run: ``$MADOGUCHI_BENCH_LOAD`` or 2,000."""
    return int(os.environ.get(LOAD_SIZE_ENV, DEFAULT_LOAD))


def gateway_load(devices: int = 50, submissions: int | None = None, rounds: int = 2,
                 in_thread: bool = False) -> dict[str, Figure]:
    """The same number of submissions from `devices` devices at once vs. from one device.

    Each simulated device has its own credentials, token and keep-alive connection; each run
    has its own fresh gateway, and the order of the two sides swaps every round.
    """
    submissions = load_size() if submissions is None else submissions
    sides: dict[int, list[dict[str, Any]]] = {devices: [], 1: []}
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        folder = Path(tmp)
        for n in range(rounds):
            for size in (devices, 1) if n % 2 == 0 else (1, devices):
                ids = [f"KIOSK-BENCH-{d:02d}" for d in range(1, size + 1)]
                with fresh_gateway(folder, ids, in_thread=in_thread) as gateway:
                    result = run_child({"mode": "load", "url": gateway.url,
                                        "devices": gateway.credentials,
                                        "submissions": submissions})
                    held = received_count(gateway.db_path)
                if held != result["ok"]:
                    raise RuntimeError(f"bench load: gateway holds {held}, "
                                       f"{result['ok']} answered 2xx")
                sides[size].append(result)

    def throughput(runs: list[dict[str, Any]]) -> float:
        return sum(r["requests"] for r in runs) / sum(r["seconds"] for r in runs)

    def p95_ms(runs: list[dict[str, Any]]) -> float:
        samples = [ns for r in runs for ns in r["latencies_ns"]]
        return p95(samples) / NS_PER_MS if samples else float("nan")

    def errors(runs: list[dict[str, Any]]) -> float:
        return float(sum(r["errors"] for r in runs))

    many, one = sides[devices], sides[1]
    name = f"sync_gateway_{devices}_devices"
    return {
        f"{name}_throughput": (throughput(many), "req/s", throughput(one)),
        f"{name}_p95": (p95_ms(many), "ms", p95_ms(one)),
        f"{name}_errors": (errors(many), "count", errors(one)),
    }


# -- standalone --------------------------------------------------------------------------------


def _print_profile(path: Path, top: int = 30) -> None:
    import pstats

    print(f"\n== {path.name}: top {top} by own time ==", file=sys.stderr)
    pstats.Stats(str(path), stream=sys.stderr).sort_stats("tottime").print_stats(top)
    print(f"== {path.name}: top {top} by cumulative time ==", file=sys.stderr)
    pstats.Stats(str(path), stream=sys.stderr).sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """Run only the sync figures and print them (``--profile`` adds cProfile output)."""
    from tests.bench.__main__ import _entry, _table

    parser = argparse.ArgumentParser(prog="python -m tests.bench.sync_figures")
    parser.add_argument("--drain", type=int, default=drain_size())
    parser.add_argument("--load", type=int, default=load_size())
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--in-thread", action="store_true",
                        help="serve the gateway from a thread of this process (start_in_thread)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="folder for cProfile data of the first round's drain and bare loop")
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        args.profile = args.profile.resolve()
    measured = drain(args.drain, rounds=args.rounds, profile_dir=args.profile,
                     in_thread=args.in_thread)
    if not args.skip_load:
        measured.update(gateway_load(args.devices, args.load, rounds=args.rounds,
                                     in_thread=args.in_thread))
    print(_table({name: _entry(*fig) for name, fig in measured.items()}))
    if args.profile is not None:
        for side in ("drain", "bare"):
            _print_profile(args.profile / f"{side}.prof")
    return 0


if __name__ == "__main__":
    sys.exit(main())
