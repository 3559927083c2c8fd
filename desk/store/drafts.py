"""The draft repository: create, autosave, resume, finalize and deliver drafts, all sealed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, String, func, or_, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.errors import KeyUnavailableError, StoreError, TamperedError
from desk.ids import new_reference_code, new_ulid, normalize_reference_code
from desk.store import audit, crypto
from desk.store.database import checkpoint, open_store_engine, read_unit, write_unit
from desk.store.keys import KeyStore
from desk.store.models import DraftRow, OutboxRow, StoreMetaRow

T = TypeVar("T")

# Draft statuses (the client side of the lifecycle in linkage-api.md) and outbox states.
DRAFT, READY, RECEIVED, ATTENTION = "DRAFT", "READY", "RECEIVED", "ATTENTION"
# Shredded: the data key and every ciphertext are gone; the row keeps ids and times only.
DISCARDED, EXPIRED = "DISCARDED", "EXPIRED"
SHREDDED_STATUSES = (DISCARDED, EXPIRED)
SYSTEM_ACTOR = "system"  # audit actor of work nobody asked for (retention, recovery)
_KEY_CHECK = b"madoguchi-device-key-check"
PENDING, IN_FLIGHT, DONE, NEEDS_ATTENTION = "pending", "in_flight", "done", "attention"
_DATA_KEY_ID = "dek"  # data sealed with a draft's own key; the header names which key opened it


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(stored: str) -> dt.datetime:
    """A stored UTC timestamp ('2026-11-21 09:00:00.123456') as an aware datetime."""
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)


def _json_bytes(value: Any) -> bytes:
    # ensure_ascii=False: names stay as entered (IVS, private-use characters) in UTF-8.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DraftSummary:
    """What may be shown about a draft without opening it: no personal data."""

    id: str
    procedure_ids: tuple[str, ...]
    life_event_id: str | None
    status: str
    reference_code: str
    position: str
    mode: str
    desk_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    uketsuke_bango: str | None = None
    received_at: dt.datetime | None = None

    @classmethod
    def of(cls, row: DraftRow) -> DraftSummary:
        """Copy the clear columns of a row."""
        return cls(
            id=row.id, procedure_ids=tuple(row.procedure_ids.split()),
            life_event_id=row.life_event_id,
            status=row.status, reference_code=row.reference_code, position=row.position,
            mode=row.mode, desk_id=row.desk_id, created_at=row.created_at,
            updated_at=row.updated_at, uketsuke_bango=row.uketsuke_bango,
            received_at=row.received_at,
        )

    @classmethod
    def from_columns(cls, row: Any) -> DraftSummary:
        """Build from a row of `_SUMMARY_COLUMNS` with times as stored text (the fast path).

        Listing thousands of drafts spent most of its time in per-value type conversion;
        parsing the stored UTC text directly is several times faster.
        """
        (draft_id, procedures, event, status, code, position, mode, desk, created, updated,
         bango, received) = row
        return cls(draft_id, tuple(procedures.split()), event, status, code, position, mode,
                   desk, _utc(created), _utc(updated), bango,
                   None if received is None else _utc(received))


_SUMMARY_COLUMNS = (
    "id", "procedure_ids", "life_event_id", "status", "reference_code", "position", "mode",
    "desk_id", "created_at", "updated_at", "uketsuke_bango", "received_at",
)
_TIME_COLUMNS = frozenset({"created_at", "updated_at", "received_at"})


@dataclass(frozen=True)
class LoadedDraft:
    """A draft opened with its key: the metadata and the decrypted answers."""

    summary: DraftSummary
    answers: dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    """The gateway's acknowledgement of one application: 受付番号 and server time."""

    application_id: str
    uketsuke_bango: str
    received_at: dt.datetime


@dataclass(frozen=True)
class OutboxEntry:
    """A finalized application claimed for sending."""

    application_id: str
    payload: dict[str, Any]
    attempts: int


# -- outbox constants and records (the outbox methods of DraftStore below use them) ----------

MAX_RETRY_DELAY = dt.timedelta(hours=1)
"""The furthest ahead the sender ever schedules a retry (sync.outbox caps backoff at 15 min
and Retry-After at 1 h); an item scheduled later than this is due (the clock went back)."""
PAYLOAD_UNREADABLE = "payload_unreadable"  # last_error of an item whose payload fails to open
_STATUS_PREFIX = "server_status:"  # store_meta key of an application's gateway status
_CURSOR_KEY = "sync_cursor"  # store_meta key of the status feed position


@dataclass
class ClaimedBatch:
    """What `DraftStore.claim_batch` took: entries to send, and ids it parked for staff."""

    entries: list[OutboxEntry] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServerStatus:
    """An application's status at the gateway, as the status feed reported it (no content)."""

    application_id: str
    status: str
    version: int
    updated_at: dt.datetime
    uketsuke_bango: str

    def to_json(self) -> str:
        """The stored form (store_meta value)."""
        return json.dumps({"status": self.status, "version": self.version,
                           "updatedAt": self.updated_at.isoformat(),
                           "uketsukeBango": self.uketsuke_bango}, sort_keys=True)

    @classmethod
    def from_json(cls, application_id: str, text: str) -> ServerStatus:
        """Read the stored form back."""
        data = json.loads(text)
        return cls(application_id, str(data["status"]), int(data["version"]),
                   dt.datetime.fromisoformat(data["updatedAt"]), str(data["uketsukeBango"]))


class DraftStore:
    """Encrypted drafts and the outbox in one SQLite file.

    Every public method is one unit of work in its own session and transaction; the store
    is safe to use from one thread at a time per instance (make one per thread).
    """

    def __init__(self, path: Path, keys: KeyStore) -> None:
        self.path = path
        self._keys = keys
        self.engine: Engine = open_store_engine(path)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def _write(self, message_id: str = "store.write_failed") -> Iterator[Session]:
        with write_unit(self.engine, message_id) as session:
            yield session

    def _read(self, work: Callable[[Session], T]) -> T:
        return read_unit(self.engine, work)

    # -- keys -------------------------------------------------------------------------------

    def _dek_binding(self, draft_id: str, kek_id: str) -> crypto.Binding:
        return crypto.Binding("drafts", draft_id, "wrapped_dek", 0, kek_id)

    def _dek(self, row: DraftRow) -> bytes:
        if row.wrapped_dek is None:
            raise StoreError("store.shredded")
        kek = self._keys.get(row.kek_id)
        return crypto.unwrap_key(kek, row.wrapped_dek, self._dek_binding(row.id, row.kek_id))

    @staticmethod
    def _key_check_binding(kek_id: str) -> crypto.Binding:
        return crypto.Binding("store_meta", f"kek_check:{kek_id}", "value", 0, kek_id)

    def remember_key(self, session: Session, kek_id: str, kek: bytes) -> None:
        """Record that this store's data is under `kek_id` (a sealed check value)."""
        name = f"kek_check:{kek_id}"
        if session.get(StoreMetaRow, name) is None:
            sealed = crypto.seal(kek, _KEY_CHECK, self._key_check_binding(kek_id))
            session.add(StoreMetaRow(key=name, value=sealed.hex()))

    def key_ids_in_use(self) -> list[str]:
        """Ids of the device keys that wrap at least one live data key."""

        def work(session: Session) -> list[str]:
            rows = session.execute(
                select(DraftRow.kek_id).where(DraftRow.wrapped_dek.is_not(None)).distinct()
            )
            return sorted(r[0] for r in rows)

        return self._read(work)

    def keys_open_store(self) -> bool:
        """True when the key store opens every device key this store's drafts need.

        Used before a restore and at start: a store from another device, or a key store that
        changed, shows here instead of as "tampered" on every draft.
        """
        needed = self.key_ids_in_use()

        def checks(session: Session) -> dict[str, str]:
            rows = session.scalars(
                select(StoreMetaRow).where(StoreMetaRow.key.like("kek_check:%"))
            ).all()
            return {r.key.removeprefix("kek_check:"): r.value for r in rows}

        recorded = self._read(checks)
        for kek_id in needed:
            try:
                kek = self._keys.get(kek_id)
                if kek_id in recorded:
                    crypto.open_sealed(kek, bytes.fromhex(recorded[kek_id]),
                                       self._key_check_binding(kek_id))
            except StoreError:
                return False
        return True

    @staticmethod
    def _answers_binding(draft_id: str, version: int) -> crypto.Binding:
        return crypto.Binding("drafts", draft_id, "answers", version, _DATA_KEY_ID)

    @staticmethod
    def _payload_binding(draft_id: str) -> crypto.Binding:
        return crypto.Binding("outbox", draft_id, "payload", 1, _DATA_KEY_ID)

    # -- drafts -----------------------------------------------------------------------------

    def create(
        self, procedure_ids: Sequence[str], *, life_event_id: str | None = None, mode: str,
        desk_id: str, position: str, actor: str = SYSTEM_ACTOR,
    ) -> DraftSummary:
        """Create an empty draft with its own data key; the application id is fixed here."""
        draft_id = new_ulid()
        dek = crypto.new_key()
        now = _now()
        for _attempt in range(5):  # a reference code collision is rare; draw again
            try:
                with self._write() as session:
                    # The current key is read inside the write transaction, so a create
                    # cannot race a key rotation and wrap under a key just retired.
                    kek_id, kek = self._keys.current()
                    row = DraftRow(
                        id=draft_id, procedure_ids=" ".join(procedure_ids),
                        life_event_id=life_event_id, mode=mode, desk_id=desk_id,
                        status=DRAFT, reference_code=new_reference_code(), position=position,
                        created_at=now, updated_at=now, record_version=0, kek_id=kek_id,
                        wrapped_dek=crypto.wrap_key(kek, dek,
                                                    self._dek_binding(draft_id, kek_id)),
                        answers=crypto.seal(dek, _json_bytes({}),
                                            self._answers_binding(draft_id, 0)),
                    )
                    self.remember_key(session, kek_id, kek)
                    session.add(row)
                    session.flush()
                    audit.append(session, actor=actor, action="draft.created", subject=draft_id,
                                 detail={"mode": mode, "desk": desk_id})
                return DraftSummary.of(row)
            except StoreError as exc:
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
        raise StoreError("store.write_failed")

    def save(
        self, draft_id: str, answers: dict[str, Any], position: str,
        procedure_ids: Sequence[str] | None = None,
    ) -> DraftSummary:
        """Autosave: seal the answers under a new record version and commit durably."""
        with self._write() as session:
            row = self._get(session, draft_id)
            if row.status != DRAFT:
                raise StoreError("store.not_editable")
            dek = self._dek(row)
            version = row.record_version + 1
            row.answers = crypto.seal(
                dek, _json_bytes(answers), self._answers_binding(draft_id, version)
            )
            row.record_version = version
            row.position = position
            if procedure_ids is not None:
                row.procedure_ids = " ".join(procedure_ids)
            row.updated_at = _now()
            return DraftSummary.of(row)

    def load(self, draft_id: str) -> LoadedDraft:
        """Open a draft; TamperedError if its ciphertext does not belong to it."""

        def work(session: Session) -> LoadedDraft:
            row = self._get(session, draft_id)
            if row.answers is None:
                raise StoreError("store.shredded")
            plain = crypto.open_sealed(
                self._dek(row), row.answers, self._answers_binding(row.id, row.record_version)
            )
            return LoadedDraft(DraftSummary.of(row), json.loads(plain))

        return self._read(work)

    def summary(self, draft_id: str) -> DraftSummary:
        """Return a draft's metadata."""
        return self._read(lambda s: DraftSummary.of(self._get(s, draft_id)))

    def resumable(self, *, mode: str, desk_id: str) -> list[DraftSummary]:
        """Unfinished drafts of this desk, newest first (metadata only)."""
        return self.list_drafts(mode=mode, desk_id=desk_id)

    def list_drafts(
        self, *, mode: str | None = None, desk_id: str | None = None,
        statuses: Sequence[str] = (DRAFT,), limit: int | None = None,
    ) -> list[DraftSummary]:
        """Drafts by status, newest first; `desk_id=None` lists every desk (policy decides who).

        Reads only the clear columns (no ciphertext leaves the file), so a counter's queue of
        thousands of drafts lists quickly.
        """
        columns = [
            type_coerce(getattr(DraftRow, name), String) if name in _TIME_COLUMNS
            else getattr(DraftRow, name)
            for name in _SUMMARY_COLUMNS
        ]

        def work(session: Session) -> list[DraftSummary]:
            query = select(*columns).where(DraftRow.status.in_(list(statuses)))
            if mode is not None:
                query = query.where(DraftRow.mode == mode)
            if desk_id is not None:
                query = query.where(DraftRow.desk_id == desk_id)
            query = query.order_by(DraftRow.updated_at.desc())
            if limit is not None:
                query = query.limit(limit)
            return [DraftSummary.from_columns(row) for row in session.execute(query)]

        return self._read(work)

    def find_by_reference(self, code: str) -> DraftSummary | None:
        """The draft with this reference code (as typed: any case, with or without the hyphen)."""
        normalized = normalize_reference_code(code)
        if normalized is None:
            return None

        def work(session: Session) -> DraftSummary | None:
            row = session.scalars(
                select(DraftRow).where(DraftRow.reference_code == normalized)
            ).first()
            return DraftSummary.of(row) if row is not None else None

        return self._read(work)

    def move_to_desk(self, draft_id: str, *, mode: str, desk_id: str,
                     actor: str = SYSTEM_ACTOR) -> DraftSummary:
        """Hand a draft over to another desk (a counter taking over a kiosk draft)."""
        with self._write() as session:
            row = self._get(session, draft_id)
            if row.status != DRAFT:
                raise StoreError("store.not_editable")
            audit.append(session, actor=actor, action="draft.taken_over", subject=draft_id,
                         detail={"from_mode": row.mode, "from_desk": row.desk_id})
            row.mode, row.desk_id, row.updated_at = mode, desk_id, _now()
            return DraftSummary.of(row)

    def discard(self, draft_id: str, *, actor: str = SYSTEM_ACTOR) -> None:
        """Crypto-shred a draft at the user's request (see `shred`)."""
        self.shred(draft_id, status=DISCARDED, action="draft.discarded", actor=actor)

    def shred(self, draft_id: str, *, status: str, action: str, actor: str = SYSTEM_ACTOR,
              detail: dict[str, str | int] | None = None) -> None:
        """Delete a draft's data key and every ciphertext, leaving ids, times and an audit entry.

        Without its wrapped key the draft cannot be opened again, not from the WAL, free pages
        or an old backup copy. The WAL is then folded in and truncated.
        """
        with self._write() as session:
            self.shred_in(session, self._get(session, draft_id), status=status,
                          action=action, actor=actor, detail=detail)
        checkpoint(self.engine)
        from desk.store.backup import forget  # backup builds on this module

        forget(self.path, [draft_id])  # older backups can no longer open it either

    def shred_in(self, session: Session, row: DraftRow, *, status: str, action: str,
                  actor: str, detail: dict[str, str | int] | None) -> None:
        """Shred inside the caller's write transaction (retention re-checks it is due first)."""
        row.wrapped_dek = None
        row.answers = None
        row.status = status
        row.updated_at = _now()
        item = session.get(OutboxRow, row.id)
        if item is not None:
            item.payload = None
        # The gateway status kept for this application goes with it (codes only, but retention
        # means nothing of the application lingers).
        status_row = session.get(StoreMetaRow, _STATUS_PREFIX + row.id)
        if status_row is not None:
            session.delete(status_row)
        audit.append(session, actor=actor, action=action, subject=row.id, detail=detail)

    def audit_log(self) -> audit.AuditLog:
        """The audit chain of this store."""
        return audit.AuditLog(self.engine)

    @staticmethod
    def _get(session: Session, draft_id: str) -> DraftRow:
        row = session.get(DraftRow, draft_id)
        if row is None:
            raise StoreError("store.not_found")
        return row

    # -- outbox -----------------------------------------------------------------------------

    @staticmethod
    def _get_outbox(session: Session, application_id: str) -> OutboxRow:
        item = session.get(OutboxRow, application_id)
        if item is None:
            raise StoreError("store.not_found")
        return item

    def finalize(self, draft_id: str, payload: dict[str, Any], *,
                 actor: str = SYSTEM_ACTOR) -> None:
        """Freeze the application: status READY, the sealed outbox row and the audit entry
        in one transaction, so a crash leaves either a draft or a queued application."""
        body = _json_bytes(payload)
        with self._write() as session:
            row = self._get(session, draft_id)
            if row.status != DRAFT:
                raise StoreError("store.not_editable")
            now = _now()
            row.status = READY
            row.updated_at = now
            session.add(
                OutboxRow(
                    application_id=draft_id, state=PENDING, attempts=0, next_attempt_at=now,
                    payload=crypto.seal(self._dek(row), body, self._payload_binding(draft_id)),
                    payload_sha256=hashlib.sha256(body).hexdigest(), created_at=now,
                )
            )
            audit.append(session, actor=actor, action="application.finalized",
                         subject=draft_id)

    def claim_due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxEntry]:
        """Mark due pending items in flight and return them with their payloads opened.

        Items whose payload cannot be opened are parked for staff (see `claim_batch`).
        """
        return self.claim_batch(now, limit).entries

    def claim_batch(
        self, now: dt.datetime | None = None, limit: int = 50,
        max_delay: dt.timedelta = MAX_RETRY_DELAY,
    ) -> ClaimedBatch:
        """Claim due pending items: mark them in flight (one attempt more), open their payloads.

        An item is due when its ``next_attempt_at`` has come, or lies further ahead than any
        retry is ever scheduled (`max_delay`): then the device clock went back since it was
        scheduled, and waiting for the clock to catch up could take days.

        A payload that cannot be opened (altered, moved, shredded, not JSON) parks its item
        for staff in the same transaction and the rest of the batch goes on: one bad item
        never blocks the queue. A device key that cannot be opened stops the whole batch
        (KeyUnavailableError): that is no item's fault and nothing is marked.

        Args:
            now: The current time (aware); defaults to the system clock.
            limit: At most this many items.
            max_delay: The longest delay the sender ever schedules.

        Returns:
            The claimed entries, and the ids parked because their payload is unreadable.
        """
        moment = now or _now()
        with self._write() as session:
            rows = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.state == PENDING,
                       or_(OutboxRow.next_attempt_at <= moment,
                           OutboxRow.next_attempt_at > moment + max_delay))
                .order_by(OutboxRow.next_attempt_at)
                .limit(limit)
            ).all()
            batch = ClaimedBatch()
            # One query for the batch's drafts instead of one lookup (and flush) per item.
            drafts = {row.id: row for row in session.scalars(
                select(DraftRow).where(DraftRow.id.in_([item.application_id for item in rows])))}
            for item in rows:
                draft = drafts.get(item.application_id)
                if draft is None:
                    raise StoreError("store.not_found")
                try:
                    payload = self._open_payload(draft, item)
                except KeyUnavailableError:
                    raise
                except (StoreError, ValueError):
                    self._park(session, item, draft, PAYLOAD_UNREADABLE)
                    batch.parked.append(item.application_id)
                    continue
                item.state = IN_FLIGHT
                item.attempts += 1
                batch.entries.append(OutboxEntry(item.application_id, payload, item.attempts))
            return batch

    def _open_payload(self, draft: DraftRow, item: OutboxRow) -> dict[str, Any]:
        """Open a sealed payload and check it is the one frozen at finalize.

        Raises:
            TamperedError: the ciphertext or its clear digest does not match.
            StoreError: ``store.shredded`` when the payload or data key is gone.
            ValueError: the plaintext is not a JSON object.
        """
        if item.payload is None:
            raise StoreError("store.shredded")
        plain = crypto.open_sealed(
            self._dek(draft), item.payload, self._payload_binding(item.application_id)
        )
        if hashlib.sha256(plain).hexdigest() != item.payload_sha256:
            raise TamperedError("store.tampered")
        payload = json.loads(plain)
        if not isinstance(payload, dict):
            raise ValueError("payload is not an object")
        return payload

    @staticmethod
    def _park(session: Session, item: OutboxRow, draft: DraftRow, error: str) -> None:
        item.state = NEEDS_ATTENTION
        item.last_error = error[:200]
        draft.status = ATTENTION
        draft.updated_at = _now()
        audit.append(session, actor=SYSTEM_ACTOR, action="application.needs_attention",
                     subject=item.application_id)

    def release(
        self, application_ids: Sequence[str], *, not_before: dt.datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Give claimed items back untried: pending again, the attempt not counted.

        For items that were claimed but not sent (the pass stopped), or sent and refused
        for a reason that is not theirs (credentials refused, device not allowed).

        Args:
            application_ids: Items in flight; others are left as they are.
            not_before: Do not try them before this time (a gateway that asked to wait).
            error: What stopped them (a code, kept in ``last_error``); None keeps the last.
        """
        if not application_ids:
            return
        with self._write() as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.application_id.in_(list(application_ids)),
                                        OutboxRow.state == IN_FLIGHT)
            ).all()
            for item in rows:
                item.state = PENDING
                item.attempts = max(0, item.attempts - 1)
                if not_before is not None and item.next_attempt_at < not_before:
                    item.next_attempt_at = not_before
                if error is not None:
                    item.last_error = error[:200]

    def record_receipt(
        self, application_id: str, uketsuke_bango: str, received_at: dt.datetime
    ) -> None:
        """Store the gateway's receipt, then purge the payload: the item is done."""
        self.record_receipts([Receipt(application_id, uketsuke_bango, received_at)])

    def record_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Store several receipts in one transaction (receipt first, then the purge).

        The outbox records a whole pass at once: one commit and one audit head read instead
        of one per application. A crash before the commit loses only the device's copy of
        those receipts; the items go back to pending and resending them gets the gateway's
        stored receipts again (same key, same body), so nothing is sent twice.
        """
        if not receipts:
            return
        ids = [r.application_id for r in receipts]
        with self._write() as session:
            drafts = {row.id: row for row in
                      session.scalars(select(DraftRow).where(DraftRow.id.in_(ids)))}
            items = {row.application_id: row for row in
                     session.scalars(select(OutboxRow).where(OutboxRow.application_id.in_(ids)))}
            if len(drafts) != len(set(ids)) or len(items) != len(set(ids)):
                raise StoreError("store.not_found")
            now = _now()
            for receipt in receipts:
                draft = drafts[receipt.application_id]
                item = items[receipt.application_id]
                draft.uketsuke_bango = receipt.uketsuke_bango
                draft.received_at = receipt.received_at
                draft.status = RECEIVED
                draft.updated_at = now
                item.state = DONE
                item.payload = None
                item.last_error = None
            audit.append_many(session, [(SYSTEM_ACTOR, "application.received", i) for i in ids])

    def record_retry(self, application_id: str, next_attempt_at: dt.datetime, error: str) -> None:
        """Put an item back to pending with its next attempt time (survives restarts)."""
        with self._write() as session:
            item = self._get_outbox(session, application_id)
            item.state = PENDING
            item.next_attempt_at = next_attempt_at
            item.last_error = error[:200]

    def record_attention(self, application_id: str, error: str) -> None:
        """Park an item for staff (refused by the gateway, or its payload no longer valid);
        it no longer blocks the queue. `error` is codes only (at most 200 characters)."""
        with self._write() as session:
            item = self._get_outbox(session, application_id)
            self._park(session, item, self._get(session, application_id), error)

    def recover_in_flight(self) -> int:
        """On start: items left in flight by a crash go back to pending. Returns how many."""
        with self._write() as session:
            rows = session.scalars(select(OutboxRow).where(OutboxRow.state == IN_FLIGHT)).all()
            for item in rows:
                item.state = PENDING
            return len(rows)

    def outbox_state(self, application_id: str) -> tuple[str, int, str | None]:
        """Return (state, attempts, last error codes) of one outbox item."""

        def work(session: Session) -> tuple[str, int, str | None]:
            item = self._get_outbox(session, application_id)
            return item.state, item.attempts, item.last_error

        return self._read(work)

    def outbox_counts(self) -> dict[str, int]:
        """How many outbox items are in each state (pending, in_flight, done, attention)."""

        def work(session: Session) -> dict[str, int]:
            rows = session.execute(
                select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
            )
            return {state: count for state, count in rows}

        return self._read(work)

    # -- server statuses (the status feed) ------------------------------------------------

    def record_statuses(self, updates: Sequence[ServerStatus], cursor: int | None) -> int:
        """Store statuses from the gateway's feed and move the feed cursor, in one transaction.

        A status is kept only for an application of this store and only when its version is
        newer than the one held: feeds can repeat and arrive out of order. Statuses live in
        store_meta (``server_status:<id>``): codes, versions and times, no personal data.

        Args:
            updates: Feed entries.
            cursor: The highest feed position now seen (None leaves the cursor).

        Returns:
            How many applications changed.
        """
        changed = 0
        with self._write() as session:
            for update in updates:
                if session.get(DraftRow, update.application_id) is None:
                    continue
                key = _STATUS_PREFIX + update.application_id
                row = session.get(StoreMetaRow, key)
                held = None if row is None else ServerStatus.from_json(update.application_id,
                                                                       row.value)
                if held is not None and held.version >= update.version:
                    continue  # stale or repeated
                session.merge(StoreMetaRow(key=key, value=update.to_json()))
                changed += 1
            if cursor is not None:
                row = session.get(StoreMetaRow, _CURSOR_KEY)
                if row is None or int(row.value) < cursor:
                    session.merge(StoreMetaRow(key=_CURSOR_KEY, value=str(cursor)))
        return changed

    def server_status(self, application_id: str) -> ServerStatus | None:
        """The latest status the gateway reported for an application, if any."""

        def work(session: Session) -> ServerStatus | None:
            row = session.get(StoreMetaRow, _STATUS_PREFIX + application_id)
            return None if row is None else ServerStatus.from_json(application_id, row.value)

        return self._read(work)

    def sync_cursor(self) -> int | None:
        """The highest status feed position seen (None: read the feed from the start)."""

        def work(session: Session) -> int | None:
            row = session.get(StoreMetaRow, _CURSOR_KEY)
            return None if row is None else int(row.value)

        return self._read(work)
