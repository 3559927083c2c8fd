"""Resident match over real loopback HTTP: 基本４情報 rules, DV 支援措置 looks like "not found"."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from sync.gateway import app as gateway_app
from sync.gateway import server
from sync.gateway.admin import add_device
from sync.gateway.models import make_engine
from sync.gateway.registry import (
    RegistryAction,
    RegistryAudit,
    load_demo_residents,
    match_residents,
    seed_demo_registry,
)
from sync.gateway.server import RunningGateway, start_in_thread
from sync.protocol import DeviceCredentials, ResidentCandidate, ResidentQuery
from tests.sync.conftest import OTHER_TENANT, TENANT, Bearer

ROUTERS = ("sync.gateway.routes_handoffs", "sync.gateway.routes_residents")
MATCH = "/madoguchi/v1/residents/match"
TARO = {"shimei": "窓口　太郎", "seinengappi": "1990-04-01"}
HANAKO = {"shimei": "窓口　花子", "seinengappi": "1992-08-15"}  # under 支援措置 in the demo
NOBODY = {"shimei": "窓口　花子", "seinengappi": "1992-08-16"}
CANDIDATE_FIELDS = set(ResidentCandidate.model_fields)


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningGateway]:
    """The real gateway with these routers included, its registry seeded for tenant 131016."""
    # Until create_app lists these routers itself, include them here (no duplicates after).
    routers = tuple(dict.fromkeys((*gateway_app._EXTRA_ROUTERS, *ROUTERS)))
    monkeypatch.setattr(
        server, "create_app", functools.partial(gateway_app.create_app, extra_routers=routers)
    )
    running = start_in_thread(f"sqlite:///{tmp_path / 'gateway.db'}")
    seed_demo_registry(running.db_url, TENANT)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def privileged_counter(gateway: RunningGateway) -> DeviceCredentials:
    return add_device(gateway.db_url, tenant_code=TENANT, mode="counter",
                      device_id="COUNTER-PRIV", privileged=True)


def _match(gateway: RunningGateway, headers: dict[str, str], **query: Any) -> httpx.Response:
    return httpx.post(f"{gateway.url}{MATCH}", json=query, headers=headers)


def _names(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    return [(c["shimei"], c["jusho_yubinbango"]) for c in response.json()["result"]]


def _audit(db_url: str) -> list[tuple[str, str, int]]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(RegistryAudit).order_by(RegistryAudit.id)).all()
            return [(row.device_id, row.action, row.results) for row in rows]
    finally:
        engine.dispose()


def test_match_needs_birth_date_and_kanji_or_furigana_spaces_aside(
    gateway: RunningGateway, bearer: Bearer, counter_credentials: DeviceCredentials
) -> None:
    counter = bearer(counter_credentials)
    both = [("窓口　太郎", "1000014"), ("窓口　太郎", "1020083")]  # two namesakes, one birthday
    for shimei in ("窓口　太郎", "窓口 太郎", "窓口太郎", " 窓口\u3000 太郎 "):
        assert _names(_match(gateway, counter, shimei=shimei, seinengappi="1990-04-01")) == both
    furigana = {"shimei_furigana": "マドグチ タロウ", "seinengappi": "1990-04-01"}
    assert _names(_match(gateway, counter, **furigana)) == both
    # Either name is enough: a kanji variant staff cannot type still matches by furigana.
    assert _names(_match(gateway, counter, shimei="窓ロ太郎", **furigana)) == both
    # Postcode and sex narrow the result.
    assert _names(_match(gateway, counter, **TARO, jusho_yubinbango="1020083")) == [both[1]]
    assert _names(_match(gateway, counter, **TARO, seibetsu="2")) == []
    # The birth date must match exactly, and the name too.
    assert _names(_match(gateway, counter, shimei="窓口　太郎", seinengappi="1990-04-02")) == []
    assert _names(_match(gateway, counter, shimei="窓口　次郎", seinengappi="1990-04-01")) == [
        ("窓口　次郎", "1000014")
    ]

    response = _match(gateway, counter, **TARO, jusho_yubinbango="1000014")
    assert response.headers["cache-control"] == "no-store"
    envelope = response.json()
    assert envelope["metadata"] == {"title": "住民照合", "detail": "1件の該当がありました。"}
    assert envelope["_links"] == {"self": {"href": MATCH}}
    (candidate,) = envelope["result"]
    assert candidate == {
        "shimei": "窓口　太郎",
        "shimei_furigana": "マドグチ　タロウ",
        "seinengappi": "1990-04-01",
        "seibetsu": "1",
        "jusho_yubinbango": "1000014",
        "jusho": "東京都千代田区永田町一丁目99番99号　見本ハイツ101",
        "jusho_choazakodo": "9999999",
    }


def test_names_are_compared_exactly_never_nfkc_folded(
    gateway: RunningGateway, bearer: Bearer, counter_credentials: DeviceCredentials
) -> None:
    counter = bearer(counter_credentials)
    compat = "架空　\ufa19子"  # CJK compatibility ideograph; NFKC would turn it into 神 (U+795E)
    assert _names(_match(gateway, counter, shimei="架空　神子", seinengappi="1948-05-05")) == []
    (candidate,) = _match(gateway, counter, shimei=compat, seinengappi="1948-05-05").json()[
        "result"
    ]
    assert candidate["shimei"] == compat
    # Full-width digits are not folded either: the birth date is refused, not read as ASCII.
    assert _match(gateway, counter, shimei=compat, seinengappi="１９４８-05-05").status_code == 400


def test_a_suppressed_person_answers_exactly_like_nobody(
    gateway: RunningGateway,
    bearer: Bearer,
    counter_credentials: DeviceCredentials,
    privileged_counter: DeviceCredentials,
) -> None:
    counter = bearer(counter_credentials)
    suppressed = _match(gateway, counter, **HANAKO)
    nobody = _match(gateway, counter, **NOBODY)
    assert suppressed.status_code == nobody.status_code == 200
    assert suppressed.content == nobody.content  # byte for byte
    assert suppressed.json()["result"] == []
    assert suppressed.json()["metadata"]["detail"] == "該当する住民は見つかりませんでした。"

    def headers(response: httpx.Response) -> list[tuple[str, str]]:
        # All headers, in order, except Date (the clock may tick between the two calls).
        return [(k, v) for k, v in response.headers.multi_items() if k.lower() != "date"]

    assert headers(suppressed) == headers(nobody)

    # A privileged counter sees her; the response never carries the suppression itself.
    shown = _match(gateway, bearer(privileged_counter), **HANAKO)
    (candidate,) = shown.json()["result"]
    assert candidate["shimei"] == "窓口　花子"
    assert set(candidate) == CANDIDATE_FIELDS
    assert "suppress" not in shown.text and "shien" not in shown.text

    # Every lookup is audited with device and outcome only; nobody's name or birth date.
    assert _audit(gateway.db_url) == [
        ("COUNTER-TEST", RegistryAction.MATCH_WITHHELD.value, 0),
        ("COUNTER-TEST", RegistryAction.MATCH.value, 0),
        ("COUNTER-PRIV", RegistryAction.MATCH_DISCLOSED.value, 1),
    ]


def test_the_lookup_does_the_same_work_whether_or_not_a_suppressed_person_matched(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = make_engine(url)
    seed_demo_registry(engine, TENANT)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    class Counter:
        tenant_code = TENANT
        device_id = "COUNTER-TEST"
        privileged = False

    now = datetime(2026, 5, 12, tzinfo=UTC)
    try:
        work = []
        for query in (HANAKO, NOBODY):
            statements.clear()
            found = match_residents(engine, ResidentQuery.model_validate(query),
                                    caller=Counter(), now=now)
            assert found == []
            work.append(list(statements))
    finally:
        engine.dispose()
    # The same statements in the same order: the registry query and one audit insert.
    assert work[0] == work[1]
    assert any(s.lstrip().upper().startswith("INSERT INTO REGISTRY_AUDIT") for s in work[0])


def test_other_tenants_kiosks_and_bad_queries(
    gateway: RunningGateway,
    bearer: Bearer,
    kiosk_credentials: DeviceCredentials,
    counter_credentials: DeviceCredentials,
) -> None:
    elsewhere = add_device(gateway.db_url, tenant_code=OTHER_TENANT, mode="counter",
                           device_id="COUNTER-TEST")
    assert _names(_match(gateway, bearer(elsewhere), **TARO)) == []

    refused = _match(gateway, bearer(kiosk_credentials), **TARO)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "E1007"
    assert _match(gateway, {}, **TARO).status_code == 401

    counter = bearer(counter_credentials)
    no_name = _match(gateway, counter, seinengappi="1990-04-01")
    assert no_name.status_code == 400
    assert no_name.json()["errors"] == [
        {"code": "E0001", "message": "必須項目が入力されていません。", "field": "/shimei"}
    ]
    for bad in (
        {**TARO, "seinengappi": "1990/04/01"},
        {**TARO, "jusho_yubinbango": "100-0014"},
        {**TARO, "jusho": "東京都千代田区永田町"},  # unknown field: a lookup is not a search
    ):
        response = _match(gateway, counter, **bad)
        assert response.status_code == 400
        assert "窓口" not in response.text and "永田町" not in response.text


def test_seeding_is_idempotent_and_only_fake_people(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    residents = load_demo_residents()
    assert seed_demo_registry(url, TENANT) == len(residents) >= 10
    assert seed_demo_registry(url, TENANT) == 0
    assert seed_demo_registry(url, OTHER_TENANT) == len(residents)
    assert sum(person["suppressed"] for person in residents) == 1
    family_names = {person["shimei"].split("\u3000")[0] for person in residents}
    assert family_names <= {"窓口", "見本", "試験", "架空", "例示"}
