"""The fault proxy itself: each fault observably happens, between a real client and the gateway."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.client import LinkageClient
from sync.errors import TransientError
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from sync.protocol import API_PREFIX, IDEMPOTENCY_KEY_HEADER, ApplicationPayload, DeviceCredentials
from tests.sync.conftest import Bearer
from tests.sync.faultproxy import Fault, FaultKind, FaultProxy, random_plan

TIMEOUT_S = 0.3  # for the tests that wait for a client timeout
PATIENT_S = 5.0  # for the others: a loaded machine must not turn them into timeouts
SUBMIT = f"{API_PREFIX}/applications"


@pytest.fixture
def proxy(gateway: RunningGateway) -> Iterator[FaultProxy]:
    with FaultProxy(gateway.url, hold_limit_s=5.0) as running:
        yield running


@pytest.fixture
def auth(bearer: Bearer, kiosk_credentials: DeviceCredentials) -> dict[str, str]:
    """The kiosk's Authorization header (the token fetched from the gateway directly)."""
    return bearer(kiosk_credentials)


@pytest.fixture
def http(proxy: FaultProxy, auth: dict[str, str]) -> Iterator[httpx.Client]:
    """A plain keep-alive httpx client on the proxy, as the kiosk, with a short timeout."""
    with httpx.Client(base_url=proxy.url, timeout=TIMEOUT_S, headers=auth) as client:
        yield client


@pytest.fixture
def patient(proxy: FaultProxy, auth: dict[str, str]) -> Iterator[httpx.Client]:
    """The same with a long timeout, for requests that must succeed."""
    with httpx.Client(base_url=proxy.url, timeout=PATIENT_S, headers=auth) as client:
        yield client


@pytest.fixture
def linkage(proxy: FaultProxy, kiosk_credentials: DeviceCredentials) -> Iterator[LinkageClient]:
    """The real client on the proxy, its token already fetched (past any fault)."""
    with LinkageClient(proxy.url, credentials=kiosk_credentials, timeout=PATIENT_S) as client:
        client.token()
        assert proxy.idle()
        proxy.connections.clear()
        yield client


def _post(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    key = body["metadata"]["applicationId"]
    return http.post(SUBMIT, json=body, headers={IDEMPOTENCY_KEY_HEADER: key})


def _only(proxy: FaultProxy) -> Any:
    assert proxy.idle(), "the connection did not finish"
    (connection,) = proxy.connections
    return connection


def test_passthrough_forwards_and_forces_one_request_per_connection(
    proxy: FaultProxy, patient: httpx.Client, gateway_store: GatewayStore,
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    first = _post(patient, make_payload_json())
    second = _post(patient, make_payload_json())
    assert first.status_code == second.status_code == 201
    assert first.headers["connection"] == "close"
    assert proxy.idle()
    # Keep-alive would have carried both requests on one connection; the proxy forbids it.
    assert [c.upstream_status for c in proxy.connections] == [201, 201]
    assert all(c.sent_bytes >= len(c.upstream_response) > 0 for c in proxy.connections)
    assert len(gateway_store.applications()) == 2


def test_reset_mid_body_sends_rst_and_nothing_is_stored(
    proxy: FaultProxy, gateway_store: GatewayStore, auth: dict[str, str],
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy.push(Fault.reset(after_bytes=40))
    body = httpx.Request("POST", f"{proxy.url}{SUBMIT}", json=make_payload_json()).content
    head = (f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {auth['Authorization']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]))) as raw:
        raw.settimeout(5)
        raw.sendall(head[:30])
        time.sleep(0.05)
        raw.sendall(head[30:] + body[:40])
        # A reset, not an orderly close: the read fails instead of returning b"".
        with pytest.raises(ConnectionResetError):
            raw.recv(1024)
    connection = _only(proxy)
    assert connection.fault.kind is FaultKind.RESET
    assert 0 < connection.forwarded_bytes < len(head) + len(body)
    assert connection.upstream_status is None
    time.sleep(0.1)  # give the gateway a moment: a truncated body must never be committed
    assert gateway_store.applications() == []


def test_reset_fails_the_client_with_a_transient_error(
    proxy: FaultProxy, linkage: LinkageClient, gateway_store: GatewayStore,
    make_payload: Callable[..., ApplicationPayload],
) -> None:
    proxy.push(Fault.reset(after_bytes=10))
    with pytest.raises(TransientError) as caught:
        linkage.submit(make_payload())
    assert caught.value.status is None
    assert _only(proxy).reached_gateway
    assert gateway_store.applications() == []


def test_stall_reads_the_request_and_never_answers(
    proxy: FaultProxy, http: httpx.Client, gateway_store: GatewayStore,
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy.push(Fault.stall())
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _post(http, make_payload_json())
    assert time.monotonic() - started >= TIMEOUT_S
    http.close()
    connection = _only(proxy)
    assert connection.request_bytes > 0 and not connection.reached_gateway
    assert connection.client_closed  # the proxy saw the client give up and let go
    assert gateway_store.applications() == []


def test_black_hole_reads_nothing_and_is_let_go_on_stop(
    gateway: RunningGateway, gateway_store: GatewayStore, auth: dict[str, str],
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy = FaultProxy(gateway.url, script=[Fault.black_hole()]).start()
    try:
        with httpx.Client(base_url=proxy.url, timeout=TIMEOUT_S, headers=auth) as http, \
                pytest.raises(httpx.ReadTimeout):
            _post(http, make_payload_json())
        (connection,) = proxy.connections
        assert not connection.done.is_set()  # still held: a black hole never notices
        assert connection.request_bytes == 0 and not connection.reached_gateway
    finally:
        started = time.monotonic()
        proxy.stop()
    assert time.monotonic() - started < 1.0
    assert connection.done.is_set()
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]
    assert gateway_store.applications() == []


def test_slow_body_within_the_timeout_arrives_whole(
    proxy: FaultProxy, patient: httpx.Client,
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy.push(Fault.slow(chunk=64, delay_s=0.01))
    started = time.monotonic()
    response = _post(patient, make_payload_json())
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert response.json()["result"][0]["uketsukeBango"]
    connection = _only(proxy)
    writes = -(-connection.sent_bytes // 64)
    assert writes > 5 and elapsed >= (writes - 1) * 0.01


def test_slow_body_past_the_timeout_fails_after_the_commit(
    proxy: FaultProxy, http: httpx.Client, gateway_store: GatewayStore,
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy.push(Fault.slow(chunk=32, delay_s=TIMEOUT_S * 1.5))
    with pytest.raises(httpx.ReadTimeout):
        _post(http, make_payload_json())
    http.close()
    connection = _only(proxy)
    assert connection.upstream_status == 201
    assert 0 < connection.sent_bytes < len(connection.upstream_response)
    assert connection.client_closed
    assert len(gateway_store.applications()) == 1


@pytest.mark.parametrize("fault", [Fault.commit_then_drop(), Fault.commit_then_stall()],
                         ids=["drop", "stall"])
def test_commit_then_no_answer(
    fault: Fault, proxy: FaultProxy, http: httpx.Client, gateway_store: GatewayStore,
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy.push(fault)
    body = make_payload_json()
    expected = httpx.ReadTimeout if fault.kind is FaultKind.COMMIT_THEN_STALL else \
        httpx.RemoteProtocolError
    with pytest.raises(expected):
        _post(http, body)
    http.close()
    connection = _only(proxy)
    assert connection.upstream_status == 201 and connection.sent_bytes == 0
    (held,) = gateway_store.applications()
    # The answer the client never saw carries the 受付番号 the gateway stored.
    assert held.uketsuke_bango.encode() in connection.upstream_response


def test_canned_answer_never_reaches_the_gateway(
    proxy: FaultProxy, linkage: LinkageClient, make_payload: Callable[..., ApplicationPayload],
    gateway_store: GatewayStore,
) -> None:
    proxy.push(Fault.canned(503), Fault.canned(429, b"{}", {"Retry-After": "7",
                                                             "Content-Type": "application/json"}))
    with pytest.raises(TransientError) as unavailable:
        linkage.submit(make_payload())
    with pytest.raises(TransientError) as throttled:
        linkage.submit(make_payload())
    assert (unavailable.value.status, unavailable.value.retry_after) == (503, None)
    assert (throttled.value.status, throttled.value.retry_after) == (429, 7.0)
    assert proxy.idle()
    assert not any(c.reached_gateway for c in proxy.connections)
    assert gateway_store.applications() == []


def test_script_comes_first_then_the_plan_and_a_seed_replays_it(gateway: RunningGateway) -> None:
    weights = {Fault.passthrough(): 3.0, Fault.canned(502): 1.0, Fault.canned(503): 1.0}

    def kinds(seed: int) -> list[tuple[FaultKind, int]]:
        with FaultProxy(gateway.url, random_plan(random.Random(seed), weights),
                        script=[Fault.canned(500)]) as proxy, \
                httpx.Client(base_url=proxy.url, timeout=PATIENT_S) as http:
            statuses = [http.get("/health").status_code for _ in range(20)]
            assert proxy.idle()
            return [(c.fault.kind, s) for c, s in zip(proxy.connections, statuses, strict=True)]

    first = kinds(42)
    assert first[0] == (FaultKind.CANNED, 500)
    assert first == kinds(42)
    assert {s for _, s in first} >= {200, 502, 503}


def test_stop_ends_held_connections_and_leaks_no_thread(
    gateway: RunningGateway, auth: dict[str, str],
    make_payload_json: Callable[..., dict[str, Any]],
) -> None:
    proxy = FaultProxy(gateway.url, script=[Fault.stall(), Fault.commit_then_stall(),
                                            Fault.black_hole()]).start()
    clients = [httpx.Client(base_url=proxy.url, timeout=TIMEOUT_S, headers=auth)
               for _ in range(3)]
    try:
        for client in clients:
            with pytest.raises(httpx.ReadTimeout):
                _post(client, make_payload_json())
    finally:
        # The clients stay open: the proxy must let go of connections nobody closes.
        started = time.monotonic()
        proxy.stop()
        elapsed = time.monotonic() - started
        for client in clients:
            client.close()
    assert elapsed < 1.0
    assert all(c.done.is_set() for c in proxy.connections)
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]


def test_match_exempts_calls_without_using_up_the_script(gateway: RunningGateway) -> None:
    with FaultProxy(gateway.url, script=[Fault.canned(503)],
                    match=lambda method, _path: method == "POST") as proxy, \
            httpx.Client(base_url=proxy.url, timeout=PATIENT_S) as http:
        assert http.get("/health").status_code == 200
        assert http.post("/health").status_code == 503
        assert http.post("/health").status_code == 405  # the script is used up
        assert proxy.idle()
        assert [(c.method, c.fault.kind) for c in proxy.connections] == [
            ("GET", FaultKind.PASS), ("POST", FaultKind.CANNED), ("POST", FaultKind.PASS)]
