"""Outbox delivery against the real gateway on loopback: receipts, retries, refusals."""

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
from sync.outbox import BACKOFF_CAP_SECONDS, backoff_seconds, deliver_due

NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


def _finalized(store: DraftStore, gateway_url: str, **data: object) -> str:
    draft = store.create(("juminhyo-utsushi",), mode="kiosk", desk_id="lobby",
                         position="shimei")
    device = DeviceConfig("kiosk", "131016", "KIOSK-TEST", "lobby", gateway_url)
    payload = build_payload(
        application_id=draft.id,
        procedures=[("juminhyo-utsushi", "1",
                     {"shimei": "窓口　太郎", "jusho_yubinbango": "1000014", **data})],
        device=device,
        captured_at=NOW, consent_purpose="上記のとおり請求します。",
    )
    store.finalize(draft.id, payload_to_json(payload))
    return draft.id


def test_delivery_stores_the_receipt_and_the_gateway_holds_one_record(
    store: DraftStore, gateway: RunningGateway, gateway_store: GatewayStore
) -> None:
    application_id = _finalized(store, gateway.url)
    with LinkageClient(gateway.url) as client:
        report = deliver_due(store, client)
        assert deliver_due(store, client).received == {}  # nothing left to send
    number = report.received[application_id]
    assert store.summary(application_id).uketsuke_bango == number
    (held,) = gateway_store.applications()
    assert held.application_id == application_id and held.uketsuke_bango == number
    assert held.payload["procedures"][0]["data"]["shimei"] == "窓口　太郎"


def test_retry_after_an_unknown_outcome_creates_no_duplicate(
    store: DraftStore, gateway: RunningGateway, gateway_store: GatewayStore
) -> None:
    application_id = _finalized(store, gateway.url)
    (entry,) = store.claim_due()
    with LinkageClient(gateway.url) as client:
        from sync.protocol import ApplicationPayload

        # The first send reached the gateway, but the device crashed before storing the receipt.
        client.submit(ApplicationPayload.model_validate(entry.payload))
        store.recover_in_flight()
        report = deliver_due(store, client)
    assert application_id in report.received
    assert len(gateway_store.applications()) == 1


def test_network_down_schedules_a_retry(store: DraftStore) -> None:
    application_id = _finalized(store, "http://127.0.0.1:9")
    now = dt.datetime.now(dt.UTC)
    with LinkageClient("http://127.0.0.1:9", timeout=2) as client:
        report = deliver_due(store, client, now=now, rng=random.Random(1))
    assert report.retrying == [application_id]
    state, attempts, error = store.outbox_state(application_id)
    assert (state, attempts, error) == ("pending", 1, "network")
    assert store.claim_due(now=now) == []  # not due again before its backoff
    assert len(store.claim_due(now=now + dt.timedelta(seconds=BACKOFF_CAP_SECONDS))) == 1


def test_refused_item_needs_attention_and_does_not_block_the_queue(
    store: DraftStore, gateway: RunningGateway
) -> None:
    bad = _finalized(store, gateway.url)
    with LinkageClient(gateway.url) as client:
        deliver_due(store, client)
    # Another body already arrived under one application's id (as a buggy or cloned device
    # would send): the gateway answers 409 E1009 for it, and the item behind it still goes.
    good = _finalized(store, gateway.url)
    conflicting = _finalized(store, gateway.url)
    (first, second) = store.claim_due()
    from sync.protocol import ApplicationPayload

    with LinkageClient(gateway.url) as client:
        altered = dict(second.payload)
        altered["procedures"] = [dict(altered["procedures"][0], data={"shimei": "別　人"})]
        client.submit(ApplicationPayload.model_validate(altered))
        store.recover_in_flight()
        report = deliver_due(store, client)
    assert report.needs_attention == [conflicting]
    assert good in report.received
    assert store.outbox_state(conflicting)[0] == "attention"
    assert store.outbox_state(conflicting)[2] == "E1009"
    assert store.summary(bad).uketsuke_bango is not None
    assert first.application_id == good


def test_backoff_is_full_jitter_and_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, rng) for n in range(30)]
    assert all(0 <= d <= BACKOFF_CAP_SECONDS for d in delays)
    assert max(backoff_seconds(2, random.Random(s)) for s in range(200)) <= 4
