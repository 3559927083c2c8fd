"""LinkageClient: end to end against the real gateway, and its status mapping via MockTransport."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from sync.client import LinkageClient, parse_retry_after
from sync.errors import (
    AuthenticationError,
    ConflictError,
    RejectedError,
    SyncError,
    TransientError,
)
from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from sync.protocol import ApplicationPayload

PayloadFactory = Callable[..., ApplicationPayload]


@pytest.fixture
def client(gateway: RunningGateway) -> Iterator[LinkageClient]:
    """A LinkageClient on the running gateway."""
    with LinkageClient(gateway.url, timeout=10.0) as linkage:
        yield linkage


def assert_no_personal_data(error: Exception) -> None:
    text = str(error)
    for fragment in ("窓口", "太郎", "マドグチ", "1990-04-01", "1000014"):
        assert fragment not in text


# --- against the real gateway ---------------------------------------------------------------


def test_health(client: LinkageClient) -> None:
    assert client.health() is True


def test_health_is_false_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.
    with LinkageClient(f"http://127.0.0.1:{port}", timeout=2.0) as linkage:
        assert linkage.health() is False


def test_submit_returns_receipt(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()

    receipt = client.submit(payload)

    assert receipt.application_id == payload.metadata.application_id
    assert receipt.status == "RECEIVED"
    assert receipt.uketsuke_bango.endswith("-000001")
    assert receipt.received_at.tzinfo is not None
    [stored] = gateway_store.applications()
    assert stored.uketsuke_bango == receipt.uketsuke_bango
    assert stored.payload == payload.model_dump(mode="json", by_alias=True)


def test_resubmitting_is_idempotent(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()
    first = client.submit(payload)

    # A retry after an unknown outcome, e.g. the reply was lost: same receipt, no second record.
    again = client.submit(payload)

    assert again == first
    assert len(gateway_store.applications()) == 1


def test_same_id_other_body_raises_conflict(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()
    client.submit(payload)
    changed = make_payload(payload.metadata.application_id, shimei="窓口　次郎")

    with pytest.raises(ConflictError) as caught:
        client.submit(changed)

    assert caught.value.status == 409
    assert caught.value.codes == ["E1009"]
    assert caught.value.errors[0].field == "/metadata/applicationId"
    assert_no_personal_data(caught.value)
    assert len(gateway_store.applications()) == 1


def test_unsupported_schema_is_rejected_not_conflict(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()
    metadata = payload.metadata.model_copy(update={"schema_version": "madoguchi-app/99"})
    payload = payload.model_copy(update={"metadata": metadata})

    with pytest.raises(RejectedError) as caught:
        client.submit(payload)

    assert type(caught.value) is RejectedError
    assert caught.value.status == 400
    assert caught.value.codes == ["E1001"]
    assert caught.value.errors[0].message == "対応していないスキーマバージョンです。"
    assert_no_personal_data(caught.value)
    assert gateway_store.applications() == []


def test_get_application(client: LinkageClient, make_payload: PayloadFactory) -> None:
    payload = make_payload()
    receipt = client.submit(payload)

    assert client.get_application(payload.metadata.application_id) == receipt


def test_get_unknown_application_is_rejected(client: LinkageClient) -> None:
    with pytest.raises(RejectedError) as caught:
        client.get_application("01J00000000000000000000404")
    assert caught.value.status == 404


def test_stopped_gateway_is_transient(tmp_path: Path, make_payload: PayloadFactory) -> None:
    running = start_in_thread(f"sqlite:///{tmp_path / 'gateway.db'}")
    url = running.url
    running.stop()

    with LinkageClient(url, timeout=2.0) as linkage, pytest.raises(TransientError) as caught:
        linkage.submit(make_payload())

    assert caught.value.status is None
    assert caught.value.retry_after is None
    assert_no_personal_data(caught.value)


def test_submission_survives_a_gateway_restart(
    tmp_path: Path, make_payload: PayloadFactory
) -> None:
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    payload = make_payload()
    first_gateway = start_in_thread(db_url)
    try:
        with LinkageClient(first_gateway.url) as linkage:
            first = linkage.submit(payload)
    finally:
        first_gateway.stop()

    second_gateway = start_in_thread(db_url)
    try:
        with LinkageClient(second_gateway.url) as linkage:
            assert linkage.submit(payload) == first
            assert linkage.submit(make_payload()).uketsuke_bango.endswith("-000002")
    finally:
        second_gateway.stop()


# --- the client's own status mapping (MockTransport) -----------------------------------------

RECEIPT_BODY = {
    "metadata": {"title": "受付完了", "detail": "申請を受け付けました。"},
    "_links": {"self": {"href": "/madoguchi/v1/applications/x"}},
    "result": [
        {
            "applicationId": "01J00000000000000000000001",
            "uketsukeBango": "20260512-000001",
            "receivedAt": "2026-05-12T10:15:00+09:00",
            "status": "RECEIVED",
        }
    ],
}


def envelope(*codes: str) -> dict[str, object]:
    return {
        "title": "エラー",
        "detail": "…",
        "_links": {"self": {"href": "/madoguchi/v1/applications"}},
        "errors": [{"code": code, "message": "…", "field": None} for code in codes],
    }


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> LinkageClient:
    return LinkageClient("http://gateway.test", transport=httpx.MockTransport(handler))


def test_request_carries_key_and_json(make_payload: PayloadFactory) -> None:
    payload = make_payload("01J00000000000000000000001")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=RECEIPT_BODY)

    with mock_client(handler) as linkage:
        receipt = linkage.submit(payload)

    assert receipt.uketsuke_bango == "20260512-000001"
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/madoguchi/v1/applications"
    assert request.headers["Idempotency-Key"] == "01J00000000000000000000001"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(request.content) == payload.model_dump(mode="json", by_alias=True)


@pytest.mark.parametrize(
    ("response", "retry_after"),
    [
        (httpx.Response(503, json=envelope(), headers={"Retry-After": "120"}), 120.0),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), None),
        (httpx.Response(504, content=b""), None),
        (httpx.Response(500, text="Internal Server Error"), None),
        (httpx.Response(408, content=b""), None),
        (httpx.Response(429, json=envelope(), headers={"Retry-After": "soon"}), None),
        (httpx.Response(302, headers={"Location": "http://portal.test/login"}), None),
        (httpx.Response(201, text="<html>captive portal</html>"), None),
        (httpx.Response(200, json={"metadata": {}, "result": []}), None),
    ],
    ids=[
        "503-json",
        "502-html",
        "504-empty",
        "500-text",
        "408",
        "429",
        "302",
        "201-html",
        "200-empty",
    ],
)
def test_transient_statuses(
    make_payload: PayloadFactory, response: httpx.Response, retry_after: float | None
) -> None:
    with mock_client(lambda _: response) as linkage, pytest.raises(TransientError) as caught:
        linkage.submit(make_payload())
    assert caught.value.status == response.status_code
    assert caught.value.retry_after == retry_after
    assert_no_personal_data(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
    ids=["connect", "read-timeout", "disconnect"],
)
def test_network_failures_are_transient(
    make_payload: PayloadFactory, error: httpx.TransportError
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with mock_client(handler) as linkage:
        with pytest.raises(TransientError) as caught:
            linkage.submit(make_payload())
        assert linkage.health() is False
    assert caught.value.status is None


@pytest.mark.parametrize(
    ("response", "kind", "codes"),
    [
        (httpx.Response(400, json=envelope("E0001", "E0003")), RejectedError, ["E0001", "E0003"]),
        (httpx.Response(400, text="<html>Bad Request</html>"), RejectedError, []),
        (httpx.Response(401, json=envelope()), AuthenticationError, []),
        (httpx.Response(403, content=b""), RejectedError, []),
        (httpx.Response(409, json=envelope("E1009")), ConflictError, ["E1009"]),
        (httpx.Response(409, json=envelope("E1010")), RejectedError, ["E1010"]),
        (httpx.Response(422, json={"detail": "x"}), RejectedError, []),
    ],
    ids=["400-envelope", "400-html", "401", "403-empty", "409-E1009", "409-other", "422"],
)
def test_rejected_statuses(
    make_payload: PayloadFactory,
    response: httpx.Response,
    kind: type[RejectedError],
    codes: list[str],
) -> None:
    with mock_client(lambda _: response) as linkage, pytest.raises(RejectedError) as caught:
        linkage.submit(make_payload())
    assert type(caught.value) is kind
    assert caught.value.status == response.status_code
    assert caught.value.codes == codes
    assert not isinstance(caught.value, TransientError)


def test_receipt_for_another_application_is_an_error(make_payload: PayloadFactory) -> None:
    respond = httpx.Response(201, json=RECEIPT_BODY)
    with mock_client(lambda _: respond) as linkage, pytest.raises(SyncError) as caught:
        linkage.submit(make_payload("01J00000000000000000000002"))
    assert not isinstance(caught.value, TransientError | RejectedError)


def test_every_error_is_a_sync_error() -> None:
    assert issubclass(TransientError, SyncError)
    assert issubclass(RejectedError, SyncError)
    assert issubclass(ConflictError, RejectedError)
    assert issubclass(AuthenticationError, RejectedError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("30", 30.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("nan", None),
        ("Tue, 12 May 2026 01:02:00 GMT", 60.0),
        ("Tue, 12 May 2026 01:00:00 GMT", 0.0),
        ("next week", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2026, 5, 12, 1, 1, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected
