"""Outbox delivery against the real gateway on loopback: receipts, retries, refusals, isolation
of bad items, passes that stop, and the status feed."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.config import DeviceConfig
from desk.store.drafts import MAX_RETRY_DELAY, PAYLOAD_UNREADABLE, DraftStore, ServerStatus
from desk.store.keys import MemoryKeyStore
from sync.client import LinkageClient
from sync.errors import RejectedError
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from sync.mapping import audit_head_of, build_payload, payload_to_json
from sync.outbox import (
    BACKOFF_CAP_SECONDS,
    INTERNAL_ERROR,
    MAX_DELAY,
    PAYLOAD_INVALID,
    Refusal,
    StopReason,
    backoff_seconds,
    deliver_due,
    poll_status,
    refusal_text,
    server_status_of,
)
from sync.protocol import ApiError, ApplicationPayload, DeviceCredentials
from tests.sync.scripted_server import FAKE_CREDENTIALS

NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


def finalized(store: DraftStore, gateway_url: str = "http://127.0.0.1:9", **data: object) -> str:
    """Create and finalize a fake kiosk application; returns its id."""
    draft = store.create(("juminhyo-utsushi",), mode="kiosk", desk_id="lobby",
                         position="shimei")
    device = DeviceConfig("kiosk", "131016", "KIOSK-TEST", "lobby", gateway_url)
    payload = build_payload(
        application_id=draft.id,
        procedures=[("juminhyo-utsushi", "1",
                     {"shimei": "窓口　太郎", "jusho_yubinbango": "1000014", **data})],
        device=device,
        captured_at=NOW, consent_purpose="上記のとおり請求します。",
        audit_head=audit_head_of(store),
    )
    store.finalize(draft.id, payload_to_json(payload))
    return draft.id


def test_delivery_stores_the_receipt_and_the_gateway_holds_one_record(
    store: DraftStore, gateway: RunningGateway, gateway_store: GatewayStore,
    kiosk_credentials: DeviceCredentials,
) -> None:
    application_id = finalized(store, gateway.url)
    created = store.audit_log().entries(subject=application_id)[0]  # the head when frozen
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        report = deliver_due(store, client)
        assert deliver_due(store, client).received == {}  # nothing left to send
    number = report.received[application_id]
    summary = store.summary(application_id)
    (held,) = gateway_store.applications()
    assert summary.uketsuke_bango == number
    assert summary.received_at == held.received_at  # the server's time, not the device's
    assert held.application_id == application_id and held.uketsuke_bango == number
    assert held.payload["procedures"][0]["data"]["shimei"] == "窓口　太郎"
    assert held.payload["metadata"]["auditHead"] == created.entry_hash
    assert store.outbox_state(application_id) == ("done", 1, None)
    assert report.stopped is None


def test_retry_after_an_unknown_outcome_creates_no_duplicate(
    store: DraftStore, gateway: RunningGateway, gateway_store: GatewayStore,
    kiosk_credentials: DeviceCredentials,
) -> None:
    application_id = finalized(store, gateway.url)
    (entry,) = store.claim_due()
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        # The first send reached the gateway, but the device crashed before storing the receipt.
        first = client.submit(ApplicationPayload.model_validate(entry.payload))
        store.recover_in_flight()
        report = deliver_due(store, client)
    assert report.received[application_id] == first.uketsuke_bango
    assert len(gateway_store.applications()) == 1


def test_network_down_backs_off_one_and_leaves_the_rest_untouched(store: DraftStore) -> None:
    first, second, third = finalized(store), finalized(store), finalized(store)
    now = dt.datetime.now(dt.UTC)
    with LinkageClient("http://127.0.0.1:9", credentials=FAKE_CREDENTIALS, timeout=2) as client:
        report = deliver_due(store, client, now=now, rng=random.Random(1))
    assert report.retrying == [first]  # nothing answers: one try is enough to know
    assert store.outbox_state(first) == ("pending", 1, "network")
    assert store.outbox_state(second)[:2] == ("pending", 0)
    assert store.outbox_state(third)[:2] == ("pending", 0)
    assert store.claim_due(now=now) == []  # all wait as long as the first
    assert len(store.claim_due(now=now + dt.timedelta(seconds=BACKOFF_CAP_SECONDS))) == 3


def test_refused_item_needs_attention_and_does_not_block_the_queue(
    store: DraftStore, gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    done = finalized(store, gateway.url)
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        deliver_due(store, client)
    # Another body already arrived under one application's id (as a buggy or cloned device
    # would send): the gateway answers 409 E1009 for it, and the item behind it still goes.
    conflicting = finalized(store, gateway.url)
    good = finalized(store, gateway.url)
    (first, _second) = store.claim_due()
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        altered = dict(first.payload)
        altered["procedures"] = [dict(altered["procedures"][0], data={"shimei": "別　人"})]
        client.submit(ApplicationPayload.model_validate(altered))
        store.recover_in_flight()
        report = deliver_due(store, client)
    assert report.needs_attention == [conflicting]
    assert good in report.received
    state, _attempts, error = store.outbox_state(conflicting)
    assert (state, error) == ("attention", "409 E1009@/metadata/applicationId")
    assert Refusal.parse(error) == Refusal(409, (("E1009", "/metadata/applicationId"),))
    assert store.summary(conflicting).status == "ATTENTION"
    assert store.summary(done).uketsuke_bango is not None


def test_tampered_payload_is_parked_alone(
    store: DraftStore, gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    bad, good = finalized(store, gateway.url), finalized(store, gateway.url)
    with sqlite3.connect(store.path) as plain:  # another row's ciphertext moved in
        moved = plain.execute("SELECT payload FROM outbox WHERE application_id = ?",
                              (good,)).fetchone()[0]
        plain.execute("UPDATE outbox SET payload = ? WHERE application_id = ?", (moved, bad))
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        report = deliver_due(store, client)
    assert report.needs_attention == [bad]
    assert list(report.received) == [good]
    assert store.outbox_state(bad) == ("attention", 0, PAYLOAD_UNREADABLE)


def test_payload_that_no_longer_validates_is_parked_alone(
    store: DraftStore, gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    draft = store.create(("juminhyo-utsushi",), mode="kiosk", desk_id="lobby", position="x")
    store.finalize(draft.id, {"metadata": {"applicationId": draft.id}, "shimei": "窓口　太郎"})
    good = finalized(store, gateway.url)
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        report = deliver_due(store, client)
    assert report.needs_attention == [draft.id]
    assert list(report.received) == [good]
    assert store.outbox_state(draft.id) == ("attention", 1, PAYLOAD_INVALID)


def test_refused_credentials_stop_the_pass_and_blame_no_item(
    store: DraftStore, gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    first, second = finalized(store, gateway.url), finalized(store, gateway.url)
    wrong = kiosk_credentials.model_copy(update={"client_secret": "x" * 43})
    with LinkageClient(gateway.url, credentials=wrong) as client:
        report = deliver_due(store, client)
    assert report.stopped is StopReason.CREDENTIALS_REFUSED
    assert (report.received, report.retrying, report.needs_attention) == ({}, [], [])
    assert store.outbox_state(first) == ("pending", 0, "credentials_refused")
    assert store.outbox_state(second)[:2] == ("pending", 0)
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        assert sorted(deliver_due(store, client).received) == sorted([first, second])


def test_an_unexpected_failure_leaves_nothing_in_flight(
    store: DraftStore, gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    ids = [finalized(store, gateway.url) for _ in range(3)]

    class Breaks(LinkageClient):
        def submit(self, payload: ApplicationPayload) -> object:  # type: ignore[override]
            if payload.metadata.application_id == ids[1]:
                raise RuntimeError("bug")
            return super().submit(payload)

    with Breaks(gateway.url, credentials=kiosk_credentials) as client, \
            pytest.raises(RuntimeError):
        deliver_due(store, client)
    assert [store.outbox_state(i) for i in ids] == [
        ("done", 1, None), ("pending", 1, INTERNAL_ERROR), ("pending", 0, None)]


def test_poll_status_keeps_newer_versions_and_the_cursor(
    store: DraftStore, gateway: RunningGateway, kiosk_credentials: DeviceCredentials
) -> None:
    first, second = finalized(store, gateway.url), finalized(store, gateway.url)
    with LinkageClient(gateway.url, credentials=kiosk_credentials) as client:
        deliver_due(store, client)
        assert poll_status(store, client, limit=1) == 2  # two pages of one
        cursor = store.sync_cursor()
        assert poll_status(store, client) == 0
        withdrawn = client.withdraw(first)
        assert poll_status(store, client) == 1
    held = store.server_status(first)
    assert held is not None and (held.status, held.version) == ("WITHDRAWN", 2)
    other = store.server_status(second)
    assert other is not None
    assert (other.status, other.version) == ("RECEIVED", 1)
    assert other.uketsuke_bango == store.summary(second).uketsuke_bango
    assert cursor is not None and store.sync_cursor() == withdrawn.seq > cursor
    # A late, older copy of the feed changes nothing.
    stale = server_status_of(withdrawn.model_copy(update={"status": "RECEIVED", "version": 1}))
    assert store.record_statuses([stale], None) == 0
    assert store.server_status(first) == held


def test_statuses_of_unknown_applications_are_not_kept(store: DraftStore) -> None:
    stranger = ServerStatus("01J00000000000000000000999", "RECEIVED", 1, NOW, "20261121-000001")
    assert store.record_statuses([stranger], 5) == 0
    assert store.server_status(stranger.application_id) is None
    assert store.sync_cursor() == 5


def test_backoff_is_full_jitter_and_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, rng) for n in range(30)]
    assert all(0 <= d <= BACKOFF_CAP_SECONDS for d in delays)
    assert max(backoff_seconds(2, random.Random(s)) for s in range(200)) <= 4
    assert MAX_DELAY == MAX_RETRY_DELAY


def test_refusal_text_keeps_codes_and_fields_only() -> None:
    errors = [ApiError(code="E0001", message="窓口　太郎", field="/procedures/0/data/shimei"),
              ApiError(code="E0003", message="…", field="窓口　太郎"),
              ApiError(code="<script>", message="…")]
    text = refusal_text(RejectedError(400, errors))
    assert text == "400 E0001@/procedures/0/data/shimei E0003"
    many = refusal_text(RejectedError(400, [ApiError(code="E0001", message="", field="/a" * 40)]
                                      * 10))
    assert len(many) <= 200 and many.startswith("400 E0001@")
