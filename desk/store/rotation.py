"""Device key rotation: re-wrap every draft's data key under a new device key, resumably.

Only the small wrapped data keys change; draft ciphertext is never re-encrypted. Every step
leaves the store usable, and a run after a crash at any point finishes the rotation it finds
instead of starting another:

1. add a new key to the key store (not current yet);
2. record a ``rotation`` fact in store_meta (target key id) with the new key's check value;
3. make the new key current (new drafts are wrapped under it from now on);
4. re-wrap the data keys still under an old key, in batches, one transaction and one
   ``keys.rewrapped`` audit entry (a count) per batch;
5. remove every old key no live draft uses (``keys.removed``), then ``keys.rotated`` and the
   fact is cleared.

Backups made before a rotation hold data keys wrapped under the old device key, which step 5
removes: they no longer open. Make a new backup after rotating. The removed key ids are kept
in store_meta (``keys_retired``) so a restore can say so instead of "another device".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.errors import StoreError
from desk.store import audit, crypto
from desk.store.backup import RETIRED_FACT
from desk.store.database import checkpoint, read_unit, write_unit
from desk.store.drafts import SYSTEM_ACTOR, DraftStore
from desk.store.keys import ManagedKeyStore
from desk.store.models import DraftRow, StoreMetaRow
from desk.store.secrets import rewrap_secrets, secret_key_ids, secret_key_ids_in

ROTATION_FACT = "rotation"  # store_meta key: JSON {"to": key id, "from": [...], "started": ...}
BATCH_SIZE = 200
_RETIRED_KEPT = 50  # retired key ids remembered (for the restore message); older ones drop off

StepHook = Callable[[str], None]


@dataclass(frozen=True)
class RotationReport:
    """What a rotation run did.

    `resumed` is True when it finished an interrupted rotation instead of adding a key.
    `unreadable` counts drafts whose data key could not be unwrapped (altered, or the old key
    is missing); their old key is kept so nothing is lost by the rotation itself.
    """

    new_key_id: str
    resumed: bool
    rewrapped: int
    batches: int
    removed_key_ids: tuple[str, ...]
    unreadable: int


def _binding(draft_id: str, kek_id: str) -> crypto.Binding:
    # Must equal DraftStore's binding of wrapped data keys, or re-wrapped keys would not open.
    return crypto.Binding("drafts", draft_id, "wrapped_dek", 0, kek_id)


def _read_fact(store: DraftStore) -> dict[str, object] | None:
    def work(session: Session) -> str | None:
        row = session.get(StoreMetaRow, ROTATION_FACT)
        return row.value if row is not None else None

    value = read_unit(store.engine, work)
    if value is None:
        return None
    try:
        fact = json.loads(value)
    except ValueError:
        return None
    return fact if isinstance(fact, dict) and isinstance(fact.get("to"), str) else None


def _record_fact(store: DraftStore, keys: ManagedKeyStore, target: str,
                 old: list[str]) -> None:
    fact = {"to": target, "from": old, "started": dt.datetime.now(dt.UTC).isoformat()}
    with write_unit(store.engine) as session:
        session.merge(StoreMetaRow(key=ROTATION_FACT, value=json.dumps(fact)))
        # The new key's check value, so `keys_open_store` can tell this key store opens it.
        store.remember_key(session, target, keys.get(target))


def rotate(store: DraftStore, keys: ManagedKeyStore, *, batch_size: int = BATCH_SIZE,
           actor: str = SYSTEM_ACTOR, on_step: StepHook | None = None) -> RotationReport:
    """Rotate the device key of a store, or finish a rotation a crash interrupted.

    Args:
        store: the live store; other connections may keep working meanwhile.
        keys: the device's key store.
        batch_size: data keys re-wrapped per transaction.
        actor: the audit actor (the administrator's login, or "system").
        on_step: called after each durable step with its name ("key_added",
            "fact_recorded", "current_set", "batch", "keys_removed"); tests raise from it to
            simulate a crash there.

    Raises:
        KeyUnavailableError: the key store is locked or cannot store a new key.
        StoreError: the store cannot be written (nothing half-done: each step is atomic).
    """
    step = on_step or (lambda _name: None)
    current_id, _ = keys.current()
    stored = set(keys.key_ids())
    fact = _read_fact(store)
    resumed = True
    if fact is not None and fact["to"] in stored:
        target = str(fact["to"])
    else:
        # A fact naming a key that never made it into the key store: nothing was wrapped
        # under that key (wrapping starts after it is current), so start afresh.
        in_use = set(store.key_ids_in_use()) | set(secret_key_ids(store.engine))
        others = sorted(k for k in in_use if k != current_id)
        if others:
            # Data keys under a key that is not current: a rotation was interrupted after
            # making its key current. Finish it; do not add yet another key.
            target = current_id
            _record_fact(store, keys, target, others)
        else:
            resumed = False
            target = keys.add_key()
            step("key_added")
            _record_fact(store, keys, target, [current_id])
            step("fact_recorded")
    if keys.current()[0] != target:
        keys.set_current(target)
        step("current_set")

    rewrapped, batches, skipped = _rewrap_all(store, keys, target, batch_size, actor, step)
    # The gateway client secret is sealed under the device key too; leaving it under a removed
    # key would stop the device from sending.
    rewrap_secrets(store.engine, keys)
    removed = _remove_old_keys(store, keys, target, actor, rewrapped, len(skipped))
    checkpoint(store.engine)  # old wrapped keys must not linger in the WAL
    step("keys_removed")
    return RotationReport(target, resumed, rewrapped, batches, tuple(removed), len(skipped))


def _rewrap_all(store: DraftStore, keys: ManagedKeyStore, target: str, batch_size: int,
                actor: str, step: StepHook) -> tuple[int, int, set[str]]:
    new_kek = keys.get(target)
    old_keks: dict[str, bytes | None] = {}
    skipped: set[str] = set()
    rewrapped = batches = 0
    while True:
        with write_unit(store.engine) as session:
            query = (select(DraftRow)
                     .where(DraftRow.wrapped_dek.is_not(None), DraftRow.kek_id != target)
                     .order_by(DraftRow.id).limit(batch_size))
            if skipped:
                query = query.where(DraftRow.id.not_in(skipped))
            rows = session.scalars(query).all()
            if not rows:
                break
            count = 0
            for row in rows:
                assert row.wrapped_dek is not None
                if row.kek_id not in old_keks:
                    try:
                        old_keks[row.kek_id] = keys.get(row.kek_id)
                    except StoreError:
                        old_keks[row.kek_id] = None
                old = old_keks[row.kek_id]
                try:
                    if old is None:
                        raise StoreError("store.key_unknown")
                    dek = crypto.unwrap_key(old, row.wrapped_dek, _binding(row.id, row.kek_id))
                except StoreError:
                    skipped.add(row.id)  # altered or its key is gone: leave it as it is
                    continue
                row.wrapped_dek = crypto.wrap_key(new_kek, dek, _binding(row.id, target))
                row.kek_id = target
                count += 1
            if count:
                audit.append(session, actor=actor, action="keys.rewrapped", subject=target,
                             detail={"count": count})
        if count:
            rewrapped += count
            batches += 1
            step("batch")
    return rewrapped, batches, skipped


def _remove_old_keys(store: DraftStore, keys: ManagedKeyStore, target: str, actor: str,
                     rewrapped: int, unreadable: int) -> list[str]:
    """Remove old keys no live draft uses, then close the rotation in the audit log.

    Runs in a store write transaction: while it holds the write lock no draft can be
    committed, so the "not in use" answer still holds when the key is deleted.
    """
    removed: list[str] = []
    with write_unit(store.engine) as session:
        in_use = set(session.scalars(
            select(DraftRow.kek_id).where(DraftRow.wrapped_dek.is_not(None)).distinct()))
        in_use.update(secret_key_ids_in(session))
        for key_id in keys.key_ids():
            if key_id != target and key_id not in in_use:
                keys.remove(key_id)
                removed.append(key_id)
                audit.append(session, actor=actor, action="keys.removed", subject=key_id)
                check = session.get(StoreMetaRow, f"kek_check:{key_id}")
                if check is not None:
                    session.delete(check)
        if removed:
            retired_row = session.get(StoreMetaRow, RETIRED_FACT)
            retired = json.loads(retired_row.value) if retired_row is not None else []
            retired = [k for k in retired if k not in removed] + removed
            session.merge(StoreMetaRow(key=RETIRED_FACT,
                                       value=json.dumps(retired[-_RETIRED_KEPT:])))
        audit.append(session, actor=actor, action="keys.rotated", subject=target,
                     detail={"rewrapped": rewrapped, "removed": len(removed),
                             "unreadable": unreadable})
        fact = session.get(StoreMetaRow, ROTATION_FACT)
        if fact is not None:
            session.delete(fact)
    return removed
