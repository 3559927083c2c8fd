"""Acceptance test 12: the outbox drains after the device clock jumps days forward and back, and
receipts carry the gateway's time, never the device's."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.client import LinkageClient
from sync.gateway.admin import add_device
from sync.gateway.server import start_in_thread
from sync.gateway.store import GatewayStore
from sync.outbox import MAX_DELAY, deliver_due
from tests.sync.test_outbox import finalized

SERVER_NOW = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)  # the gateway's clock, fixed
DAY = dt.timedelta(days=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


def _fail_once(store: DraftStore, device_now: dt.datetime, *, seed: int = 1) -> None:
    """One pass against a dead link, so every item carries a scheduled retry."""
    with LinkageClient("http://127.0.0.1:9", timeout=1) as dead:
        report = deliver_due(store, dead, now=device_now, rng=random.Random(seed))
    assert report.retrying


@pytest.mark.parametrize("jump", [-3 * DAY, -DAY, DAY, 5 * DAY],
                         ids=["back-3-days", "back-1-day", "forward-1-day", "forward-5-days"])
def test_outbox_drains_after_a_clock_jump(tmp_path: Path, store: DraftStore,
                                          jump: dt.timedelta) -> None:
    ids = [finalized(store) for _ in range(5)]
    device_now = dt.datetime.now(dt.UTC)
    _fail_once(store, device_now)
    for _ in range(3):  # a few more failures: backoffs grow, items spread out over time
        device_now += dt.timedelta(minutes=20)
        _fail_once(store, device_now)

    device_now += jump  # the device clock jumps (NTP fixed, battery died, someone set it)
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    gateway = start_in_thread(db_url, clock=lambda: SERVER_NOW)
    try:
        credentials = add_device(db_url, tenant_code="131016", mode="kiosk",
                                 device_id="KIOSK-TEST")
        received: dict[str, str] = {}
        with LinkageClient(gateway.url, credentials=credentials) as client:
            for _ in range(5):  # a few passes at most; nothing waits for the clock to return
                received.update(deliver_due(store, client, now=device_now).received)
                device_now += dt.timedelta(seconds=1)
        held = GatewayStore(db_url)
        try:
            records = held.applications()
        finally:
            held.close()
    finally:
        gateway.stop()

    assert sorted(received) == sorted(ids)
    assert sorted(r.application_id for r in records) == sorted(ids)  # once each
    for application_id in ids:
        summary = store.summary(application_id)
        assert summary.received_at == SERVER_NOW  # server time, whatever the device said
        assert store.outbox_state(application_id)[0] == "done"


def test_backoff_is_still_honoured_without_a_jump(store: DraftStore) -> None:
    """The clock-back rule does not make scheduled retries due early."""
    application_id = finalized(store)
    device_now = dt.datetime.now(dt.UTC)
    store.claim_due(device_now)
    store.record_retry(application_id, device_now + dt.timedelta(minutes=15), "503")
    assert store.claim_due(device_now) == []
    assert store.claim_due(device_now + dt.timedelta(minutes=14)) == []
    assert len(store.claim_due(device_now + dt.timedelta(minutes=15))) == 1


def test_an_item_scheduled_beyond_any_delay_is_due(store: DraftStore) -> None:
    """Scheduled further ahead than the outbox ever schedules: the clock went back."""
    application_id = finalized(store)
    device_now = dt.datetime.now(dt.UTC)
    store.claim_due(device_now)
    store.record_retry(application_id, device_now + MAX_DELAY, "503")
    assert store.claim_due(device_now) == []  # exactly the longest delay: still waits
    store.recover_in_flight()
    store.claim_due(device_now + MAX_DELAY)
    store.record_retry(application_id, device_now + MAX_DELAY + dt.timedelta(seconds=1), "503")
    assert [e.application_id for e in store.claim_due(device_now)] == [application_id]
