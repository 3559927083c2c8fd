"""Gateway authentication over real HTTP: the token endpoint, bearer tokens, scopes."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from sync.gateway.admin import AdminError, add_device, disable_device
from sync.gateway.app import create_app
from sync.gateway.models import Base
from sync.gateway.server import RunningGateway, start_in_thread
from sync.protocol import API_PREFIX, SCOPES_BY_MODE, DeviceCredentials, TokenResponse
from tests.sync.conftest import Bearer

TOKEN = "/oauth2/token"
FORM = {"grant_type": "client_credentials"}


class MovableClock:
    """A clock the test moves forward (server time is all the gateway reads)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def token_response(url: str, credentials: DeviceCredentials, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}{TOKEN}", data=FORM, timeout=10.0,
                      auth=(credentials.client_id, credentials.client_secret), **kwargs)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response.json() == {"error": error}
    assert response.headers["cache-control"] == "no-store"


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["title"] == "認証エラー"
    assert [e["code"] for e in body["errors"]] == ["E1008"]


def test_credentials_have_the_standard_form(kiosk_credentials: DeviceCredentials) -> None:
    assert len(kiosk_credentials.client_id) == 32
    assert kiosk_credentials.client_id.isascii() and kiosk_credentials.client_id.isalnum()
    assert len(kiosk_credentials.client_secret) >= 43  # 256 random bits
    assert (kiosk_credentials.tenant_code, kiosk_credentials.mode) == ("131016", "kiosk")
    assert kiosk_credentials.device_id == "KIOSK-TEST"


def test_token_by_http_basic(gateway: RunningGateway, kiosk_credentials: DeviceCredentials) -> None:
    response = token_response(gateway.url, kiosk_credentials)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = TokenResponse.model_validate(response.json())
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "scope"}
    assert (token.token_type, token.expires_in) == ("Bearer", 300)
    assert set(token.scope.split()) == set(SCOPES_BY_MODE["kiosk"])


def test_token_by_form_fields(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    data = FORM | {"client_id": kiosk_credentials.client_id,
                   "client_secret": kiosk_credentials.client_secret}
    response = httpx.post(f"{gateway.url}{TOKEN}", data=data, timeout=10.0)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_basic_credentials_are_form_decoded(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    # RFC 6749 §2.3.1: "-" and "_" of the secret may arrive percent-encoded.
    secret = kiosk_credentials.client_secret.replace("-", "%2D").replace("_", "%5F")
    raw = base64.b64encode(f"{kiosk_credentials.client_id}:{secret}".encode()).decode()
    response = httpx.post(f"{gateway.url}{TOKEN}", data=FORM, timeout=10.0,
                          headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 200


@pytest.mark.parametrize("what", ["secret", "client", "disabled"])
def test_bad_client_is_invalid_client(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials, what: str
) -> None:
    credentials = kiosk_credentials
    if what == "secret":
        credentials = credentials.model_copy(update={"client_secret": "x" * 43})
    elif what == "client":
        credentials = credentials.model_copy(update={"client_id": "A" * 32})
    else:
        assert disable_device(gateway.db_url, tenant_code="131016", device_id="KIOSK-TEST") == 1
    response = token_response(gateway.url, credentials)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_secret": "x"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "madoguchi:outbound:read"}, 400,
         "invalid_scope"),
    ],
    ids=["grant", "no-grant", "two-methods", "scope-not-allowed"],
)
def test_token_request_errors(
    gateway: RunningGateway,
    kiosk_credentials: DeviceCredentials,
    data: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = httpx.post(f"{gateway.url}{TOKEN}", data=data, timeout=10.0,
                          auth=(kiosk_credentials.client_id, kiosk_credentials.client_secret))
    assert_oauth_error(response, status, error)


def test_token_needs_a_form_body(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    response = httpx.post(f"{gateway.url}{TOKEN}", json=FORM, timeout=10.0,
                          auth=(kiosk_credentials.client_id, kiosk_credentials.client_secret))
    assert_oauth_error(response, 400, "invalid_request")


def test_narrower_scope_can_be_asked_for(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    data = FORM | {"scope": "madoguchi:meta:read"}
    response = httpx.post(f"{gateway.url}{TOKEN}", data=data, timeout=10.0,
                          auth=(kiosk_credentials.client_id, kiosk_credentials.client_secret))
    assert response.json()["scope"] == "madoguchi:meta:read"
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert httpx.get(f"{gateway.url}{API_PREFIX}/meta", headers=headers).status_code == 200
    feed = httpx.get(f"{gateway.url}{API_PREFIX}/applications", headers=headers)
    assert feed.status_code == 403


def _api_routes() -> list[tuple[str, str]]:
    # From the OpenAPI document: every route of every included router, as deployed.
    paths: dict[str, dict[str, Any]] = create_app("sqlite://").openapi()["paths"]
    routes = []
    for template, operations in paths.items():
        if template.startswith(API_PREFIX):
            path = re.sub(r"\{[a-z_]+\}", "01J00000000000000000000001", template)
            routes.extend((method.upper(), path) for method in sorted(operations))
    return routes


API_ROUTES = _api_routes()


def test_every_api_route_is_listed() -> None:
    assert ("POST", f"{API_PREFIX}/applications") in API_ROUTES
    assert ("GET", f"{API_PREFIX}/outbound") in API_ROUTES
    assert len(API_ROUTES) >= 7


def test_every_api_route_needs_a_bearer_token(gateway: RunningGateway) -> None:
    # One gateway for all routes: starting one per case would cost more than the calls.
    for authorization in (None, "Bearer not-a-token", "Basic eDp5"):
        headers = {"Authorization": authorization} if authorization else {}
        for method, path in API_ROUTES:
            response = httpx.request(method, f"{gateway.url}{path}", json={}, headers=headers,
                                     timeout=10.0)
            assert response.status_code == 401, (method, path, authorization)
            assert_unauthenticated(response)


def test_health_needs_no_token(gateway: RunningGateway) -> None:
    assert httpx.get(f"{gateway.url}/health").status_code == 200


@pytest.mark.parametrize(
    ("fixture", "method", "path"),
    [
        ("kiosk_credentials", "GET", f"{API_PREFIX}/outbound"),
        ("kiosk_credentials", "POST",
         f"{API_PREFIX}/applications/01J00000000000000000000001/status"),
        ("backoffice_credentials", "POST", f"{API_PREFIX}/applications"),
        ("backoffice_credentials", "POST",
         f"{API_PREFIX}/applications/01J00000000000000000000001/withdraw"),
    ],
)
def test_scope_missing_is_forbidden(
    request: pytest.FixtureRequest,
    gateway: RunningGateway,
    bearer: Bearer,
    fixture: str,
    method: str,
    path: str,
) -> None:
    credentials: DeviceCredentials = request.getfixturevalue(fixture)
    response = httpx.request(method, f"{gateway.url}{path}", json={},
                             headers=bearer(credentials), timeout=10.0)
    assert response.status_code == 403
    assert [e["code"] for e in response.json()["errors"]] == ["E1007"]
    assert response.json()["title"] == "権限エラー"


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[RunningGateway, MovableClock]]:
    clock = MovableClock()
    running = start_in_thread(f"sqlite:///{tmp_path / 'clocked.db'}", clock=clock)
    try:
        yield running, clock
    finally:
        running.stop()


def test_token_expires_after_its_lifetime(
    clocked: tuple[RunningGateway, MovableClock],
) -> None:
    running, clock = clocked
    credentials = add_device(running.db_url, tenant_code="131016", mode="kiosk")
    token = token_response(running.url, credentials).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    meta = f"{running.url}{API_PREFIX}/meta"

    clock.now += timedelta(seconds=299)
    assert httpx.get(meta, headers=headers).status_code == 200
    clock.now += timedelta(seconds=1)
    assert_unauthenticated(httpx.get(meta, headers=headers))


def test_disabling_a_device_stops_its_tokens(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials, bearer: Bearer
) -> None:
    headers = bearer(kiosk_credentials)
    meta = f"{gateway.url}{API_PREFIX}/meta"
    assert httpx.get(meta, headers=headers).status_code == 200
    disable_device(gateway.db_url, tenant_code="131016", device_id="KIOSK-TEST")
    assert_unauthenticated(httpx.get(meta, headers=headers))


def test_secrets_and_tokens_are_stored_as_digests_only(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    token = token_response(gateway.url, kiosk_credentials).json()["access_token"]
    engine = create_engine(gateway.db_url)
    try:
        with engine.connect() as connection:
            dump = repr([
                connection.execute(table.select()).all()
                for table in Base.metadata.sorted_tables
                if inspect(connection).has_table(table.name)
            ])
    finally:
        engine.dispose()
    assert kiosk_credentials.client_id in dump
    assert kiosk_credentials.client_secret not in dump
    assert token not in dump


def test_meta_says_who_the_caller_is(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials, bearer: Bearer
) -> None:
    response = httpx.get(f"{gateway.url}{API_PREFIX}/meta", headers=bearer(kiosk_credentials))
    [meta] = response.json()["result"]
    assert (meta["tenantCode"], meta["deviceId"], meta["mode"]) == (
        "131016", "KIOSK-TEST", "kiosk")
    assert meta["schemaVersions"] == ["madoguchi-app/1"]
    assert meta["dataListEdition"] == "2023-09"
    server_time = datetime.fromisoformat(meta["serverTime"])
    assert server_time.utcoffset() == timedelta(hours=9)
    assert abs(server_time - datetime.now(UTC)) < timedelta(seconds=30)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"tenant_code": "131017", "mode": "kiosk"}, "tenant_code"),
        ({"tenant_code": "13101", "mode": "kiosk"}, "tenant_code"),
        ({"tenant_code": "131016", "mode": "admin"}, "mode"),
        ({"tenant_code": "131016", "mode": "kiosk", "device_id": "kiosk 1"}, "device_id"),
    ],
)
def test_add_device_refuses_bad_input(tmp_path: Path, kwargs: Any, reason: str) -> None:
    with pytest.raises(AdminError) as raised:
        add_device(f"sqlite:///{tmp_path / 'g.db'}", **kwargs)
    assert raised.value.reason == reason


def test_add_device_twice_needs_replace(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    first = add_device(url, tenant_code="131016", mode="desk", device_id="desk-1")
    with pytest.raises(AdminError) as raised:
        add_device(url, tenant_code="131016", mode="desk", device_id="desk-1")
    assert raised.value.reason == "device_exists"
    second = add_device(url, tenant_code="131016", mode="desk", device_id="desk-1", replace=True)
    assert second.client_id != first.client_id
    # The same device id in another tenant is another device.
    add_device(url, tenant_code="011002", mode="desk", device_id="desk-1")


def test_generated_device_id_follows_enrolment(tmp_path: Path) -> None:
    credentials = add_device(f"sqlite:///{tmp_path / 'g.db'}", tenant_code="131016",
                             mode="counter")
    assert credentials.device_id.startswith("counter-")
