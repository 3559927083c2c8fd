"""Handoffs over real loopback HTTP: push by kiosk, pick-up by counter only, expiry, tenants."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.gateway import app as gateway_app
from sync.gateway import server
from sync.gateway.admin import add_device
from sync.gateway.context import GatewaySettings
from sync.gateway.handoffs import HandoffPickup, HandoffRow, PushOutcome, push_handoff
from sync.gateway.models import make_engine
from sync.gateway.server import RunningGateway, start_in_thread
from sync.protocol import DeviceCredentials, HandoffRequest
from tests.sync.conftest import OTHER_TENANT, TENANT, Bearer

TTL_S = 3600
START = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)
ROUTERS = ("sync.gateway.routes_handoffs", "sync.gateway.routes_residents")
DRAFT = "01J0DRAFT0000000000000000A"
OTHER_DRAFT = "01J0DRAFT0000000000000000B"


@dataclass
class MovableClock:
    """Server time that a test moves on (expiry without sleeping)."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def gateway(
    tmp_path: Path, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningGateway]:
    """The real gateway with these routers included and a movable clock."""
    # Until create_app lists these routers itself, include them here (no duplicates after).
    routers = tuple(dict.fromkeys((*gateway_app._EXTRA_ROUTERS, *ROUTERS)))
    monkeypatch.setattr(
        server, "create_app", functools.partial(gateway_app.create_app, extra_routers=routers)
    )
    running = start_in_thread(
        f"sqlite:///{tmp_path / 'gateway.db'}",
        settings=GatewaySettings(handoff_ttl_s=TTL_S),
        clock=clock,
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def desk_credentials(gateway: RunningGateway) -> DeviceCredentials:
    return add_device(gateway.db_url, tenant_code=TENANT, mode="desk", device_id="DESK-TEST")


@pytest.fixture
def other_counter(gateway: RunningGateway) -> DeviceCredentials:
    return add_device(gateway.db_url, tenant_code=OTHER_TENANT, mode="counter",
                      device_id="COUNTER-TEST")


def _body(code: str = "K7QX3MPA", draft: str = DRAFT, **answers: Any) -> dict[str, Any]:
    return {
        "referenceCode": code,
        "draftId": draft,
        "procedureIds": ["juki-tennyu"],
        "answers": answers or {"shimei": "窓口　太郎", "seinengappi": "1990-04-01"},
    }


def _push(gateway: RunningGateway, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/madoguchi/v1/handoffs", json=body, headers=headers)


def _pick_up(gateway: RunningGateway, headers: dict[str, str], code: str) -> httpx.Response:
    return httpx.get(f"{gateway.url}/madoguchi/v1/handoffs/{code}", headers=headers)


def test_kiosk_pushes_and_counter_picks_up_by_code_in_any_form(
    gateway: RunningGateway,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    counter_credentials: DeviceCredentials,
) -> None:
    pushed = _push(gateway, bearer(kiosk_credentials), _body())
    assert pushed.status_code == 201
    assert pushed.headers["location"] == "/madoguchi/v1/handoffs/K7QX-3MPA"
    envelope = pushed.json()
    assert envelope["metadata"]["title"] == "引継ぎ登録完了"
    assert envelope["result"] == [
        {"referenceCode": "K7QX-3MPA", "expiresAt": "2026-05-12T11:00:00+09:00"}
    ]

    counter = bearer(counter_credentials)
    for typed in ("K7QX-3MPA", "k7qx3mpa", "k7qx-3MPA"):
        picked = _pick_up(gateway, counter, typed)
        assert picked.status_code == 200
        assert picked.headers["cache-control"] == "no-store"
        (handoff,) = picked.json()["result"]
        assert handoff == {
            "referenceCode": "K7QX-3MPA",
            "draftId": DRAFT,
            "deviceId": "KIOSK-TEST",
            "channel": "kiosk",
            "procedureIds": ["juki-tennyu"],
            "answers": {"shimei": "窓口　太郎", "seinengappi": "1990-04-01"},
            "createdAt": "2026-05-12T10:00:00+09:00",
            "expiresAt": "2026-05-12T11:00:00+09:00",
        }

    engine = make_engine(gateway.db_url)
    try:
        with Session(engine) as session:
            pickups = session.scalars(select(HandoffPickup)).all()
    finally:
        engine.dispose()
    assert [(p.reference_code, p.pushed_by, p.picked_up_by) for p in pickups] == [
        ("K7QX-3MPA", "KIOSK-TEST", "COUNTER-TEST")
    ] * 3
    assert all(p.picked_up_at == START for p in pickups)


def test_a_repeat_push_from_the_same_device_replaces_the_answers(
    gateway: RunningGateway,
    clock: MovableClock,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    counter_credentials: DeviceCredentials,
) -> None:
    assert _push(gateway, bearer(kiosk_credentials), _body()).status_code == 201
    clock.now = START + timedelta(minutes=30)  # tokens live 5 minutes: fetch new ones
    more = _body("K7QX-3MPA", shimei="窓口　太郎", x_more="追加")
    again = _push(gateway, bearer(kiosk_credentials), more)
    assert again.status_code == 200
    assert again.json()["result"][0]["expiresAt"] == "2026-05-12T11:30:00+09:00"

    (handoff,) = _pick_up(gateway, bearer(counter_credentials), "K7QX-3MPA").json()["result"]
    assert handoff["answers"] == {"shimei": "窓口　太郎", "x_more": "追加"}
    assert handoff["createdAt"] == "2026-05-12T10:00:00+09:00"


def test_the_same_code_from_another_device_or_draft_is_a_conflict(
    gateway: RunningGateway,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    desk_credentials: DeviceCredentials,
    counter_credentials: DeviceCredentials,
) -> None:
    kiosk = bearer(kiosk_credentials)
    assert _push(gateway, kiosk, _body()).status_code == 201
    for headers, draft in ((bearer(desk_credentials), DRAFT), (kiosk, OTHER_DRAFT)):
        refused = _push(gateway, headers, _body(draft=draft, shimei="見本　一郎"))
        assert refused.status_code == 409
        envelope = refused.json()
        assert envelope["title"] == "整理番号の重複"
        assert envelope["errors"] == [
            {"code": "E0004", "message": "項目間の整合性が取れていません。",
             "field": "/referenceCode"}
        ]
        assert "見本" not in refused.text and "窓口" not in refused.text
    (handoff,) = _pick_up(gateway, bearer(counter_credentials), "K7QX-3MPA").json()["result"]
    assert handoff["answers"]["shimei"] == "窓口　太郎"
    assert handoff["deviceId"] == "KIOSK-TEST"


def test_only_a_counter_may_pick_up(
    gateway: RunningGateway,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    desk_credentials: DeviceCredentials,
) -> None:
    assert _push(gateway, bearer(kiosk_credentials), _body()).status_code == 201
    for credentials in (kiosk_credentials, desk_credentials):
        refused = _pick_up(gateway, bearer(credentials), "K7QX-3MPA")
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["code"] == "E1007"
        assert "窓口" not in refused.text
    anonymous = _pick_up(gateway, {}, "K7QX-3MPA")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def test_expired_other_tenant_and_unknown_codes_answer_alike(
    gateway: RunningGateway,
    clock: MovableClock,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    counter_credentials: DeviceCredentials,
    other_counter: DeviceCredentials,
) -> None:
    counter, elsewhere = bearer(counter_credentials), bearer(other_counter)
    unknown = _pick_up(gateway, counter, "K7QX-3MPA")
    unknown_elsewhere = _pick_up(gateway, elsewhere, "K7QX-3MPA")
    assert unknown.status_code == 404
    assert unknown.json()["title"] == "見つかりません"

    assert _push(gateway, bearer(kiosk_credentials), _body()).status_code == 201
    other_tenant = _pick_up(gateway, elsewhere, "K7QX-3MPA")
    assert (other_tenant.status_code, other_tenant.content) == (404, unknown_elsewhere.content)
    assert _pick_up(gateway, counter, "K7QX-3MPA").status_code == 200

    clock.now = START + timedelta(seconds=TTL_S)
    counter = bearer(counter_credentials)
    expired = _pick_up(gateway, counter, "K7QX-3MPA")
    assert (expired.status_code, expired.content) == (404, unknown.content)
    malformed = _pick_up(gateway, counter, "NOT-A-CODE")
    assert malformed.status_code == 404


def test_expired_handoffs_are_purged_and_free_their_code(
    gateway: RunningGateway,
    clock: MovableClock,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    desk_credentials: DeviceCredentials,
    counter_credentials: DeviceCredentials,
) -> None:
    assert _push(gateway, bearer(kiosk_credentials), _body()).status_code == 201
    assert _push(gateway, bearer(kiosk_credentials), _body("AAAA-BBBB")).status_code == 201
    clock.now = START + timedelta(seconds=TTL_S + 1)
    # The next write clears every expired handoff; the code is free for another device.
    assert _push(gateway, bearer(desk_credentials), _body(shimei="見本　一郎")).status_code == 201
    engine = make_engine(gateway.db_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(HandoffRow)).all()
    finally:
        engine.dispose()
    assert [(row.reference_code, row.device_id) for row in rows] == [("K7QX-3MPA", "DESK-TEST")]
    (handoff,) = _pick_up(gateway, bearer(counter_credentials), "K7QX3MPA").json()["result"]
    assert handoff["answers"] == {"shimei": "見本　一郎"}
    assert handoff["channel"] == "desk"


def test_bad_pushes_are_refused_without_echoing_values(
    gateway: RunningGateway, bearer: Bearer, kiosk_credentials: DeviceCredentials
) -> None:
    kiosk = bearer(kiosk_credentials)
    # "U" passes the wire pattern but is never part of a code this system issues.
    not_issued = _push(gateway, kiosk, _body("K7QX-3MPU"))
    assert not_issued.status_code == 400
    assert not_issued.json()["errors"][0] == {
        "code": "E0002", "message": "値の形式（文字種・型）が正しくありません。",
        "field": "/referenceCode",
    }
    wrong = _body("窓口太郎")
    del wrong["draftId"]
    refused = _push(gateway, kiosk, wrong)
    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"/referenceCode", "/draftId"}
    assert "窓口" not in refused.text


def test_two_devices_pushing_one_new_code_at_once_get_one_handoff(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    engines = [make_engine(url) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[PushOutcome] = []

    def push(index: int) -> None:
        barrier.wait()
        result = push_handoff(
            engines[index], HandoffRequest.model_validate(_body(draft=DRAFT)),
            tenant_code=TENANT, device_id=f"KIOSK-{index}", channel="kiosk", now=START,
            ttl_s=TTL_S,
        )
        outcomes.append(result.outcome)

    threads = [threading.Thread(target=push, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert sorted(outcome.value for outcome in outcomes) == ["conflict", "created"]
