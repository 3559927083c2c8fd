"""The reference gateway over real HTTP: envelopes, idempotency, validation, 受付番号."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.gateway.store import TOKYO, GatewayStore, ReceiveOutcome
from sync.protocol import (
    ApplicationPayload,
    ApplicationStatus,
    DeviceCredentials,
    Receipt,
    payload_digest,
)
from tests.sync.conftest import Bearer

APPLICATIONS = "/madoguchi/v1/applications"
BANGO = re.compile(r"^(\d{8})-(\d{6})$")

PayloadJson = Callable[..., dict[str, Any]]


@pytest.fixture
def kiosk_headers(kiosk_credentials: DeviceCredentials, bearer: Bearer) -> dict[str, str]:
    """The kiosk's bearer token header."""
    return bearer(kiosk_credentials)


@pytest.fixture
def http(gateway: RunningGateway, kiosk_headers: dict[str, str]) -> Iterator[httpx.Client]:
    """A plain HTTP client on the running gateway as the test kiosk, to look at raw responses."""
    with httpx.Client(base_url=gateway.url, timeout=10.0, headers=kiosk_headers) as client:
        yield client


def post(http: httpx.Client, body: dict[str, Any], key: str | None = "use-id") -> httpx.Response:
    headers = {}
    if key == "use-id":
        headers["Idempotency-Key"] = body["metadata"]["applicationId"]
    elif key is not None:
        headers["Idempotency-Key"] = key
    return http.post(APPLICATIONS, json=body, headers=headers)


def assert_error_envelope(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"title", "detail", "_links", "errors"}
    assert body["title"] and body["detail"]
    assert body["_links"]["self"]["href"].startswith("/")
    # The envelope never echoes what was submitted.
    assert "窓口" not in response.text
    assert "マドグチ" not in response.text
    errors: list[dict[str, Any]] = body["errors"]
    for error in errors:
        assert re.fullmatch(r"E\d{4}", error["code"])
        assert error["message"]
    return errors


def test_health(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_submit_returns_receipt_with_number_and_server_time(
    http: httpx.Client, gateway_store: GatewayStore, make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    before = datetime.now(UTC)
    response = post(http, body)
    after = datetime.now(UTC)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    application_id = body["metadata"]["applicationId"]
    assert response.headers["location"] == f"{APPLICATIONS}/{application_id}"
    envelope = response.json()
    assert envelope["metadata"]["title"] == "受付完了"
    assert envelope["_links"]["self"]["href"] == f"{APPLICATIONS}/{application_id}"
    receipt = Receipt.model_validate(envelope["result"][0])
    assert receipt.application_id == application_id
    assert receipt.status == "RECEIVED"
    assert before - timedelta(seconds=1) <= receipt.received_at <= after + timedelta(seconds=1)
    assert receipt.received_at.utcoffset() == timedelta(hours=9)
    match = BANGO.match(receipt.uketsuke_bango)
    assert match is not None
    assert match.group(1) == receipt.received_at.astimezone(TOKYO).strftime("%Y%m%d")
    assert match.group(2) == "000001"

    [stored] = gateway_store.applications()
    assert stored.application_id == application_id
    assert stored.tenant_code == "131016"
    assert stored.uketsuke_bango == receipt.uketsuke_bango
    assert stored.received_at == receipt.received_at
    expected = ApplicationPayload.model_validate(body)
    assert stored.payload == expected.model_dump(mode="json", by_alias=True)
    assert stored.payload["procedures"][0]["data"]["shimei"] == "窓口　太郎"


def test_replay_returns_the_stored_response(
    http: httpx.Client, gateway_store: GatewayStore, make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    first = post(http, body)
    again = post(http, body)

    assert again.status_code == first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert len(gateway_store.applications()) == 1


def test_replay_ignores_key_order_and_whitespace(
    http: httpx.Client, gateway_store: GatewayStore, make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    first = post(http, body)
    # The same application as another serialiser would write it: keys reversed, indented.
    reordered = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=True, indent=2).encode()
    key = body["metadata"]["applicationId"]
    again = http.post(
        APPLICATIONS,
        content=reordered,
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert len(gateway_store.applications()) == 1


def test_same_key_other_body_is_a_conflict(
    http: httpx.Client, gateway_store: GatewayStore, make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    first = post(http, body)
    changed = make_payload_json(body["metadata"]["applicationId"], seinengappi="1990-04-02")

    response = post(http, changed)

    errors = assert_error_envelope(response, 409)
    assert [e["code"] for e in errors] == ["E1009"]
    assert errors[0]["field"] == "/metadata/applicationId"
    [stored] = gateway_store.applications()
    assert stored.payload["procedures"][0]["data"]["seinengappi"] == "1990-04-01"
    assert stored.uketsuke_bango == first.json()["result"][0]["uketsukeBango"]


def test_missing_idempotency_key_is_rejected(
    http: httpx.Client, gateway_store: GatewayStore, make_payload_json: PayloadJson
) -> None:
    response = post(http, make_payload_json(), key=None)

    errors = assert_error_envelope(response, 400)
    assert [(e["code"], e["field"]) for e in errors] == [("E0001", "Idempotency-Key")]
    assert gateway_store.applications() == []


def test_missing_key_is_reported_with_body_errors(
    http: httpx.Client, make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    del body["metadata"]["deviceId"]
    errors = assert_error_envelope(post(http, body, key=None), 400)
    assert [(e["code"], e["field"]) for e in errors] == [
        ("E0001", "Idempotency-Key"),
        ("E0001", "/metadata/deviceId"),
    ]


def test_key_must_equal_application_id(
    http: httpx.Client, gateway_store: GatewayStore, make_payload_json: PayloadJson
) -> None:
    response = post(http, make_payload_json(), key="01J00000000000000000009999")

    errors = assert_error_envelope(response, 400)
    assert [(e["code"], e["field"]) for e in errors] == [("E0004", "/metadata/applicationId")]
    assert gateway_store.applications() == []


def test_unsupported_schema_version(http: httpx.Client, make_payload_json: PayloadJson) -> None:
    body = make_payload_json()
    body["metadata"]["schemaVersion"] = "madoguchi-app/99"

    errors = assert_error_envelope(post(http, body), 400)
    assert [(e["code"], e["field"]) for e in errors] == [("E1001", "/metadata/schemaVersion")]


def _without(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node = body
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


def _setting(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (_without(("metadata", "deviceId")), "E0001", "/metadata/deviceId"),
        (_without(("procedures",)), "E0001", "/procedures"),
        (_setting(("procedures",), []), "E0001", "/procedures"),
        (_setting(("metadata", "deviceId"), ""), "E0001", "/metadata/deviceId"),
        (
            _setting(("metadata", "shikuchosonkodo"), "１３１０１６"),
            "E0002",
            "/metadata/shikuchosonkodo",
        ),
        (_setting(("metadata", "channel"), "web"), "E0002", "/metadata/channel"),
        (
            _setting(("metadata", "capturedAt"), "2026-05-12T10:14:55"),
            "E0002",
            "/metadata/capturedAt",
        ),
        (_setting(("metadata", "applicationId"), "not-a-ulid"), "E0002", "/metadata/applicationId"),
        (_setting(("metadata", "nickname"), "x"), "E0002", "/metadata/nickname"),
        (
            _setting(("procedures", 0, "data", "Shimei"), "窓口　太郎"),
            "E0002",
            "/procedures/0/data/Shimei",
        ),
        (_setting(("metadata", "deviceId"), "K" * 65), "E0003", "/metadata/deviceId"),
        (
            _setting(("procedures", 0, "formVersion"), "9" * 17),
            "E0003",
            "/procedures/0/formVersion",
        ),
    ],
    ids=[
        "missing-device",
        "missing-procedures",
        "no-procedures",
        "empty-device",
        "full-width-digits",
        "unknown-channel",
        "naive-time",
        "bad-ulid",
        "unknown-field",
        "non-romaji-item",
        "device-too-long",
        "form-version-too-long",
    ],
)
def test_invalid_payload_gets_standard_400(
    http: httpx.Client,
    gateway_store: GatewayStore,
    make_payload_json: PayloadJson,
    change: Callable[[dict[str, Any]], None],
    code: str,
    field: str,
) -> None:
    body = make_payload_json()
    key = body["metadata"]["applicationId"]
    change(body)

    response = post(http, body, key=key)

    errors = assert_error_envelope(response, 400)
    assert (errors[0]["code"], errors[0]["field"]) == (code, field)
    assert gateway_store.applications() == []


def test_body_that_is_not_json(http: httpx.Client) -> None:
    response = http.post(
        APPLICATIONS,
        content=b"{not json",
        headers={
            "Idempotency-Key": "01J00000000000000000000001",
            "Content-Type": "application/json",
        },
    )
    errors = assert_error_envelope(response, 400)
    assert errors[0]["code"] == "E0002"


def test_messages_are_japanese(http: httpx.Client, make_payload_json: PayloadJson) -> None:
    body = make_payload_json()
    del body["metadata"]["deviceId"]
    response = post(http, body)
    envelope = response.json()
    assert envelope["title"] == "入力エラー"
    assert envelope["errors"][0]["message"] == "必須項目が入力されていません。"


def test_get_application(http: httpx.Client, make_payload_json: PayloadJson) -> None:
    body = make_payload_json()
    created = Receipt.model_validate(post(http, body).json()["result"][0])

    response = http.get(f"{APPLICATIONS}/{body['metadata']['applicationId']}")
    assert response.status_code == 200
    envelope = response.json()
    path = f"{APPLICATIONS}/{body['metadata']['applicationId']}"
    assert envelope["_links"]["self"]["href"] == path
    [status] = [ApplicationStatus.model_validate(item) for item in envelope["result"]]
    assert status.application_id == created.application_id
    assert status.uketsuke_bango == created.uketsuke_bango
    assert status.received_at == created.received_at
    assert (status.status, status.version) == ("RECEIVED", 1)
    assert [(e.status, e.version) for e in status.history] == [("RECEIVED", 1)]


def test_unknown_application_is_404_envelope(http: httpx.Client) -> None:
    response = http.get(f"{APPLICATIONS}/01J00000000000000000000404")
    assert assert_error_envelope(response, 404) == []


def test_unknown_route_is_404_envelope(http: httpx.Client) -> None:
    assert assert_error_envelope(http.get("/madoguchi/v1/nowhere"), 404) == []


def test_numbering_is_per_tenant(
    http: httpx.Client, gateway: RunningGateway, bearer: Bearer, make_payload_json: PayloadJson
) -> None:
    osaka = add_device(gateway.db_url, tenant_code="271004", mode="kiosk", device_id="KIOSK-TEST")
    osaka_headers = bearer(osaka)
    numbers = []
    for tenant in ("131016", "131016", "271004", "131016"):
        body = make_payload_json()
        body["metadata"]["shikuchosonkodo"] = tenant
        if tenant == "131016":
            response = post(http, body)
        else:
            key = {"Idempotency-Key": body["metadata"]["applicationId"]}
            response = http.post(APPLICATIONS, json=body, headers=osaka_headers | key)
        numbers.append(response.json()["result"][0]["uketsukeBango"][-6:])
    assert numbers == ["000001", "000002", "000001", "000003"]


def test_concurrent_submissions_get_distinct_consecutive_numbers(
    gateway: RunningGateway,
    gateway_store: GatewayStore,
    kiosk_headers: dict[str, str],
    make_payload_json: PayloadJson,
) -> None:
    bodies = [make_payload_json() for _ in range(24)]
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(bodies))

    def send(body: dict[str, Any]) -> None:
        with httpx.Client(base_url=gateway.url, timeout=30.0, headers=kiosk_headers) as client:
            start.wait()
            response = post(client, body)
        assert response.status_code == 201
        with lock:
            results.append(response.json()["result"][0]["uketsukeBango"])

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(int(number[-6:]) for number in results) == list(range(1, 25))
    assert len(gateway_store.applications()) == 24


def test_concurrent_repeats_of_one_key_store_one_application(
    gateway: RunningGateway,
    gateway_store: GatewayStore,
    kiosk_headers: dict[str, str],
    make_payload_json: PayloadJson,
) -> None:
    body = make_payload_json()
    contents: list[bytes] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def send() -> None:
        with httpx.Client(base_url=gateway.url, timeout=30.0, headers=kiosk_headers) as client:
            start.wait()
            response = post(client, body)
        assert response.status_code == 201
        with lock:
            contents.append(response.content)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(contents) == 8
    assert len(set(contents)) == 1
    assert len(gateway_store.applications()) == 1


def _respond(receipt: Receipt) -> tuple[int, str]:
    return 201, receipt.model_dump_json(by_alias=True)


def test_two_workers_on_one_database_number_without_gaps(
    tmp_path: Path, make_payload: Callable[..., ApplicationPayload]
) -> None:
    # Two stores are two engines with their own pools: as two gateway worker processes would be.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    workers = [GatewayStore(url), GatewayStore(url)]
    try:
        now = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)
        payloads = [make_payload() for _ in range(20)]
        start = threading.Barrier(len(payloads))

        def receive(index: int) -> None:
            start.wait()
            workers[index % 2].receive(payloads[index], received_at=now, respond=_respond)

        threads = [threading.Thread(target=receive, args=(i,)) for i in range(len(payloads))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        numbers = sorted(a.uketsuke_bango for a in workers[0].applications())
        assert numbers == [f"20260512-{n:06d}" for n in range(1, 21)]
    finally:
        for worker in workers:
            worker.close()


def test_numbering_follows_the_tokyo_day(
    tmp_path: Path, make_payload: Callable[..., ApplicationPayload]
) -> None:
    store = GatewayStore(f"sqlite:///{tmp_path / 'days.db'}")
    try:
        # 14:59:59 UTC is still 12 May in Tokyo; 15:00 UTC is already 13 May.
        times = [
            datetime(2026, 5, 12, 14, 59, 59, tzinfo=UTC),
            datetime(2026, 5, 12, 14, 59, 59, tzinfo=UTC),
            datetime(2026, 5, 12, 15, 0, 0, tzinfo=UTC),
        ]
        for when in times:
            received = store.receive(make_payload(), received_at=when, respond=_respond)
            assert received.outcome is ReceiveOutcome.CREATED
        numbers = [a.uketsuke_bango for a in store.applications()]
        assert numbers == ["20260512-000001", "20260512-000002", "20260513-000001"]
        assert store.applications()[2].received_at == times[2]
    finally:
        store.close()


def test_digest_of_stored_payload_matches_the_client(
    http: httpx.Client, gateway_store: GatewayStore, make_payload: Callable[..., ApplicationPayload]
) -> None:
    payload = make_payload(shimei="髙橋\U000e0100　太郎")  # IVS selector kept exactly
    http.post(
        APPLICATIONS,
        json=payload.model_dump(mode="json", by_alias=True),
        headers={"Idempotency-Key": payload.metadata.application_id},
    )
    [stored] = gateway_store.applications()
    assert stored.payload["procedures"][0]["data"]["shimei"] == "髙橋\U000e0100　太郎"
    assert payload_digest(ApplicationPayload.model_validate(stored.payload)) == payload_digest(
        payload
    )
