"""Client side of the sync benchmarks, run in a child process so its memory is its own.

`python -m tests.bench.sync_child` reads one JSON spec on stdin and prints one JSON result on
stdout. Modes: ``drain`` (the real outbox), ``bare`` (one httpx keep-alive client posting the
same bodies), ``idle`` (imports and opens the store, nothing else: the memory baseline) and
``load`` (many simulated devices at once against the gateway). The gateway never runs here.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

TOKEN_PATH = "/oauth2/token"
APPLICATIONS_PATH = "/madoguchi/v1/applications"
IDEMPOTENCY_KEY = "Idempotency-Key"

# A pass that moved nothing while items are still owed means they wait for a retry time; this
# is how long the drain keeps polling after its last progress before it gives up.
_STALL_LIMIT_S = 120.0


def peak_rss_bytes() -> int:
    """This process's peak resident set size (VmHWM on Linux, else ru_maxrss)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource  # not on Windows; Linux answers above, macOS here

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _open_store(spec: dict[str, Any]) -> Any:
    from desk.store.drafts import DraftStore
    from desk.store.keys import MemoryKeyStore

    keys = MemoryKeyStore(bytes.fromhex(spec["key_hex"]), spec["key_id"])
    return DraftStore(Path(spec["store"]), keys)


def _credentials(data: dict[str, Any]) -> Any:
    from sync.protocol import DeviceCredentials

    return DeviceCredentials.model_validate(data)


def idle(spec: dict[str, Any]) -> dict[str, Any]:
    """What the drain costs before it sends anything: its imports and the opened store."""
    # The drain's own imports, for their memory.
    from sync.client import LinkageClient
    from sync.outbox import deliver_due

    store = _open_store(spec)
    try:
        _credentials(spec["credentials"])
        assert LinkageClient is not None and deliver_due is not None
    finally:
        store.close()
    return {"peak_rss_bytes": peak_rss_bytes()}


def drain(spec: dict[str, Any]) -> dict[str, Any]:
    """Run `deliver_due` until the outbox holds nothing more to send; time the whole drain."""
    from sync.client import LinkageClient
    from sync.outbox import deliver_due

    expected = int(spec["expected"])
    store = _open_store(spec)
    client = LinkageClient(spec["url"], credentials=_credentials(spec["credentials"]))
    received = attention = retries = passes = 0
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        last_progress = start
        while received + attention < expected:
            report = deliver_due(store, client)
            passes += 1
            received += len(report.received)
            attention += len(report.needs_attention)
            retries += len(report.retrying)
            now = time.perf_counter()
            if report.received or report.needs_attention:
                last_progress = now
            elif now - last_progress > _STALL_LIMIT_S:
                break
            elif not report.retrying:
                time.sleep(0.05)  # nothing due yet: the retried items wait for their time
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        client.close()
        store.close()
    return {"received": received, "needs_attention": attention, "retries": retries,
            "passes": passes, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "peak_rss_bytes": peak_rss_bytes()}


def _token(http: httpx.Client, credentials: dict[str, Any]) -> str:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                         auth=(credentials["client_id"], credentials["client_secret"]))
    response.raise_for_status()
    return str(response.json()["access_token"])


def bare(spec: dict[str, Any]) -> dict[str, Any]:
    """Post the prepared bodies in order on one keep-alive connection: the fastest a client
    can go, with none of the outbox's work (store, decryption, validation, bookkeeping)."""
    lines = Path(spec["bodies"]).read_bytes().splitlines()
    bodies = [tuple(line.split(b"\t", 1)) for line in lines]
    ok = errors = refreshed = 0
    with httpx.Client(base_url=spec["url"], timeout=30.0) as http:
        start, cpu_start = time.perf_counter(), time.process_time()
        auth = {"Authorization": f"Bearer {_token(http, spec['credentials'])}"}
        for key, body in bodies:
            headers = {**auth, IDEMPOTENCY_KEY: key.decode("ascii"),
                       "Content-Type": "application/json"}
            response = http.post(APPLICATIONS_PATH, content=body, headers=headers)
            if response.status_code == 401:  # the token ran out: what the real client does
                refreshed += 1
                auth = {"Authorization": f"Bearer {_token(http, spec['credentials'])}"}
                headers.update(auth)
                response = http.post(APPLICATIONS_PATH, content=body, headers=headers)
            if response.is_success:
                ok += 1
            else:
                errors += 1
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {"received": ok, "errors": errors, "refreshed": refreshed, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "peak_rss_bytes": peak_rss_bytes()}


async def _device(url: str, credentials: dict[str, Any], bodies: list[tuple[str, bytes]],
                  ready: asyncio.Barrier, latencies: list[int], failures: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
        response = await http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                   auth=(credentials["client_id"], credentials["client_secret"]))
        response.raise_for_status()
        auth = f"Bearer {response.json()['access_token']}"
        await ready.wait()  # every device has its token: the timed load starts together
        clock = time.perf_counter_ns
        for key, body in bodies:
            headers = {"Authorization": auth, IDEMPOTENCY_KEY: key,
                       "Content-Type": "application/json"}
            start = clock()
            try:
                reply = await http.post(APPLICATIONS_PATH, content=body, headers=headers)
            except httpx.HTTPError as exc:
                failures.append(type(exc).__name__)
                continue
            latencies.append(clock() - start)
            if not reply.is_success:
                failures.append(str(reply.status_code))


async def _load(spec: dict[str, Any],
                make_body: Callable[[str, str, int], bytes]) -> dict[str, Any]:
    from desk.ids import new_ulid

    devices: list[dict[str, Any]] = spec["devices"]
    total = int(spec["submissions"])
    plans: list[list[tuple[str, bytes]]] = [[] for _ in devices]
    for n in range(total):  # round-robin, so the devices share the total evenly
        slot = n % len(devices)
        application_id = new_ulid()
        plans[slot].append((application_id,
                            make_body(application_id, devices[slot]["device_id"], n)))
    latencies: list[int] = []
    failures: list[str] = []
    started = asyncio.Barrier(len(devices) + 1)
    tasks = [asyncio.create_task(_device(spec["url"], device, plan, started, latencies,
                                         failures))
             for device, plan in zip(devices, plans, strict=True)]
    await started.wait()
    start = time.perf_counter()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - start
    return {"requests": total, "ok": total - len(failures), "errors": len(failures),
            "error_kinds": sorted(set(failures)), "seconds": seconds,
            "latencies_ns": latencies}


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Every device submits its share of the total at once, each on its own connection."""
    from tests.bench.sync_figures import wire_body

    return asyncio.run(_load(spec, wire_body))


MODES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "idle": idle, "drain": drain, "bare": bare, "load": load,
}


def main() -> int:
    """Read the spec from stdin, run its mode, print the result as one JSON line."""
    spec = json.loads(sys.stdin.read())
    run = MODES[spec["mode"]]
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(run, spec)
        profiler.dump_stats(spec["profile"])
    else:
        result = run(spec)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
