"""The append-only audit chain: ids and actions only, each entry hash-chained to the one before.

An entry's hash covers its sequence number, time, actor, action, subject, detail and the
previous entry's hash (domain-separated SHA-256), so an edited, deleted, inserted or reordered
entry breaks the chain at that entry. Triggers in the schema refuse UPDATE and DELETE. The chain
head travels with each submission, so the gateway holds an anchor the device cannot rewrite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.errors import DeskError
from desk.store.database import read_unit, write_unit
from desk.store.models import AuditRow

GENESIS_HASH = "0" * 64
_DOMAIN = b"madoguchi-audit-chain-v1\x00"
# Values an entry may carry: ids, codes and counts. Japanese text, spaces and long digit runs
# cannot pass, so a name, an address or a 個人番号 can never reach the audit log by mistake.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:@/+-]{0,64}")
_LONG_DIGITS = re.compile(r"\d{10,}")
# ULIDs (application ids) may by chance hold a run of digits; their shape is no personal data.
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


class AuditValueError(DeskError):
    """An audit entry was given a value that could be personal data; nothing was written."""

    message_id = "audit.unsafe_value"


@dataclass(frozen=True)
class ChainHead:
    """The newest entry's position and hash: what a submission carries as the anchor."""

    seq: int
    entry_hash: str


@dataclass(frozen=True)
class AuditEntry:
    """One entry as stored."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str | None
    detail: dict[str, str | int]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class ChainCheck:
    """What `verify` found: `first_broken` is the seq of the first bad entry, or None."""

    entries: int
    first_broken: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every entry links to the one before it."""
        return self.first_broken is None


def _checked(value: str | int | None, what: str) -> str:
    text = "" if value is None else str(value)
    if _ULID.fullmatch(text):
        return text
    if not _SAFE_VALUE.fullmatch(text) or _LONG_DIGITS.search(text):
        raise AuditValueError(what=what)
    return text


def _detail_json(detail: Mapping[str, str | int] | None) -> str:
    clean = {_checked(k, "detail key"): (v if isinstance(v, int) else _checked(v, k))
             for k, v in (detail or {}).items()}
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def entry_hash(seq: int, at: dt.datetime, actor: str, action: str, subject: str | None,
               detail: str, prev_hash: str) -> str:
    """The chain hash of one entry (domain-separated SHA-256 over a canonical encoding)."""
    fields = [seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), actor, action,
              subject, detail, prev_hash]
    encoded = json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode()
    return hashlib.sha256(_DOMAIN + encoded).hexdigest()


def append(session: Session, *, actor: str, action: str, subject: str | None = None,
           detail: Mapping[str, str | int] | None = None,
           at: dt.datetime | None = None) -> ChainHead:
    """Add an entry inside the caller's write transaction (so it commits with the change).

    The caller's BEGIN IMMEDIATE serializes writers, so reading the head and appending
    cannot interleave with another appender.

    Raises:
        AuditValueError: a value that is not an id or code (nothing is written).
    """
    actor_text = _checked(actor, "actor")
    action_text = _checked(action, "action")
    subject_text = None if subject is None else _checked(subject, "subject")
    detail_text = _detail_json(detail)
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    last = session.execute(
        select(AuditRow.seq, AuditRow.entry_hash).order_by(AuditRow.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    digest = entry_hash(seq, moment, actor_text, action_text, subject_text, detail_text, prev)
    session.add(AuditRow(seq=seq, at=moment, actor=actor_text, action=action_text,
                         subject=subject_text, detail=detail_text, prev_hash=prev,
                         entry_hash=digest))
    session.flush()
    return ChainHead(seq, digest)


def append_many(session: Session, entries: Sequence[tuple[str, str, str | None]],
                at: dt.datetime | None = None) -> ChainHead:
    """Add several entries (actor, action, subject) in the caller's write transaction.

    The same chain as one `append` per entry, but the head is read once and the rows are
    flushed together: the outbox records a whole pass of receipts this way.

    Raises:
        AuditValueError: a value that is not an id or code (nothing is written).
    """
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    checked = [(_checked(actor, "actor"), _checked(action, "action"),
                None if subject is None else _checked(subject, "subject"))
               for actor, action, subject in entries]
    head = head_in(session)
    seq, prev = head.seq, head.entry_hash
    detail_text = _detail_json(None)
    for actor_text, action_text, subject_text in checked:
        seq += 1
        digest = entry_hash(seq, moment, actor_text, action_text, subject_text, detail_text,
                            prev)
        session.add(AuditRow(seq=seq, at=moment, actor=actor_text, action=action_text,
                             subject=subject_text, detail=detail_text, prev_hash=prev,
                             entry_hash=digest))
        prev = digest
    session.flush()
    return ChainHead(seq, prev)


def head_in(session: Session) -> ChainHead:
    """The chain head as seen by the caller's transaction (seq 0 and the genesis hash if empty)."""
    last = session.execute(
        select(AuditRow.seq, AuditRow.entry_hash).order_by(AuditRow.seq.desc()).limit(1)
    ).first()
    return ChainHead(last[0], last[1]) if last else ChainHead(0, GENESIS_HASH)


class AuditLog:
    """Reading, appending and verifying the chain of one store file."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, *, actor: str, action: str, subject: str | None = None,
               detail: Mapping[str, str | int] | None = None) -> ChainHead:
        """Append one entry in its own transaction."""
        with write_unit(self._engine) as session:
            return append(session, actor=actor, action=action, subject=subject, detail=detail)

    def head(self) -> ChainHead:
        """The newest entry (for the submission payload)."""
        return read_unit(self._engine, head_in)

    def entries(self, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Entries in chain order, optionally of one subject, optionally only the last `limit`."""

        def work(session: Session) -> list[AuditEntry]:
            query = select(AuditRow).order_by(AuditRow.seq.desc())
            if subject is not None:
                query = query.where(AuditRow.subject == subject)
            if limit is not None:
                query = query.limit(limit)
            rows = list(reversed(session.scalars(query).all()))
            return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, json.loads(r.detail),
                               r.prev_hash, r.entry_hash) for r in rows]

        return read_unit(self._engine, work)

    def verify(self, anchor: ChainHead | None = None) -> ChainCheck:
        """Walk the whole chain and name the first entry that does not hold.

        `anchor` is a head recorded elsewhere (the last one the gateway received): it catches
        entries removed from the end, which the chain alone cannot show.
        """

        def work(session: Session) -> ChainCheck:
            expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
            anchor_found = anchor is None or anchor.seq == 0
            for row in session.execute(
                select(AuditRow.seq, AuditRow.at, AuditRow.actor, AuditRow.action,
                       AuditRow.subject, AuditRow.detail, AuditRow.prev_hash,
                       AuditRow.entry_hash).order_by(AuditRow.seq)
            ):
                count += 1
                if row.seq != expected_seq:
                    return ChainCheck(count, expected_seq, "missing entry")
                if row.prev_hash != expected_prev:
                    return ChainCheck(count, row.seq, "does not link to the entry before")
                digest = entry_hash(row.seq, row.at, row.actor, row.action, row.subject,
                                    row.detail, row.prev_hash)
                if digest != row.entry_hash:
                    return ChainCheck(count, row.seq, "content changed")
                if anchor is not None and row.seq == anchor.seq:
                    anchor_found = row.entry_hash == anchor.entry_hash
                expected_prev, expected_seq = row.entry_hash, row.seq + 1
            if not anchor_found:
                assert anchor is not None
                broken = min(anchor.seq, expected_seq)
                return ChainCheck(count, broken, "anchor not found: entries removed")
            return ChainCheck(count)

        return read_unit(self._engine, work)
