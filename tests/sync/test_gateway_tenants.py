"""Tenant isolation: no call with one municipality's token reads or changes another's data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from sync.protocol import DeviceCredentials
from tests.sync.conftest import OTHER_TENANT, Bearer

API = "/madoguchi/v1"
APPLICATIONS = f"{API}/applications"
UNKNOWN = "01J00000000000000000009999"

PayloadJson = Callable[..., dict[str, Any]]


@pytest.fixture
def client(gateway: RunningGateway, bearer: Bearer) -> Iterator[Callable[..., httpx.Client]]:
    opened: list[httpx.Client] = []

    def make(credentials: DeviceCredentials) -> httpx.Client:
        http = httpx.Client(base_url=gateway.url, timeout=10.0, headers=bearer(credentials))
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def home_application(
    client: Callable[..., httpx.Client],
    kiosk_credentials: DeviceCredentials,
    make_payload_json: PayloadJson,
) -> str:
    """An application of tenant 131016 sent by its kiosk KIOSK-TEST."""
    body = make_payload_json()
    application_id: str = body["metadata"]["applicationId"]
    response = client(kiosk_credentials).post(
        APPLICATIONS, json=body, headers={"Idempotency-Key": application_id})
    assert response.status_code == 201
    return application_id


def _calls(application_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", f"{APPLICATIONS}/{application_id}", None),
        ("POST", f"{APPLICATIONS}/{application_id}/withdraw", {}),
        ("POST", f"{APPLICATIONS}/{application_id}/status", {"status": "FORWARDED", "version": 1}),
    ]


def _same_answer(found: httpx.Response, unknown: httpx.Response, found_id: str) -> None:
    assert found.status_code == unknown.status_code == 404
    assert found.text.replace(found_id, UNKNOWN) == unknown.text
    ignore = {"date", "content-length"}
    assert {k: v for k, v in found.headers.items() if k not in ignore} == {
        k: v for k, v in unknown.headers.items() if k not in ignore}


@pytest.mark.parametrize("mode", ["kiosk", "counter", "backoffice"])
def test_another_tenant_gets_the_answer_for_an_unknown_id(
    gateway: RunningGateway,
    client: Callable[..., httpx.Client],
    home_application: str,
    gateway_store: GatewayStore,
    mode: str,
) -> None:
    # The same device id as the home kiosk, in another municipality.
    stranger = add_device(gateway.db_url, tenant_code=OTHER_TENANT, mode=mode,
                          device_id="KIOSK-TEST")
    http = client(stranger)
    compared = 0
    for (method, path, body), (_, unknown_path, _) in zip(
        _calls(home_application), _calls(UNKNOWN), strict=True
    ):
        found = http.request(method, path, json=body)
        if found.status_code == 403:  # this mode may not make the call at all
            continue
        _same_answer(found, http.request(method, unknown_path, json=body), home_application)
        compared += 1
    assert compared == 2  # each mode may make two of the three calls
    # The home application is untouched.
    [stored] = gateway_store.applications()
    assert (stored.tenant_code, stored.status, stored.version) == ("131016", "RECEIVED", 1)


def test_another_tenants_feeds_are_empty(
    gateway: RunningGateway, client: Callable[..., httpx.Client], home_application: str
) -> None:
    kiosk = add_device(gateway.db_url, tenant_code=OTHER_TENANT, mode="kiosk",
                       device_id="KIOSK-TEST")
    backoffice = add_device(gateway.db_url, tenant_code=OTHER_TENANT, mode="backoffice")
    feed = client(kiosk).get(APPLICATIONS)
    assert feed.status_code == 200
    assert feed.json()["result"] == []
    outbound = client(backoffice).get(f"{API}/outbound")
    assert outbound.status_code == 200
    assert outbound.json()["result"] == []


def test_submitting_for_another_tenant_is_forbidden(
    client: Callable[..., httpx.Client],
    other_tenant_credentials: DeviceCredentials,
    gateway_store: GatewayStore,
    make_payload_json: PayloadJson,
) -> None:
    body = make_payload_json()  # metadata names tenant 131016
    response = client(other_tenant_credentials).post(
        APPLICATIONS, json=body, headers={"Idempotency-Key": body["metadata"]["applicationId"]})
    assert response.status_code == 403
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("E1007", "/metadata/shikuchosonkodo")]
    assert gateway_store.applications() == []


def test_same_application_id_in_another_tenant_is_another_application(
    client: Callable[..., httpx.Client],
    other_tenant_credentials: DeviceCredentials,
    home_application: str,
    gateway_store: GatewayStore,
    make_payload_json: PayloadJson,
) -> None:
    body = make_payload_json(home_application, shimei="窓口　花子")
    body["metadata"]["shikuchosonkodo"] = OTHER_TENANT
    http = client(other_tenant_credentials)
    response = http.post(APPLICATIONS, json=body, headers={"Idempotency-Key": home_application})
    # Not a conflict with (nor a replay of) the home tenant's application: its own record.
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()["result"][0]["uketsukeBango"].endswith("-000001")
    theirs = http.get(f"{APPLICATIONS}/{home_application}").json()["result"][0]
    assert theirs["uketsukeBango"] == response.json()["result"][0]["uketsukeBango"]
    home = gateway_store.applications("131016")
    assert [a.payload["procedures"][0]["data"]["shimei"] for a in home] == ["窓口　太郎"]
