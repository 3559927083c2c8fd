"""Several gateway workers on one database: no state in the process, one record per key."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from sync.protocol import DeviceCredentials
from tests.sync.conftest import fetch_token

APPLICATIONS = "/madoguchi/v1/applications"
PayloadJson = Callable[..., dict[str, Any]]


@pytest.fixture
def workers(gateway_db_url: str) -> Iterator[list[RunningGateway]]:
    """Two gateway servers (each its own app, engine and pool) on one database."""
    running = [start_in_thread(gateway_db_url), start_in_thread(gateway_db_url)]
    try:
        yield running
    finally:
        for worker in running:
            worker.stop()


@pytest.fixture
def kiosk(workers: list[RunningGateway]) -> DeviceCredentials:
    return add_device(workers[0].db_url, tenant_code="131016", mode="kiosk",
                      device_id="KIOSK-TEST")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_from_one_worker_works_on_the_other(
    workers: list[RunningGateway], kiosk: DeviceCredentials
) -> None:
    token = fetch_token(workers[0].url, kiosk)
    response = httpx.get(f"{workers[1].url}/madoguchi/v1/meta", headers=_auth(token))
    assert response.status_code == 200
    assert response.json()["result"][0]["deviceId"] == "KIOSK-TEST"


def test_one_submission_sent_to_both_at_once_is_one_record(
    workers: list[RunningGateway], kiosk: DeviceCredentials, make_payload_json: PayloadJson
) -> None:
    token = fetch_token(workers[1].url, kiosk)
    rounds = 6
    bodies = [make_payload_json() for _ in range(rounds)]
    answers: list[list[httpx.Response]] = [[] for _ in range(rounds)]
    start = threading.Barrier(4)

    def send(worker: RunningGateway, body: dict[str, Any], into: list[httpx.Response]) -> None:
        key = {"Idempotency-Key": body["metadata"]["applicationId"]}
        with httpx.Client(base_url=worker.url, timeout=30.0, headers=_auth(token)) as http:
            start.wait()
            into.append(http.post(APPLICATIONS, json=body, headers=key))

    for body, into in zip(bodies, answers, strict=True):
        # Two requests to each worker, all four at the same moment.
        threads = [threading.Thread(target=send, args=(workers[i % 2], body, into))
                   for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for into in answers:
        assert [r.status_code for r in into] == [201] * 4
        assert len({r.content for r in into}) == 1
        assert sum("Idempotent-Replayed" not in r.headers for r in into) == 1
    store = GatewayStore(workers[0].db_url)
    try:
        stored = store.applications()
    finally:
        store.close()
    assert len(stored) == rounds
    assert sorted(a.seq for a in stored) == list(range(1, rounds + 1))


def test_a_feed_reader_never_skips_a_change(
    workers: list[RunningGateway],
    kiosk: DeviceCredentials,
    make_payload_json: PayloadJson,
) -> None:
    # Submissions through both workers while a reader polls with its cursor: since positions
    # become visible in order, the reader sees each application once, none skipped.
    token = fetch_token(workers[0].url, kiosk)
    total = 30
    done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        cursor = 0
        with httpx.Client(base_url=workers[1].url, timeout=30.0, headers=_auth(token)) as http:
            while True:
                finished = done.is_set()
                page = http.get(APPLICATIONS, params={"cursor": cursor}).json()["result"]
                seen.extend(item["applicationId"] for item in page)
                cursor = page[-1]["seq"] if page else cursor
                if finished and not page:
                    return

    def write(worker: RunningGateway, bodies: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=worker.url, timeout=30.0, headers=_auth(token)) as http:
            for body in bodies:
                key = {"Idempotency-Key": body["metadata"]["applicationId"]}
                assert http.post(APPLICATIONS, json=body, headers=key).status_code == 201

    bodies = [make_payload_json() for _ in range(total)]
    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(workers[i], bodies[i::2])) for i in (0, 1)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join(30)
    assert sorted(seen) == sorted(b["metadata"]["applicationId"] for b in bodies)


def test_competing_status_reports_on_two_workers(
    workers: list[RunningGateway], kiosk: DeviceCredentials, make_payload_json: PayloadJson
) -> None:
    backoffice = add_device(workers[0].db_url, tenant_code="131016", mode="backoffice")
    kiosk_token = fetch_token(workers[0].url, kiosk)
    office_token = fetch_token(workers[1].url, backoffice)
    body = make_payload_json()
    application_id = body["metadata"]["applicationId"]
    created = httpx.post(f"{workers[0].url}{APPLICATIONS}", json=body,
                         headers=_auth(kiosk_token) | {"Idempotency-Key": application_id})
    assert created.status_code == 201

    results: list[int] = []
    start = threading.Barrier(2)

    def report(worker: RunningGateway, status: str) -> None:
        start.wait()
        response = httpx.post(f"{worker.url}{APPLICATIONS}/{application_id}/status",
                              json={"status": status, "version": 1},
                              headers=_auth(office_token), timeout=30.0)
        results.append(response.status_code)

    threads = [threading.Thread(target=report, args=(workers[0], "FORWARDED")),
               threading.Thread(target=report, args=(workers[1], "ERROR"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    status = httpx.get(f"{workers[0].url}{APPLICATIONS}/{application_id}",
                       headers=_auth(kiosk_token)).json()["result"][0]
    assert status["version"] == 2
    assert [e["status"] for e in status["history"]] == ["RECEIVED", status["status"]]
