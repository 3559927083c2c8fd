"""Acceptance test 9: the gateway commits, the answer is lost; the retry makes no second record."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.config import DeviceConfig
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.client import LinkageClient
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from sync.mapping import build_payload, payload_to_json
from sync.outbox import MAX_DELAY, deliver_due
from sync.protocol import API_PREFIX, REPLAYED_HEADER, DeviceCredentials
from tests.sync.faultproxy import Fault, FaultProxy

TIMEOUT_S = 0.3  # the faulted attempt: short, so a stalled answer costs little
PATIENT_S = 10.0  # the retry: it must not time out on a loaded machine
SUBMIT = f"{API_PREFIX}/applications"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


@pytest.fixture
def proxy(gateway: RunningGateway) -> Iterator[FaultProxy]:
    # Only submissions get faults: a token request dropped the same way proves nothing here.
    with FaultProxy(gateway.url, match=lambda method, path: (method, path) == ("POST", SUBMIT),
                    hold_limit_s=5.0) as running:
        yield running


def _finalized(store: DraftStore) -> str:
    draft = store.create(("juki-tennyu",), mode="kiosk", desk_id="lobby", position="shimei")
    device = DeviceConfig("kiosk", "131016", "KIOSK-TEST", "lobby", "http://127.0.0.1:9")
    payload = build_payload(
        application_id=draft.id,
        procedures=[("juki-tennyu", "3", {"shimei": "窓口　太郎", "seinengappi": "1990-04-01"})],
        device=device, captured_at=dt.datetime.now(dt.UTC),
        consent_purpose="上記のとおり届け出ます。",
    )
    store.finalize(draft.id, payload_to_json(payload))
    return draft.id


@pytest.mark.parametrize(
    "fault",
    [Fault.commit_then_drop(), Fault.commit_then_stall(), Fault.slow(chunk=24, delay_s=0.6)],
    ids=["dropped", "stalled-past-timeout", "trickled-past-timeout"],
)
def test_retry_after_a_lost_answer_yields_one_record_and_the_original_receipt(
    fault: Fault, store: DraftStore, proxy: FaultProxy, gateway_store: GatewayStore,
    kiosk_credentials: DeviceCredentials,
) -> None:
    application_id = _finalized(store)
    now = dt.datetime.now(dt.UTC)
    proxy.push(fault)
    with LinkageClient(proxy.url, credentials=kiosk_credentials, timeout=TIMEOUT_S) as client:
        first = deliver_due(store, client, now=now, rng=random.Random(0))

    # The gateway committed and answered; the device never saw the answer.
    assert first.retrying == [application_id] and first.received == {}
    assert proxy.idle()
    (lost,) = [c for c in proxy.connections if c.path == SUBMIT]
    assert lost.upstream_status == 201
    (held,) = gateway_store.applications()
    assert held.application_id == application_id
    assert held.uketsuke_bango.encode() in lost.upstream_response
    assert store.summary(application_id).uketsuke_bango is None
    assert store.outbox_state(application_id)[:2] == ("pending", 1)

    later = now + MAX_DELAY + dt.timedelta(seconds=1)
    with LinkageClient(proxy.url, credentials=kiosk_credentials, timeout=PATIENT_S) as client:
        second = deliver_due(store, client, now=later, rng=random.Random(0))

    # Same key, same body: the gateway replays its stored answer and keeps one record.
    assert second.received == {application_id: held.uketsuke_bango}
    assert gateway_store.applications() == [held]
    assert proxy.idle()
    retry = [c for c in proxy.connections if c.path == SUBMIT][-1]
    assert f"{REPLAYED_HEADER.lower()}: true".encode() in retry.upstream_response.lower()
    # The device keeps the original receipt: the 受付番号 and server time of the first commit.
    summary = store.summary(application_id)
    assert summary.status == "RECEIVED"
    assert summary.uketsuke_bango == held.uketsuke_bango
    assert summary.received_at == held.received_at
    assert store.outbox_state(application_id)[0] == "done"


def test_answers_lost_many_times_in_a_row_still_make_one_record(
    store: DraftStore, proxy: FaultProxy, gateway_store: GatewayStore,
    kiosk_credentials: DeviceCredentials,
) -> None:
    application_id = _finalized(store)
    now = dt.datetime.now(dt.UTC)
    proxy.push(Fault.commit_then_drop(), Fault.reset(after_bytes=5), Fault.commit_then_drop(),
               Fault.canned(502), Fault.commit_then_stall())
    with LinkageClient(proxy.url, credentials=kiosk_credentials, timeout=TIMEOUT_S) as client:
        for attempt in range(5):
            report = deliver_due(store, client, now=now, rng=random.Random(attempt))
            assert report.retrying == [application_id]
            now += MAX_DELAY + dt.timedelta(seconds=1)
    assert proxy.clear_script() == []  # every scripted fault met a submission
    with LinkageClient(proxy.url, credentials=kiosk_credentials, timeout=PATIENT_S) as client:
        report = deliver_due(store, client, now=now, rng=random.Random(5))
    assert proxy.idle()
    (held,) = gateway_store.applications()
    assert report.received == {application_id: held.uketsuke_bango}
    assert store.summary(application_id).uketsuke_bango == held.uketsuke_bango
    assert store.outbox_state(application_id)[0] == "done"
