"""Retention: each rule of the policy table, with the clock moved by the test."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.errors import StoreError
from desk.store.backup import backup, backup_keys_path
from desk.store.drafts import ATTENTION, EXPIRED, READY, RECEIVED, DraftStore
from desk.store.keys import MemoryKeyStore
from desk.store.retention import (
    DEFAULT_POLICY,
    RULE_COUNTER,
    RULE_DESK,
    RULE_KIOSK,
    RULE_RECEIVED,
    RetentionSchedule,
    apply_retention,
)

ANSWERS = {"shimei": {"family": "窓口", "given": "太郎"}, "kojin_bango": "621498320257"}
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


def _draft(store: DraftStore, mode: str) -> str:
    draft_id = store.create(("juminhyo-utsushi",), mode=mode, desk_id="desk-1",
                            position="a").id
    store.save(draft_id, ANSWERS, "b")
    return draft_id


def _received(store: DraftStore, received_at: dt.datetime) -> str:
    draft_id = _draft(store, "counter")
    store.finalize(draft_id, {"application_id": draft_id, "answers": ANSWERS})
    store.claim_due()
    store.record_receipt(draft_id, "R-0001", received_at)
    return draft_id


def _last_activity(store: DraftStore, draft_id: str) -> dt.datetime:
    return store.summary(draft_id).updated_at


@pytest.mark.parametrize(("mode", "rule", "limit"), [
    ("kiosk", RULE_KIOSK, 24 * HOUR),
    ("desk", RULE_DESK, 14 * DAY),
    ("counter", RULE_COUNTER, 30 * DAY),
])
def test_drafts_expire_after_their_modes_limit_from_last_activity(
    store: DraftStore, mode: str, rule: str, limit: dt.timedelta,
) -> None:
    draft_id = _draft(store, mode)
    last = _last_activity(store, draft_id)

    report = apply_retention(store, now=last + limit - HOUR)
    assert report.total == 0
    assert store.load(draft_id).answers == ANSWERS

    report = apply_retention(store, now=last + limit + HOUR)
    assert report.expired == {rule: 1}
    summary = store.summary(draft_id)
    assert summary.status == EXPIRED
    with pytest.raises(StoreError) as error:
        store.load(draft_id)
    assert error.value.message_id == "store.shredded"
    entry = store.audit_log().entries(subject=draft_id)[-1]
    assert (entry.actor, entry.action, entry.detail) == (
        "system", "retention.expired", {"rule": rule})


def test_activity_restarts_the_clock(store: DraftStore) -> None:
    draft_id = _draft(store, "kiosk")
    first = _last_activity(store, draft_id)
    store.save(draft_id, ANSWERS, "c")  # the resident came back
    later = _last_activity(store, draft_id)
    assert later >= first
    assert apply_retention(store, now=later + 23 * HOUR).total == 0
    assert apply_retention(store, now=later + 25 * HOUR).total == 1


def test_received_answers_are_shredded_seven_days_after_the_receipt(
    store: DraftStore,
) -> None:
    receipt = dt.datetime.now(dt.UTC) - DAY  # server time, a day ago
    draft_id = _received(store, receipt)
    assert store.summary(draft_id).status == RECEIVED

    assert apply_retention(store, now=receipt + 7 * DAY - HOUR).total == 0
    assert store.load(draft_id).answers == ANSWERS
    report = apply_retention(store, now=receipt + 7 * DAY + HOUR)
    assert report.expired == {RULE_RECEIVED: 1}
    summary = store.summary(draft_id)
    assert summary.status == EXPIRED and summary.uketsuke_bango == "R-0001"
    with pytest.raises(StoreError):
        store.load(draft_id)


def test_undelivered_applications_are_never_expired(store: DraftStore) -> None:
    ready = _draft(store, "kiosk")
    store.finalize(ready, {"application_id": ready})
    attention = _draft(store, "kiosk")
    store.finalize(attention, {"application_id": attention})
    store.claim_due()
    store.record_attention(attention, "422")
    store.record_retry(ready, dt.datetime.now(dt.UTC), "503")

    report = apply_retention(store, now=dt.datetime.now(dt.UTC) + 3650 * DAY)
    assert report.total == 0
    assert store.summary(ready).status == READY
    assert store.summary(attention).status == ATTENTION
    assert [e.payload for e in store.claim_due(dt.datetime.now(dt.UTC) + DAY)] == [
        {"application_id": ready}]  # its payload is still there to deliver


def test_each_deletion_leaves_an_audit_record_without_personal_data(
    store: DraftStore,
) -> None:
    drafts = [_draft(store, "kiosk") for _ in range(3)]
    report = apply_retention(store, now=dt.datetime.now(dt.UTC) + 2 * DAY)
    assert report.expired == {RULE_KIOSK: 3}
    entries = [e for e in store.audit_log().entries() if e.action == "retention.expired"]
    assert sorted(e.subject for e in entries if e.subject) == sorted(drafts)
    text = repr(entries)
    assert "窓口" not in text and "621498320257" not in text
    assert store.audit_log().verify().ok
    with sqlite3.connect(store.path) as plain:
        assert plain.execute("SELECT count(*) FROM drafts WHERE answers IS NOT NULL "
                             "OR wrapped_dek IS NOT NULL").fetchone()[0] == 0


def test_leftover_outbox_payloads_are_purged(store: DraftStore) -> None:
    _received(store, dt.datetime.now(dt.UTC))
    with sqlite3.connect(store.path) as plain:
        assert plain.execute("SELECT payload FROM outbox").fetchone()[0] is None  # at receipt
        # As an older release (or a crash between two writes) could have left it:
        plain.execute("UPDATE outbox SET payload = x'01020304'")
    report = apply_retention(store)
    assert report.payloads_purged == 1 and report.total == 0
    with sqlite3.connect(store.path) as plain:
        assert plain.execute("SELECT payload FROM outbox").fetchone()[0] is None
    assert store.audit_log().entries()[-1].action == "retention.payload_purged"
    assert apply_retention(store).payloads_purged == 0


def test_expired_drafts_lose_their_backup_keys(store: DraftStore, tmp_path: Path) -> None:
    gone, kept = _draft(store, "kiosk"), _draft(store, "counter")
    backup(store, tmp_path / "b.sqlite3")
    apply_retention(store, now=dt.datetime.now(dt.UTC) + 2 * DAY)
    with sqlite3.connect(backup_keys_path(store.path)) as plain:
        held = {r[0] for r in plain.execute("SELECT draft_id FROM backup_keys")}
    assert gone not in held and kept in held


def test_policy_is_one_frozen_table() -> None:
    assert DEFAULT_POLICY.draft_limit("kiosk") == 24 * HOUR
    assert DEFAULT_POLICY.draft_limit("desk") == 14 * DAY
    assert DEFAULT_POLICY.draft_limit("counter") == 30 * DAY
    assert DEFAULT_POLICY.draft_limit("unknown") == 24 * HOUR  # the shortest
    assert DEFAULT_POLICY.received_answers == 7 * DAY
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICY.kiosk_draft = DAY  # type: ignore[misc]


def test_naive_time_is_refused(store: DraftStore) -> None:
    with pytest.raises(ValueError, match="timezone"):
        apply_retention(store, now=dt.datetime(2030, 1, 1))


def test_schedule_runs_at_start_then_hourly_and_survives_clock_jumps() -> None:
    start = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.UTC)
    schedule = RetentionSchedule()
    assert schedule.due(start)
    schedule.record_run(start)
    assert not schedule.due(start + 30 * dt.timedelta(minutes=1))
    assert schedule.seconds_until_due(start + 30 * dt.timedelta(minutes=1)) == 30 * 60
    assert schedule.next_run(start) == start + HOUR
    assert schedule.due(start + HOUR)
    assert schedule.due(start + 3 * DAY)  # clock jumped forward
    assert schedule.due(start - DAY)  # clock set back: run now, do not wait a day
    jst = dt.timezone(dt.timedelta(hours=9))
    assert not schedule.due(start.astimezone(jst) + 10 * dt.timedelta(minutes=1))


def test_shredding_drops_the_kept_gateway_status(store: DraftStore) -> None:
    """The status feed's record of an application goes when the application is shredded."""
    from desk.store.drafts import ServerStatus

    receipt = dt.datetime.now(dt.UTC) - DAY
    draft_id = _received(store, receipt)
    store.record_statuses([ServerStatus(draft_id, "COMPLETED", 4, receipt, "R-0001")], cursor=9)
    assert store.server_status(draft_id) is not None
    apply_retention(store, now=receipt + 7 * DAY + HOUR)
    assert store.server_status(draft_id) is None
    assert store.sync_cursor() == 9  # the feed position is not about one application
