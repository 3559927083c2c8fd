"""The sync benchmarks run end to end at tiny sizes, so they cannot rot between bench runs."""

from __future__ import annotations

import math
import secrets
from pathlib import Path

import httpx
import pytest

from desk.ids import new_ulid
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.protocol import ApplicationPayload
from tests.bench import sync_figures


def test_bench_payloads_are_valid_and_two_to_four_kb() -> None:
    sizes = []
    for variant in range(60):
        application_id = new_ulid()
        body = sync_figures.wire_body(application_id, "KIOSK-BENCH", variant)
        model = ApplicationPayload.model_validate_json(body)
        assert model.metadata.application_id == application_id
        assert model.metadata.shikuchosonkodo == sync_figures.TENANT
        sizes.append(len(body))
    assert min(sizes) >= 2_000 and max(sizes) <= 4_000
    assert len(set(sizes)) > 5  # the queue is not one body repeated


def test_bench_queue_holds_the_bodies_the_bare_loop_posts(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    queue, bodies = tmp_path / "queue.sqlite3", tmp_path / "bodies.tsv"

    total = sync_figures.build_queue(queue, key, "bench-1", 6, bodies)

    lines = dict(line.split(b"\t", 1) for line in bodies.read_bytes().splitlines())
    assert len(lines) == 6 and total == sum(len(body) for body in lines.values())
    store = DraftStore(queue, MemoryKeyStore(key, "bench-1"))
    try:
        due = store.claim_due()
    finally:
        store.close()
    assert len(due) == 6
    for entry in due:  # what the outbox sends is what the baseline sends
        sent = ApplicationPayload.model_validate(entry.payload).model_dump(mode="json",
                                                                          by_alias=True)
        assert sync_figures.encode_body(sent) == lines[entry.application_id.encode()]


def test_bench_drain_reports_outbox_and_bare_loop() -> None:
    figures = sync_figures.drain(count=8, rounds=1, in_thread=True)

    rate, unit, bare_rate = figures["sync_drain_rate"]
    assert unit == "apps/s" and rate > 0 and bare_rate is not None and bare_rate > 0
    peak, unit, idle_peak = figures["sync_drain_client_peak_rss"]
    assert unit == "MB" and idle_peak is not None and 0 < idle_peak <= peak
    assert figures["sync_drain_failures"] == (0.0, "count", 0.0)
    assert figures["sync_drain_applications"] == (8.0, "apps", None)
    cpu, unit, bare_cpu = figures["sync_drain_client_cpu_per_app"]
    assert unit == "ms" and cpu > 0 and bare_cpu is not None and bare_cpu > 0
    assert "sync_drain_gateway_cpu_per_app" not in figures  # in a thread: not its own


def test_bench_gateway_load_reports_many_devices_and_one() -> None:
    figures = sync_figures.gateway_load(devices=3, submissions=9, rounds=1,
                                          in_thread=True)

    throughput, unit, single = figures["sync_gateway_3_devices_throughput"]
    assert unit == "req/s" and throughput > 0 and single is not None and single > 0
    latency, unit, single_latency = figures["sync_gateway_3_devices_p95"]
    assert unit == "ms" and latency > 0 and single_latency is not None
    assert not math.isnan(single_latency)
    assert figures["sync_gateway_3_devices_errors"] == (0.0, "count", 0.0)


def test_bench_gateway_process_serves_registered_devices(tmp_path: Path) -> None:
    application_id = new_ulid()
    body = sync_figures.wire_body(application_id, "KIOSK-BENCH", 0)

    with sync_figures.fresh_gateway(tmp_path, ["KIOSK-BENCH"]) as gateway:
        url, credentials = gateway.url, gateway.credentials
        cpu = gateway.cpu_seconds()
        assert cpu is None or cpu > 0
        with httpx.Client(base_url=url) as http:
            token = http.post("/oauth2/token", data={"grant_type": "client_credentials"},
                              auth=(credentials[0]["client_id"],
                                    credentials[0]["client_secret"])).json()["access_token"]
            answer = http.post("/madoguchi/v1/applications", content=body,
                               headers={"Authorization": f"Bearer {token}",
                                        "Idempotency-Key": application_id,
                                        "Content-Type": "application/json"})
        assert answer.status_code == 201
        assert sync_figures.received_count(gateway.db_path) == 1
    with pytest.raises(httpx.TransportError):  # stopped with the block
        httpx.get(f"{url}/health", timeout=1.0)
