"""Status lifecycle over real HTTP: history and versions, the device feed, withdraw, back office."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.protocol import (
    ALLOWED_TRANSITIONS,
    ApplicationStatus,
    ApplicationStatusCode,
    DeviceCredentials,
    OutboundApplication,
)
from tests.sync.conftest import Bearer

API = "/madoguchi/v1"
APPLICATIONS = f"{API}/applications"
S = ApplicationStatusCode

PayloadJson = Callable[..., dict[str, Any]]


class Caller:
    """A registered device talking to the gateway with its own token."""

    def __init__(self, gateway: RunningGateway, credentials: DeviceCredentials,
                 bearer: Bearer) -> None:
        self.credentials = credentials
        self.http = httpx.Client(base_url=gateway.url, timeout=10.0,
                                 headers=bearer(credentials))

    def submit(self, body: dict[str, Any]) -> httpx.Response:
        body["metadata"]["deviceId"] = self.credentials.device_id
        body["metadata"]["channel"] = self.credentials.mode
        body["metadata"]["shikuchosonkodo"] = self.credentials.tenant_code
        key = {"Idempotency-Key": body["metadata"]["applicationId"]}
        return self.http.post(APPLICATIONS, json=body, headers=key)

    def status(self, application_id: str) -> httpx.Response:
        return self.http.get(f"{APPLICATIONS}/{application_id}")

    def feed(self, **params: Any) -> httpx.Response:
        return self.http.get(APPLICATIONS, params=params)

    def withdraw(self, application_id: str, body: Any = None) -> httpx.Response:
        if body is None:
            return self.http.post(f"{APPLICATIONS}/{application_id}/withdraw")
        return self.http.post(f"{APPLICATIONS}/{application_id}/withdraw", json=body)

    def report(self, application_id: str, status: str, version: int,
               reason_code: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"status": status, "version": version}
        if reason_code:
            body["reasonCode"] = reason_code
        return self.http.post(f"{APPLICATIONS}/{application_id}/status", json=body)

    def outbound(self, **params: Any) -> httpx.Response:
        return self.http.get(f"{API}/outbound", params=params)


def statuses(response: httpx.Response) -> list[ApplicationStatus]:
    assert response.status_code == 200, response.text
    return [ApplicationStatus.model_validate(item) for item in response.json()["result"]]


def one(response: httpx.Response) -> ApplicationStatus:
    [status] = statuses(response)
    return status


def codes(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    return [error["code"] for error in response.json()["errors"]]


def _caller(gateway: RunningGateway, credentials: DeviceCredentials,
            bearer: Bearer) -> Iterator[Caller]:
    caller = Caller(gateway, credentials, bearer)
    try:
        yield caller
    finally:
        caller.http.close()


@pytest.fixture
def kiosk(gateway: RunningGateway, kiosk_credentials: DeviceCredentials,
          bearer: Bearer) -> Iterator[Caller]:
    yield from _caller(gateway, kiosk_credentials, bearer)


@pytest.fixture
def counter(gateway: RunningGateway, counter_credentials: DeviceCredentials,
            bearer: Bearer) -> Iterator[Caller]:
    yield from _caller(gateway, counter_credentials, bearer)


@pytest.fixture
def backoffice(gateway: RunningGateway, backoffice_credentials: DeviceCredentials,
               bearer: Bearer) -> Iterator[Caller]:
    yield from _caller(gateway, backoffice_credentials, bearer)


@pytest.fixture
def other_kiosk(gateway: RunningGateway, bearer: Bearer) -> Iterator[Caller]:
    credentials = add_device(gateway.db_url, tenant_code="131016", mode="kiosk",
                             device_id="KIOSK-OTHER")
    yield from _caller(gateway, credentials, bearer)


def submitted(caller: Caller, make_payload_json: PayloadJson) -> str:
    body = make_payload_json()
    assert caller.submit(body).status_code == 201
    application_id: str = body["metadata"]["applicationId"]
    return application_id


def test_new_application_is_received_at_version_one(
    kiosk: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    status = one(kiosk.status(application_id))
    assert (status.status, status.version, status.seq) == ("RECEIVED", 1, 1)
    assert [(e.status, e.version) for e in status.history] == [("RECEIVED", 1)]
    assert status.updated_at == status.received_at


def test_review_path_raises_version_and_keeps_history(
    kiosk: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    path = [S.FORWARDED, S.IN_REVIEW, S.NEEDS_CORRECTION, S.IN_REVIEW, S.COMPLETED]
    for version, target in enumerate(path, start=1):
        reason = "MISSING_DOC" if target is S.NEEDS_CORRECTION else None
        changed = one(backoffice.report(application_id, target.value, version, reason))
        assert (changed.status, changed.version) == (target.value, version + 1)

    status = one(kiosk.status(application_id))
    assert [e.status for e in status.history] == ["RECEIVED", *path]
    assert [e.version for e in status.history] == [1, 2, 3, 4, 5, 6]
    assert status.history[3].reason_code == "MISSING_DOC"
    assert status.seq == 6  # every change took a new feed position


@pytest.mark.parametrize("current", [S.RECEIVED, S.FORWARDED, S.COMPLETED])
def test_transition_outside_the_table_is_e1010(
    kiosk: Caller,
    backoffice: Caller,
    make_payload_json: PayloadJson,
    current: ApplicationStatusCode,
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    path = {S.RECEIVED: [], S.FORWARDED: [S.FORWARDED],
            S.COMPLETED: [S.FORWARDED, S.IN_REVIEW, S.COMPLETED]}[current]
    for version, target in enumerate(path, start=1):
        one(backoffice.report(application_id, target.value, version))
    version = len(path) + 1
    refused = [target for target in S if target not in ALLOWED_TRANSITIONS[current]]
    assert refused
    for target in refused:
        response = backoffice.report(application_id, target.value, version)
        assert codes(response, 409) == ["E1010"], target
    assert one(kiosk.status(application_id)).version == version


def test_stale_version_is_e1010_and_the_same_report_again_is_idempotent(
    kiosk: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    first = backoffice.report(application_id, "FORWARDED", 1)
    again = backoffice.report(application_id, "FORWARDED", 1)
    assert one(again) == one(first)
    assert "既に反映" in again.json()["metadata"]["detail"]
    # Another report based on the old version is refused: someone moved it first.
    assert codes(backoffice.report(application_id, "ERROR", 1), 409) == ["E1010"]
    # A version from the future too.
    assert codes(backoffice.report(application_id, "IN_REVIEW", 7), 409) == ["E1010"]
    assert one(kiosk.status(application_id)).version == 2


def test_repeat_with_another_reason_is_not_the_same_report(
    kiosk: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    one(backoffice.report(application_id, "FORWARDED", 1))
    one(backoffice.report(application_id, "IN_REVIEW", 2))
    one(backoffice.report(application_id, "NEEDS_CORRECTION", 3, "A"))
    repeated = backoffice.report(application_id, "NEEDS_CORRECTION", 3, "B")
    assert codes(repeated, 409) == ["E1010"]


def test_bad_status_report_is_400(
    kiosk: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    response = backoffice.http.post(f"{APPLICATIONS}/{application_id}/status",
                                    json={"status": "DONE", "version": 0})
    assert set(codes(response, 400)) == {"E0002"}


def test_withdraw_is_idempotent(kiosk: Caller, make_payload_json: PayloadJson) -> None:
    application_id = submitted(kiosk, make_payload_json)
    first = one(kiosk.withdraw(application_id, {"reasonCode": "CHANGED_MIND"}))
    assert (first.status, first.version) == ("WITHDRAWN", 2)
    assert first.history[-1].reason_code == "CHANGED_MIND"
    again = kiosk.withdraw(application_id)  # no body at all is fine too
    assert one(again) == first
    assert "既に" in again.json()["metadata"]["detail"]


def test_withdraw_after_a_decision_is_e1010(
    kiosk: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    for version, target in enumerate(("FORWARDED", "IN_REVIEW", "REJECTED"), start=1):
        one(backoffice.report(application_id, target, version))
    assert codes(kiosk.withdraw(application_id), 409) == ["E1010"]
    assert one(kiosk.status(application_id)).status == "REJECTED"


def test_only_the_submitting_device_or_a_counter_may_withdraw(
    kiosk: Caller, other_kiosk: Caller, counter: Caller, make_payload_json: PayloadJson
) -> None:
    application_id = submitted(kiosk, make_payload_json)
    # Another kiosk of the same town cannot see it at all.
    assert codes(other_kiosk.status(application_id), 404) == []
    assert codes(other_kiosk.withdraw(application_id), 404) == []
    assert statuses(other_kiosk.feed()) == []
    # A counter can, for the resident standing at it; its feed still lists only its own.
    assert one(counter.status(application_id)).status == "RECEIVED"
    assert one(counter.withdraw(application_id)).status == "WITHDRAWN"
    assert statuses(counter.feed()) == []
    assert [s.status for s in statuses(kiosk.feed())] == ["WITHDRAWN"]


def test_feed_lists_this_devices_changes_by_seq(
    kiosk: Caller, other_kiosk: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    mine = [submitted(kiosk, make_payload_json) for _ in range(3)]
    submitted(other_kiosk, make_payload_json)
    one(backoffice.report(mine[0], "FORWARDED", 1))

    feed = statuses(kiosk.feed())
    assert [s.application_id for s in feed] == [mine[1], mine[2], mine[0]]
    assert [s.seq for s in feed] == sorted(s.seq for s in feed)
    assert feed[-1].status == "FORWARDED"
    assert feed[-1].history[-1].status == "FORWARDED"

    cursor = feed[-1].seq
    assert statuses(kiosk.feed(cursor=cursor)) == []
    one(backoffice.report(mine[1], "FORWARDED", 1))
    [changed] = statuses(kiosk.feed(cursor=cursor))
    assert (changed.application_id, changed.version) == (mine[1], 2)


def test_feed_pages_with_next_link(kiosk: Caller, make_payload_json: PayloadJson) -> None:
    ids = [submitted(kiosk, make_payload_json) for _ in range(5)]
    seen: list[str] = []
    response = kiosk.feed(limit=2)
    pages = 0
    while True:
        pages += 1
        seen.extend(s.application_id for s in statuses(response))
        link = response.json()["_links"].get("next")
        if link is None:
            break
        response = kiosk.http.get(link["href"])
    assert seen == ids
    assert pages == 3


def test_feed_updated_since(kiosk: Caller, make_payload_json: PayloadJson) -> None:
    submitted(kiosk, make_payload_json)
    assert len(statuses(kiosk.feed(updatedSince="2020-01-01T00:00:00+09:00"))) == 1
    assert statuses(kiosk.feed(updatedSince="2999-01-01T00:00:00+09:00")) == []
    naive = kiosk.feed(updatedSince="2020-01-01T00:00:00")
    assert codes(naive, 400) == ["E0002"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"cursor": -1}])
def test_feed_bounds(kiosk: Caller, params: dict[str, int]) -> None:
    assert codes(kiosk.feed(**params), 400)


def test_outbound_gives_content_by_seq(
    kiosk: Caller, counter: Caller, backoffice: Caller, make_payload_json: PayloadJson
) -> None:
    first = submitted(kiosk, make_payload_json)
    second = submitted(counter, make_payload_json)

    page = backoffice.outbound(status="RECEIVED")
    items = [OutboundApplication.model_validate(item) for item in page.json()["result"]]
    assert [(i.application_id, i.device_id) for i in items] == [
        (first, "KIOSK-TEST"), (second, "COUNTER-TEST")]
    assert items[0].payload["procedures"][0]["data"]["shimei"] == "窓口　太郎"
    assert items[0].payload["metadata"]["applicationId"] == first

    one(backoffice.report(first, "FORWARDED", 1))
    received = backoffice.outbound(status="RECEIVED").json()["result"]
    assert [item["applicationId"] for item in received] == [second]
    since = backoffice.outbound(since=items[-1].seq).json()["result"]
    assert [(item["applicationId"], item["status"]) for item in since] == [(first, "FORWARDED")]
    assert codes(backoffice.outbound(status="SENT"), 400) == ["E0002"]


def test_outbound_pages(kiosk: Caller, backoffice: Caller,
                        make_payload_json: PayloadJson) -> None:
    ids = [submitted(kiosk, make_payload_json) for _ in range(3)]
    page = backoffice.outbound(limit=2).json()
    assert [item["applicationId"] for item in page["result"]] == ids[:2]
    rest = backoffice.http.get(page["_links"]["next"]["href"]).json()
    assert [item["applicationId"] for item in rest["result"]] == ids[2:]
    assert "next" not in rest["_links"]


def test_submission_must_match_the_callers_device_and_channel(
    kiosk: Caller, make_payload_json: PayloadJson
) -> None:
    body = make_payload_json()
    key = {"Idempotency-Key": body["metadata"]["applicationId"]}
    body["metadata"]["deviceId"] = "KIOSK-OTHER"
    response = kiosk.http.post(APPLICATIONS, json=body, headers=key)
    assert codes(response, 400) == ["E0004"]
    assert response.json()["errors"][0]["field"] == "/metadata/deviceId"

    body["metadata"]["deviceId"] = "KIOSK-TEST"
    body["metadata"]["channel"] = "counter"
    response = kiosk.http.post(APPLICATIONS, json=body, headers=key)
    assert codes(response, 400) == ["E0004"]
    assert response.json()["errors"][0]["field"] == "/metadata/channel"


def test_audit_head_is_kept(
    kiosk: Caller, gateway: RunningGateway, make_payload_json: PayloadJson
) -> None:
    from sync.gateway.store import GatewayStore

    body = make_payload_json()
    body["metadata"]["auditHead"] = "ab" * 32
    assert kiosk.submit(body).status_code == 201
    store = GatewayStore(gateway.db_url)
    try:
        [stored] = store.applications()
    finally:
        store.close()
    assert stored.audit_head == "ab" * 32
    assert (stored.device_id, stored.channel) == ("KIOSK-TEST", "kiosk")
