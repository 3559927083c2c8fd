"""Catalog updates end to end: the gateway serves the deployed bundle by ETag, devices verify it.

A real gateway on loopback (uvicorn + FastAPI + SQLite file), real tokens, the real
`LinkageClient`, real bundle files in a real profile folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desk.catalog.bundle import (
    CATALOG_DIR,
    CURRENT_BUNDLE,
    PREVIOUS_BUNDLE,
    active_catalog,
    build_bundle,
    bundle_version,
    collect_files,
    key_id,
)
from sync.catalog_update import FETCH_STATE, update_catalog
from sync.client import LinkageClient
from sync.gateway import app as gateway_app
from sync.gateway import server
from sync.gateway.admin import add_device
from sync.gateway.context import GatewaySettings
from sync.gateway.routes_catalog import CATALOG_PATH, etag_matches
from sync.gateway.server import RunningGateway, start_in_thread
from sync.protocol import DeviceCredentials

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
NOW = datetime.now(UTC)
TENANT = "131016"
ROUTER = "sync.gateway.routes_catalog"


@dataclass
class Deployment:
    """A gateway serving the bundle file at `path`, and one kiosk registered with it."""

    gateway: RunningGateway
    path: Path
    kiosk: DeviceCredentials

    def token(self, credentials: DeviceCredentials | None = None) -> dict[str, str]:
        creds = credentials or self.kiosk
        response = httpx.post(f"{self.gateway.url}/oauth2/token",
                              data={"grant_type": "client_credentials"},
                              auth=(creds.client_id, creds.client_secret), timeout=10.0)
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, headers: dict[str, str]) -> httpx.Response:
        return httpx.get(f"{self.gateway.url}{CATALOG_PATH}", headers=headers, timeout=10.0)

    def deploy(self, data: bytes) -> None:
        # How an operator should deploy: a new file renamed over the old one.
        temp = self.path.with_suffix(".new")
        temp.write_bytes(data)
        temp.replace(self.path)


def _start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_path: Path | None,
           ) -> RunningGateway:
    routers = gateway_app._EXTRA_ROUTERS
    if ROUTER not in routers:  # until the lead adds the catalog router to create_app
        monkeypatch.setattr(server, "create_app", functools.partial(
            gateway_app.create_app, extra_routers=(*routers, ROUTER)))
    return start_in_thread(f"sqlite:///{tmp_path / 'gateway.db'}",
                           settings=GatewaySettings(catalog_path=catalog_path))


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    path = tmp_path / "deployed" / "catalog.bundle"
    path.parent.mkdir()
    running = _start(tmp_path, monkeypatch, path)
    try:
        kiosk = add_device(running.db_url, tenant_code=TENANT, mode="kiosk",
                           device_id="KIOSK-TEST")
        yield Deployment(running, path, kiosk)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def keys(signer: Ed25519PrivateKey) -> dict[str, Any]:
    return {key_id(signer.public_key()): signer.public_key()}


def _sign(signer: Ed25519PrivateKey, version: int, *, extra: str = "",
          valid: timedelta = timedelta(days=30)) -> bytes:
    files = collect_files(FIXTURE)
    if extra:
        files["koseki/alpha.yaml"] += extra
    return build_bundle(files, signer, version=version, issued_at=NOW - timedelta(hours=1),
                        expires_at=NOW + valid)


def _etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()}"'


class RecordingClient:
    """The real client, remembering which ETag each fetch sent and whether it was a 304."""

    def __init__(self, client: LinkageClient) -> None:
        self.client = client
        self.calls: list[tuple[str | None, bool]] = []

    def fetch_catalog(self, etag: str | None = None) -> Any:
        fetched = self.client.fetch_catalog(etag)
        self.calls.append((etag, fetched.not_modified))
        return fetched


# -- the gateway endpoint ------------------------------------------------------------------------


def test_the_gateway_serves_the_deployed_bundle_with_a_strong_etag(
        deployment: Deployment, signer: Ed25519PrivateKey) -> None:
    data = _sign(signer, 1)
    deployment.deploy(data)
    headers = deployment.token()
    response = deployment.get(headers)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == _etag(data)
    assert "no-cache" in response.headers["cache-control"]

    for tag in (_etag(data), f"W/{_etag(data)}", f'"other", {_etag(data)}', "*"):
        again = deployment.get({**headers, "If-None-Match": tag})
        assert (again.status_code, again.content) == (304, b""), tag
        assert again.headers["etag"] == _etag(data)
    assert deployment.get({**headers, "If-None-Match": '"other"'}).status_code == 200

    newer = _sign(signer, 2)
    deployment.deploy(newer)  # served at the next request, no restart
    response = deployment.get({**headers, "If-None-Match": _etag(data)})
    assert (response.status_code, response.headers["etag"]) == (200, _etag(newer))
    assert response.content == newer


def test_the_catalog_needs_a_token_with_the_catalog_scope(
        deployment: Deployment, signer: Ed25519PrivateKey) -> None:
    deployment.deploy(_sign(signer, 1))
    anonymous = deployment.get({})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    backoffice = add_device(deployment.gateway.db_url, tenant_code=TENANT, mode="backoffice")
    refused = deployment.get(deployment.token(backoffice))
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "E1007"
    assert "files" not in refused.text


def test_no_deployed_bundle_answers_404_in_the_envelope(deployment: Deployment) -> None:
    response = deployment.get(deployment.token())
    assert response.status_code == 404
    body = response.json()
    assert body["_links"]["self"]["href"] == CATALOG_PATH
    assert "カタログ" in body["detail"]


def test_a_gateway_without_a_catalog_setting_answers_404(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running = _start(tmp_path, monkeypatch, None)
    try:
        kiosk = add_device(running.db_url, tenant_code=TENANT, mode="kiosk")
        with LinkageClient(running.url, credentials=kiosk) as client:
            result = update_catalog(client, tmp_path / "profile", {}, NOW)
        assert (result.outcome, result.version) == ("not_offered", None)
    finally:
        running.stop()


@pytest.mark.parametrize(("header", "expected"), [
    (None, False), ("", False), ('"a"', True), ('W/"a"', True), ('"b", "a"', True),
    ("*", True), ('"b"', False), ('"a', False),
])
def test_if_none_match_follows_rfc_9110(header: str | None, expected: bool) -> None:
    assert etag_matches(header, '"a"') is expected


# -- the device -------------------------------------------------------------------------------


def test_a_device_installs_then_asks_by_etag(deployment: Deployment, signer: Ed25519PrivateKey,
                                             keys: dict[str, Any], tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    first = _sign(signer, 1)
    deployment.deploy(first)
    with LinkageClient(deployment.gateway.url, credentials=deployment.kiosk) as real:
        client = RecordingClient(real)
        result = update_catalog(client, profile, keys, NOW)
        assert (result.outcome, result.version, result.reason) == ("installed", 1, None)
        assert update_catalog(client, profile, keys, NOW).outcome == "unchanged"
        assert client.calls == [(None, False), (_etag(first), True)]

        second = _sign(signer, 2)
        deployment.deploy(second)
        assert update_catalog(client, profile, keys, NOW).version == 2
        assert client.calls[-1] == (_etag(first), False)
    folder = profile / CATALOG_DIR
    assert (bundle_version(folder / CURRENT_BUNDLE), bundle_version(folder / PREVIOUS_BUNDLE)) == (
        2, 1)
    assert json.loads((folder / FETCH_STATE).read_bytes())["etag"] == _etag(second)
    active = active_catalog(profile, keys, NOW)
    assert (active.origin, active.version) == ("current", 2)


REFUSED = {
    "rolled back": ("catalog.bundle_rollback", lambda s: _sign(s, 1)),
    "replayed": ("catalog.bundle_replay", lambda s: _sign(s, 2, extra="# other\n")),
    "expired": ("catalog.bundle_expired", lambda s: _sign(s, 3, valid=-timedelta(minutes=1))),
    "unknown key": ("catalog.bundle_unknown_key",
                    lambda s: _sign(Ed25519PrivateKey.generate(), 3)),
    "tampered": ("catalog.bundle_bad_signature",
                 lambda s: _sign(s, 3).replace(b"id: alpha", b"id: alphb")),
    "not a bundle": ("catalog.bundle_malformed", lambda s: b"<html>captive portal</html>"),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_a_refused_bundle_leaves_the_installed_catalog_active(
        deployment: Deployment, signer: Ed25519PrivateKey, keys: dict[str, Any],
        tmp_path: Path, kind: str) -> None:
    profile = tmp_path / "profile"
    with LinkageClient(deployment.gateway.url, credentials=deployment.kiosk) as client:
        deployment.deploy(_sign(signer, 2))
        assert update_catalog(client, profile, keys, NOW).outcome == "installed"
        installed = {p.name: p.read_bytes() for p in (profile / CATALOG_DIR).iterdir()}
        reason, make = REFUSED[kind]
        deployment.deploy(make(signer))
        for _ in range(2):  # not remembered: refused again at the next check, not "unchanged"
            result = update_catalog(client, profile, keys, NOW)
            assert (result.outcome, result.version, result.reason) == ("refused", 2, reason)
    assert {p.name: p.read_bytes() for p in (profile / CATALOG_DIR).iterdir()} == installed
    assert active_catalog(profile, keys, NOW).version == 2


def test_a_damaged_current_bundle_is_downloaded_again(
        deployment: Deployment, signer: Ed25519PrivateKey, keys: dict[str, Any],
        tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    deployment.deploy(_sign(signer, 1))
    with LinkageClient(deployment.gateway.url, credentials=deployment.kiosk) as real:
        client = RecordingClient(real)
        update_catalog(client, profile, keys, NOW)
        deployment.deploy(_sign(signer, 2))
        update_catalog(client, profile, keys, NOW)
        current = profile / CATALOG_DIR / CURRENT_BUNDLE
        current.write_bytes(current.read_bytes()[:-10])
        assert active_catalog(profile, keys, NOW).version == 1  # the last good one
        result = update_catalog(client, profile, keys, NOW)
        assert (result.outcome, result.version) == ("installed", 2)
        assert client.calls[-1] == (None, False)  # no ETag: a 304 would keep the damage
    assert active_catalog(profile, keys, NOW).origin == "current"


def test_a_profile_that_cannot_be_written_keeps_its_catalog(
        deployment: Deployment, signer: Ed25519PrivateKey, keys: dict[str, Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = tmp_path / "profile"
    deployment.deploy(_sign(signer, 1))
    with LinkageClient(deployment.gateway.url, credentials=deployment.kiosk) as client:
        update_catalog(client, profile, keys, NOW)
        deployment.deploy(_sign(signer, 2))
        real_replace = os.replace

        def disk_full(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
            if Path(target).name == CURRENT_BUNDLE:
                raise OSError(28, "No space left on device")
            real_replace(source, target, *args, **kwargs)

        monkeypatch.setattr(os, "replace", disk_full)
        with pytest.raises(OSError):
            update_catalog(client, profile, keys, NOW)
        monkeypatch.undo()
        assert active_catalog(profile, keys, NOW).version == 1
        assert update_catalog(client, profile, keys, NOW).version == 2
