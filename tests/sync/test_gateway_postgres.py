"""The core gateway scenarios on PostgreSQL, one gateway for the module (the full gateway API
suite runs on PostgreSQL too under `-m slow`; see tests/conftest.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.registry import seed_demo_registry
from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from tests.postgres import PostgresCluster
from tests.sync.conftest import OTHER_TENANT, TENANT, fetch_token

API = "/madoguchi/v1"
APPLICATIONS = f"{API}/applications"
PayloadJson = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def pg_gateway(postgres_cluster: PostgresCluster, postgres_template: str
               ) -> Iterator[RunningGateway]:
    """One gateway on a PostgreSQL database of its own, its registry seeded for 131016."""
    name = postgres_cluster.create_database(template=postgres_template)
    running = start_in_thread(postgres_cluster.url(name))
    try:
        seed_demo_registry(running.db_url, TENANT)
        yield running
    finally:
        running.stop()
        postgres_cluster.drop_database(name)


class Device:
    """A device registered on the module's gateway, with a keep-alive client and a token."""

    def __init__(self, gateway: RunningGateway, tenant: str, mode: str, device_id: str,
                 *, privileged: bool = False) -> None:
        self.credentials = add_device(gateway.db_url, tenant_code=tenant, mode=mode,
                                      device_id=device_id, privileged=privileged)
        token = fetch_token(gateway.url, self.credentials)
        self.http = httpx.Client(base_url=gateway.url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {token}"})

    def submit(self, body: dict[str, Any]) -> httpx.Response:
        metadata = body["metadata"]
        metadata.update(deviceId=self.credentials.device_id, channel=self.credentials.mode,
                        shikuchosonkodo=self.credentials.tenant_code)
        return self.http.post(APPLICATIONS, json=body,
                              headers={"Idempotency-Key": metadata["applicationId"]})


@pytest.fixture(scope="module")
def devices(pg_gateway: RunningGateway) -> Iterator[dict[str, Device]]:
    made = {
        "kiosk": Device(pg_gateway, TENANT, "kiosk", "PG-KIOSK"),
        "counter": Device(pg_gateway, TENANT, "counter", "PG-COUNTER"),
        "privileged": Device(pg_gateway, TENANT, "counter", "PG-PRIV", privileged=True),
        "backoffice": Device(pg_gateway, TENANT, "backoffice", "PG-OFFICE"),
        "other": Device(pg_gateway, OTHER_TENANT, "kiosk", "PG-KIOSK"),
        "other_counter": Device(pg_gateway, OTHER_TENANT, "counter", "PG-COUNTER"),
    }
    try:
        yield made
    finally:
        for device in made.values():
            device.http.close()


def _codes(response: httpx.Response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_submit_replay_and_conflict(
    devices: dict[str, Device], make_payload_json: PayloadJson
) -> None:
    kiosk = devices["kiosk"]
    body = make_payload_json()
    first = kiosk.submit(body)
    assert first.status_code == 201, first.text
    again = kiosk.submit(body)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.content == first.content
    body["procedures"][0]["data"]["shimei"] = "窓口　次郎"
    conflict = kiosk.submit(body)
    assert (conflict.status_code, _codes(conflict)) == (409, ["E1009"])


def test_another_tenant_sees_nothing(
    devices: dict[str, Device], make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    application_id = body["metadata"]["applicationId"]
    assert devices["kiosk"].submit(body).status_code == 201
    other = devices["other"]
    unknown = other.http.get(f"{APPLICATIONS}/01J0000000000000000000ZZZZ")
    foreign = other.http.get(f"{APPLICATIONS}/{application_id}")
    assert foreign.status_code == unknown.status_code == 404
    without_links = [{k: v for k, v in r.json().items() if k != "_links"}
                     for r in (foreign, unknown)]
    assert without_links[0] == without_links[1]
    assert other.http.get(APPLICATIONS, params={"cursor": 0}).json()["result"] == []


def test_lifecycle_feed_and_outbound(
    devices: dict[str, Device], make_payload_json: PayloadJson
) -> None:
    kiosk, office = devices["kiosk"], devices["backoffice"]
    cursor = max([0, *(item["seq"] for item in
                       kiosk.http.get(APPLICATIONS, params={"cursor": 0, "limit": 100})
                       .json()["result"])])
    body = make_payload_json()
    application_id = body["metadata"]["applicationId"]
    assert kiosk.submit(body).status_code == 201
    report = f"{APPLICATIONS}/{application_id}/status"
    assert office.http.post(report, json={"status": "FORWARDED", "version": 1}).status_code == 200
    stale = office.http.post(report, json={"status": "IN_REVIEW", "version": 1})
    assert (stale.status_code, _codes(stale)) == (409, ["E1010"])
    assert office.http.post(report, json={"status": "IN_REVIEW", "version": 2}).status_code == 200
    status = kiosk.http.get(f"{APPLICATIONS}/{application_id}").json()["result"][0]
    assert (status["status"], status["version"]) == ("IN_REVIEW", 3)
    assert [e["status"] for e in status["history"]] == ["RECEIVED", "FORWARDED", "IN_REVIEW"]
    feed = kiosk.http.get(APPLICATIONS, params={"cursor": cursor}).json()["result"]
    assert [(item["applicationId"], item["version"]) for item in feed] == [(application_id, 3)]
    outbound = office.http.get(f"{API}/outbound", params={"limit": 100}).json()["result"]
    assert application_id in {item["applicationId"] for item in outbound}


def test_handoff_push_and_pick_up(devices: dict[str, Device]) -> None:
    body = {"referenceCode": "P6QX3MPA", "draftId": "01J0000000000000000000PG01",
            "procedureIds": ["juki-tennyu"],
            "answers": {"shimei": "窓口　太郎", "seinengappi": "1990-04-01"}}
    pushed = devices["kiosk"].http.post(f"{API}/handoffs", json=body)
    assert pushed.status_code == 201, pushed.text
    picked = devices["counter"].http.get(f"{API}/handoffs/p6qx-3mpa")
    assert picked.status_code == 200
    assert picked.json()["result"][0]["answers"] == body["answers"]
    elsewhere = devices["other_counter"].http.get(f"{API}/handoffs/P6QX-3MPA")
    assert elsewhere.status_code == 404


def test_residents_match_withholds_a_suppressed_person(devices: dict[str, Device]) -> None:
    hanako = {"shimei": "窓口　花子", "seinengappi": "1992-08-15"}  # 支援措置 in the demo data
    nobody = {"shimei": "窓口　花子", "seinengappi": "1992-08-16"}
    match = f"{API}/residents/match"
    counter, privileged = devices["counter"].http, devices["privileged"].http
    withheld, missing = counter.post(match, json=hanako), counter.post(match, json=nobody)
    assert withheld.status_code == missing.status_code == 200
    assert withheld.content == missing.content
    assert [c["shimei"] for c in privileged.post(match, json=hanako).json()["result"]] == [
        "窓口　花子"]


def test_one_application_raced_to_two_gateways_is_one_record(
    pg_gateway: RunningGateway, devices: dict[str, Device], make_payload_json: PayloadJson
) -> None:
    second = start_in_thread(pg_gateway.db_url)
    try:
        kiosk = devices["kiosk"]
        token = kiosk.http.headers["Authorization"]
        body = make_payload_json()
        body["metadata"].update(deviceId="PG-KIOSK", shikuchosonkodo=TENANT)
        key = body["metadata"]["applicationId"]
        start = threading.Barrier(4)
        answers: list[httpx.Response] = []

        def send(url: str) -> None:
            with httpx.Client(base_url=url, timeout=30.0,
                              headers={"Authorization": token, "Idempotency-Key": key}) as http:
                start.wait()
                answers.append(http.post(APPLICATIONS, json=body))

        threads = [threading.Thread(target=send, args=(url,))
                   for url in (pg_gateway.url, second.url) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert [r.status_code for r in answers] == [201] * 4
        assert len({r.content for r in answers}) == 1
    finally:
        second.stop()
    store = GatewayStore(pg_gateway.db_url)
    try:
        stored = store.applications(TENANT)
    finally:
        store.close()
    assert [a.application_id for a in stored].count(key) == 1
    numbers = [a.uketsuke_bango for a in stored]
    assert len(numbers) == len(set(numbers))


def test_nul_characters_are_refused_not_a_server_error(
    devices: dict[str, Device], make_payload_json: PayloadJson
) -> None:
    # PostgreSQL refuses NUL in text columns; such input must be a 400, never a 500.
    kiosk, office = devices["kiosk"], devices["backoffice"]
    for response in (kiosk.http.get(f"{APPLICATIONS}/01J000000000000000000%00ZZZZ"),
                     kiosk.http.post(f"{APPLICATIONS}/01J000000000000000000%00ZZZZ/withdraw"),
                     office.http.post(f"{APPLICATIONS}/01J000000000000000000%00ZZZZ/status",
                                      json={"status": "FORWARDED", "version": 1})):
        assert response.status_code == 400, response.text
    body = make_payload_json()
    body["metadata"]["auditHead"] = "ab\u0000cd"
    assert kiosk.submit(body).status_code == 400
