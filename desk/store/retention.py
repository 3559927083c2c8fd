"""Retention: shred drafts and answers the device no longer needs, by one policy table.

The app runs `apply_retention` at start and then hourly (`RetentionSchedule` says when).
Every deletion is a crypto-shred through the store (data key and ciphertext gone, the row
keeps ids and times) with an audit entry ``retention.expired`` naming the rule, never content.
Applications that are finalized but not delivered (READY, ATTENTION) are never expired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from desk.config import MODES
from desk.store import audit
from desk.store.backup import forget, forget_shredded
from desk.store.database import checkpoint, read_unit, write_unit
from desk.store.drafts import (
    DISCARDED,
    DONE,
    DRAFT,
    EXPIRED,
    RECEIVED,
    SYSTEM_ACTOR,
    DraftStore,
)
from desk.store.models import DraftRow, OutboxRow

RULE_KIOSK, RULE_DESK, RULE_COUNTER = "kiosk-draft", "desk-draft", "counter-draft"
RULE_RECEIVED = "received-answers"
_MODE_RULES = {"kiosk": RULE_KIOSK, "desk": RULE_DESK, "counter": RULE_COUNTER}


@dataclass(frozen=True)
class RetentionPolicy:
    """How long the device keeps what, counted from the last activity or from the receipt.

    - ``kiosk_draft`` 24 hours: a resident who leaves a lobby kiosk takes the 受付票 to the
      counter the same day, or comes back the next; after that an unattended draft on a
      public tablet is only risk (nobody signed in owns it).
    - ``desk_draft`` 14 days: volunteer desks (community centres, post offices) are often
      open once a week; two weeks lets a resident come back with a missing document.
    - ``counter_draft`` 30 days: staff-led cases wait for documents that take weeks
      (a 戸籍 from another municipality by post, a 証明書 from an employer).
    - ``received_answers`` 7 days after the receipt: the gateway holds the application from
      then on; the device copy only serves questions at the counter in the first days.
    - ``unseen_backup_keys`` 30 days: backup keys of drafts that are no longer in the store
      (only in a backup, after an older backup was restored) are kept no longer than the
      longest draft rule, so such copies expire too.

    A draft of a mode not listed takes the shortest draft rule. Finalized applications not yet
    delivered (READY, ATTENTION) have no rule: they must not be lost before delivery. Outbox
    payloads are purged at receipt already; retention purges any left over.
    """

    kiosk_draft: dt.timedelta = dt.timedelta(hours=24)
    desk_draft: dt.timedelta = dt.timedelta(days=14)
    counter_draft: dt.timedelta = dt.timedelta(days=30)
    received_answers: dt.timedelta = dt.timedelta(days=7)
    unseen_backup_keys: dt.timedelta = dt.timedelta(days=30)

    def draft_limit(self, mode: str) -> dt.timedelta:
        """How long a draft of `mode` is kept after its last activity."""
        limits = {"kiosk": self.kiosk_draft, "desk": self.desk_draft,
                  "counter": self.counter_draft}
        return limits.get(mode, min(limits.values()))


DEFAULT_POLICY = RetentionPolicy()


@dataclass(frozen=True)
class RetentionReport:
    """What one run deleted: drafts per rule, leftover outbox payloads, backup keys."""

    expired: dict[str, int] = field(default_factory=dict)
    payloads_purged: int = 0
    backup_keys_forgotten: int = 0

    @property
    def total(self) -> int:
        """Drafts shredded in this run."""
        return sum(self.expired.values())


def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware time")
    return now.astimezone(dt.UTC)


def _expired_ids(store: DraftStore, policy: RetentionPolicy,
                 now: dt.datetime) -> list[tuple[str, str]]:
    """(draft id, rule) of everything due, oldest first."""

    def work(session: Session) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for mode, rule in _MODE_RULES.items():
            query = select(DraftRow.id).where(
                DraftRow.status == DRAFT, DraftRow.mode == mode,
                DraftRow.updated_at < now - policy.draft_limit(mode),
            ).order_by(DraftRow.updated_at)
            found += [(draft_id, rule) for draft_id in session.scalars(query)]
        shortest = min(policy.draft_limit(mode) for mode in MODES)
        query = select(DraftRow.id).where(
            DraftRow.status == DRAFT, DraftRow.mode.not_in(list(_MODE_RULES)),
            DraftRow.updated_at < now - shortest,
        )
        found += [(draft_id, RULE_KIOSK) for draft_id in session.scalars(query)]
        cutoff = now - policy.received_answers
        query = select(DraftRow.id).where(
            DraftRow.status == RECEIVED,
            or_(and_(DraftRow.received_at.is_not(None), DraftRow.received_at < cutoff),
                and_(DraftRow.received_at.is_(None), DraftRow.updated_at < cutoff)),
        )
        found += [(draft_id, RULE_RECEIVED) for draft_id in session.scalars(query)]
        return found

    return read_unit(store.engine, work)


def _still_due(row: DraftRow, rule: str, policy: RetentionPolicy, now: dt.datetime) -> bool:
    """Re-check under the write lock: the draft may have been resumed since it was listed."""
    if rule == RULE_RECEIVED:
        moment = row.received_at or row.updated_at
        return row.status == RECEIVED and moment < now - policy.received_answers
    return row.status == DRAFT and row.updated_at < now - policy.draft_limit(row.mode)


def apply_retention(store: DraftStore, now: dt.datetime | None = None, *,
                    policy: RetentionPolicy = DEFAULT_POLICY) -> RetentionReport:
    """Shred everything the policy says is due, and purge leftover outbox payloads.

    Each draft is shredded in its own short transaction (autosave never waits long) with an
    audit entry ``retention.expired`` and ``{"rule": ...}``; its backup key is forgotten, so
    no backup can open it either.

    Args:
        store: the live store.
        now: the time to judge by (timezone-aware); tests move it, the app passes nothing.
        policy: the retention table.

    Raises:
        ValueError: `now` is naive.
        StoreError: the store cannot be written (what was shredded before stays shredded).
    """
    moment = _aware(now)
    expired: dict[str, int] = {}
    shredded: list[str] = []
    for draft_id, rule in _expired_ids(store, policy, moment):
        with write_unit(store.engine) as session:
            row = session.get(DraftRow, draft_id)
            if row is None or not _still_due(row, rule, policy, moment):
                continue
            # DraftStore.shred's own body, inside this transaction so the check above holds.
            store.shred_in(session, row, status=EXPIRED, action="retention.expired",
                            actor=SYSTEM_ACTOR, detail={"rule": rule})
        expired[rule] = expired.get(rule, 0) + 1
        shredded.append(draft_id)
    purged = _purge_payloads(store)
    if shredded or purged:
        checkpoint(store.engine)  # the deleted keys must not linger in the WAL
    forgotten = forget(store.path, shredded)
    forgotten += forget_shredded(store, now=moment, unseen_for=policy.unseen_backup_keys)
    return RetentionReport(expired, purged, forgotten)


def _purge_payloads(store: DraftStore) -> int:
    """Drop outbox payloads that outlived their purpose (delivered, or the draft shredded).

    `record_receipt` purges at receipt already; this finds any a crash or an older release
    left behind, and says so in the audit log.
    """
    with write_unit(store.engine) as session:
        rows: Sequence[OutboxRow] = session.scalars(
            select(OutboxRow).join(DraftRow, DraftRow.id == OutboxRow.application_id).where(
                OutboxRow.payload.is_not(None),
                or_(OutboxRow.state == DONE,
                    DraftRow.status.in_([RECEIVED, DISCARDED, EXPIRED])),
            )
        ).all()
        for item in rows:
            item.payload = None
            audit.append(session, actor=SYSTEM_ACTOR, action="retention.payload_purged",
                         subject=item.application_id)
        return len(rows)


@dataclass
class RetentionSchedule:
    """When retention is due: at start, then every `interval` (hourly).

    Qt-free, so the UI timer (through ui/tasks.py) only asks `seconds_until_due` and calls
    `record_run` after each run. A clock set back before the last run makes a run due at once
    rather than waiting for the old time to come round again.
    """

    interval: dt.timedelta = dt.timedelta(hours=1)
    last_run: dt.datetime | None = None

    def due(self, now: dt.datetime) -> bool:
        """Whether a run is due at `now` (timezone-aware)."""
        moment = _aware(now)
        if self.last_run is None or moment < self.last_run:
            return True
        return moment >= self.last_run + self.interval

    def next_run(self, now: dt.datetime) -> dt.datetime:
        """When the next run is due (`now` if it is due already)."""
        moment = _aware(now)
        if self.due(moment):
            return moment
        assert self.last_run is not None
        return self.last_run + self.interval

    def seconds_until_due(self, now: dt.datetime) -> float:
        """Seconds from `now` to the next run (0 when due): a timer's interval."""
        return max(0.0, (self.next_run(now) - _aware(now)).total_seconds())

    def record_run(self, now: dt.datetime) -> None:
        """Note that a run happened at `now`."""
        self.last_run = _aware(now)
