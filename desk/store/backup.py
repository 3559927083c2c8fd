"""Backups of the device store that honour crypto-shredding, and restoring them safely.

A backup is a `VACUUM INTO` copy of the live store (consistent, no free pages, no WAL), so it
holds only ciphertext. That alone would not honour shredding: the copy still holds each
draft's wrapped data key, so a draft deleted after the backup was made would open again from
it with the device key. So every wrapped data key in a backup is sealed once more under a
per-draft *backup key* kept next to the store in a small separate file
(``<store>-backup-keys.sqlite3``) that is never copied into a backup. Shredding a draft
deletes its backup key too (`forget`, also swept by `forget_shredded`), and from then on no
backup made before can open it: opening a backup needs the device key (OS keyring or
passphrase) *and* the backup keys of this device, and the shredded draft's is gone.

Consequences an administrator must know (the CLI says them):

- A backup opens only on the device that made it, with its device key and backup-key file.
- `madoguchi keys rotate` removes the old device key, so backups made before a rotation no
  longer open: make a new backup after rotating.
- The backup-key file must not be copied elsewhere (it would defeat shredding) and must not be
  deleted (backups would no longer open). Profiles should be excluded from OS file backups.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.durable import fsync_dir, fsync_file
from desk.errors import StoreError
from desk.store import audit, crypto
from desk.store.database import (
    BUSY_TIMEOUT_MS,
    checkpoint,
    create_store_engine,
    open_store_engine,
    write_unit,
)
from desk.store.drafts import DISCARDED, SHREDDED_STATUSES, SYSTEM_ACTOR, DraftStore
from desk.store.keys import KeyStore
from desk.store.models import DraftRow, OutboxRow, StoreMetaRow
from desk.store.schema import known_revisions, revision_of

BACKUP_FACT = "backup"  # store_meta key marking a file as a backup (JSON: format, made_at)
RETIRED_FACT = "keys_retired"  # store_meta key: JSON list of device key ids rotation removed
BACKUP_FORMAT = 1
ESCROW_KEY_ID = "backup-key"  # key id in the header of a wrapped key sealed under a backup key
_STORE_TABLES = {"drafts", "outbox"}  # every schema revision has these
_LOCK_TIMEOUT_S = 0.5  # how long restore waits for the store to be free before "store.busy"


@dataclass(frozen=True)
class BackupInfo:
    """A backup that was written: where, when, how many drafts it can restore, under which keys."""

    path: Path
    made_at: dt.datetime
    drafts: int
    size_bytes: int
    key_ids: tuple[str, ...]


@dataclass(frozen=True)
class RestoreInfo:
    """What a restore did.

    `drafts_unreadable` counts drafts the backup holds that were shredded after it was made
    (or whose backup key is gone): they stay unreadable. `previous` is where the store that was
    replaced now lives (None if there was none); `previous_sealed` says whether it was turned
    into backup form (False when it was damaged and kept exactly as it was).
    """

    store_path: Path
    previous: Path | None
    previous_sealed: bool
    drafts_restored: int
    drafts_unreadable: int
    backup_made_at: dt.datetime | None


# -- the backup-key file ----------------------------------------------------------------------


def backup_keys_path(store_path: Path) -> Path:
    """The backup-key file that belongs to a store file."""
    return store_path.with_name(f"{store_path.stem}-backup-keys.sqlite3")


def _escrow_binding(draft_id: str) -> crypto.Binding:
    return crypto.Binding("drafts", draft_id, "wrapped_dek", 0, ESCROW_KEY_ID)


@contextlib.contextmanager
def _backup_keys(store_path: Path) -> Iterator[sqlite3.Connection]:
    """An autocommit connection to the backup-key file, created on first use."""
    connection = sqlite3.connect(backup_keys_path(store_path), isolation_level=None,
                                 timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        # The same durability as the store; secure_delete zeroes a forgotten key's bytes.
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                       "PRAGMA secure_delete=ON"):
            connection.execute(pragma)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS backup_keys (draft_id TEXT PRIMARY KEY, "
            "secret BLOB NOT NULL, last_seen TEXT NOT NULL)"
        )
        yield connection
    except sqlite3.Error as exc:
        raise StoreError("store.write_failed", reason=type(exc).__name__) from exc
    finally:
        connection.close()


def _truncate_wal(connection: sqlite3.Connection) -> None:
    # A forgotten key must not linger in the WAL either.
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def forget(store_path: Path, draft_ids: Iterable[str]) -> int:
    """Delete the backup keys of shredded drafts, so no backup can open them again.

    Call right after `DraftStore.shred` (retention does; `forget_shredded` sweeps up the rest).

    Returns:
        How many backup keys were deleted.
    """
    ids = list(draft_ids)
    if not ids or not backup_keys_path(store_path).exists():
        return 0
    with _backup_keys(store_path) as connection:
        connection.execute("BEGIN IMMEDIATE")
        removed = 0
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            removed += connection.execute(
                f"DELETE FROM backup_keys WHERE draft_id IN ({marks})", chunk  # noqa: S608
            ).rowcount
        connection.execute("COMMIT")
        _truncate_wal(connection)
    return removed


def forget_shredded(store: DraftStore | Engine | Path, *, now: dt.datetime | None = None,
                    unseen_for: dt.timedelta | None = None) -> int:
    """Sweep the backup-key file against the live store.

    Deletes the keys of drafts the store has shredded, marks the others as seen, and with
    `unseen_for` also deletes keys of drafts that have not been in the store for that long
    (drafts that exist only in backups after an older backup was restored).

    Returns:
        How many backup keys were deleted.
    """
    store_path = _store_path(store)
    if not backup_keys_path(store_path).exists():
        return 0
    moment = _aware(now)
    with _backup_keys(store_path) as connection:
        connection.execute("ATTACH DATABASE ? AS live", (str(store_path),))
        connection.execute("BEGIN IMMEDIATE")
        removed = connection.execute(
            "DELETE FROM backup_keys WHERE draft_id IN "
            "(SELECT id FROM live.drafts WHERE wrapped_dek IS NULL)"
        ).rowcount
        connection.execute(
            "UPDATE backup_keys SET last_seen = ? WHERE draft_id IN (SELECT id FROM live.drafts)",
            (moment.isoformat(),),
        )
        if unseen_for is not None:
            removed += connection.execute(
                "DELETE FROM backup_keys WHERE last_seen < ?",
                ((moment - unseen_for).isoformat(),),
            ).rowcount
        connection.execute("COMMIT")
        connection.execute("DETACH DATABASE live")
        _truncate_wal(connection)
    return removed


def _ensure_backup_keys(store_path: Path, only: Sequence[str] | None = None) -> None:
    """Give every live draft (or every live one of `only`) a backup key.

    The store is attached and the transaction is BEGIN IMMEDIATE on both files, so it holds
    the store's write lock: a shred cannot commit between "this draft is live" and "here is
    its key", which would bring a shredded draft back into a backup.
    """
    now = _aware(None).isoformat()
    with _backup_keys(store_path) as connection:
        connection.execute("ATTACH DATABASE ? AS live", (str(store_path),))
        connection.execute("BEGIN IMMEDIATE")
        query = ("SELECT id FROM live.drafts WHERE wrapped_dek IS NOT NULL AND id NOT IN "
                 "(SELECT draft_id FROM backup_keys)")
        if only is None:
            missing = [row[0] for row in connection.execute(query)]
        else:
            missing = []
            for chunk in _chunks(list(only)):
                marks = ",".join("?" * len(chunk))
                missing += [row[0] for row in connection.execute(
                    f"{query} AND id IN ({marks})", chunk)]
        connection.executemany(
            "INSERT INTO backup_keys (draft_id, secret, last_seen) VALUES (?, ?, ?)",
            [(draft_id, crypto.new_key(), now) for draft_id in missing],
        )
        connection.execute("COMMIT")
        connection.execute("DETACH DATABASE live")


def _read_backup_keys(store_path: Path, draft_ids: Sequence[str]) -> dict[str, bytes]:
    if not backup_keys_path(store_path).exists():
        return {}
    found: dict[str, bytes] = {}
    with _backup_keys(store_path) as connection:
        for chunk in _chunks(list(draft_ids)):
            marks = ",".join("?" * len(chunk))
            found.update(connection.execute(
                f"SELECT draft_id, secret FROM backup_keys WHERE draft_id IN ({marks})",  # noqa: S608
                chunk,
            ).fetchall())
    return found


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    # SQLite limits the number of parameters of one statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- backup -----------------------------------------------------------------------------------


def backup(store: DraftStore | Engine | Path, target: Path, *,
           actor: str = SYSTEM_ACTOR) -> BackupInfo:
    """Write a consistent, sealed copy of a live store to a new file.

    Other connections may keep writing meanwhile. The copy is made with `VACUUM INTO` under a
    temporary name in the target's folder, its wrapped data keys are sealed under the drafts'
    backup keys, then it is fsynced and moved into place. An audit entry ``store.backup``
    (draft count only; paths can hold names) is added to the live store.

    Args:
        store: the live store (a DraftStore, its engine, or the store file's path).
        target: the backup file to create; it must not exist.
        actor: the audit actor.

    Raises:
        StoreError: ``store.backup_exists`` (nothing written), ``store.not_found`` (no store
            file), ``store.backup_failed`` (disk full, I/O error; no partial file is left).
    """
    store_path = _store_path(store)
    if not store_path.exists():
        raise StoreError("store.not_found")
    if target.exists():
        raise StoreError("store.backup_exists")
    engine, owned = _engine_of(store)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        forget_shredded(store_path)
        _ensure_backup_keys(store_path)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("VACUUM INTO ?", (str(temporary),))
            cursor.close()
        finally:
            raw.close()
        made_at = _aware(None)
        drafts, key_ids = _seal_copy(temporary, store_path, made_at)
        fsync_file(temporary)
        _link_new(temporary, target)
        size = target.stat().st_size
        with write_unit(engine) as session:
            audit.append(session, actor=actor, action="store.backup", detail={"drafts": drafts})
    except (sqlite3.Error, OSError) as exc:
        raise StoreError("store.backup_failed", reason=type(exc).__name__) from exc
    finally:
        temporary.unlink(missing_ok=True)
        if owned:
            engine.dispose()
    return BackupInfo(target, made_at, drafts, size, key_ids)


def _seal_copy(copy: Path, store_path: Path, made_at: dt.datetime, *,
               ensure_missing: bool = True) -> tuple[int, tuple[str, ...]]:
    """Seal every wrapped data key of a store copy under its backup key, in place.

    With `ensure_missing`, drafts created after the first pass get their backup key now if
    the live store still holds them; a draft left without one (shredded since the copy was
    taken) is shredded in the copy.
    The rollback journal stays in memory so the unsealed keys never reach a journal file, and
    the final VACUUM drops the pages that held them.

    Returns:
        (drafts the copy can restore, device key ids their data keys are wrapped under)
    """
    connection = sqlite3.connect(copy, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        for pragma in ("PRAGMA journal_mode=MEMORY", "PRAGMA secure_delete=ON"):
            connection.execute(pragma)
        connection.execute("BEGIN IMMEDIATE")
        rows = connection.execute(
            "SELECT id, wrapped_dek FROM drafts WHERE wrapped_dek IS NOT NULL").fetchall()
        rows = [(draft_id, blob) for draft_id, blob in rows
                if crypto.blob_key_id(blob) != ESCROW_KEY_ID]  # a copy of a copy: sealed already
        ids = [draft_id for draft_id, _ in rows]
        found = _read_backup_keys(store_path, ids)
        missing = [draft_id for draft_id in ids if draft_id not in found]
        if missing and ensure_missing:
            _ensure_backup_keys(store_path, missing)
            found.update(_read_backup_keys(store_path, missing))
        for draft_id, blob in rows:
            secret = found.get(draft_id)
            if secret is None:
                _shred_in_copy(connection, draft_id)
            else:
                connection.execute(
                    "UPDATE drafts SET wrapped_dek = ? WHERE id = ?",
                    (crypto.seal(secret, blob, _escrow_binding(draft_id)), draft_id),
                )
        fact = json.dumps({"format": BACKUP_FORMAT, "made_at": made_at.isoformat()})
        connection.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)",
                           (BACKUP_FACT, fact))
        connection.execute("COMMIT")
        connection.execute("VACUUM")
        live = connection.execute(
            "SELECT count(*) FROM drafts WHERE wrapped_dek IS NOT NULL").fetchone()[0]
        key_ids = tuple(r[0] for r in connection.execute(
            "SELECT DISTINCT kek_id FROM drafts WHERE wrapped_dek IS NOT NULL ORDER BY kek_id"))
        return int(live), key_ids
    finally:
        connection.close()


def _shred_in_copy(connection: sqlite3.Connection, draft_id: str,
                   status: str | None = None) -> None:
    connection.execute(
        "UPDATE drafts SET wrapped_dek = NULL, answers = NULL, status = ? WHERE id = ?",
        (status or DISCARDED, draft_id),
    )
    connection.execute("UPDATE outbox SET payload = NULL WHERE application_id = ?", (draft_id,))


# -- restore ----------------------------------------------------------------------------------


def restore(backup_file: Path, store_path: Path, keys: KeyStore, *,
            actor: str = SYSTEM_ACTOR) -> RestoreInfo:
    """Replace the store with a backup, keeping the current store beside it.

    The store must be free (no app has it open). The backup is copied into the store's folder
    and checked there: quick_check, a Madoguchi store of a known schema, opened by `keys`. Its
    data keys are unsealed with this device's backup keys; drafts shredded since the backup
    was made stay shredded. Then the current store is kept as
    ``<store>.before-restore-<UTC time>`` (with its -wal/-shm; never deleted), the checked copy
    replaces it atomically, and the old store, when healthy, is sealed like a backup (restore
    it the same way). The restored store carries an audit entry ``store.restored`` and is opened
    once, which migrates it to the current schema.

    Raises:
        StoreError: ``store.busy``, ``store.not_found`` (no backup file),
            ``store.backup_damaged``, ``store.not_a_store``, ``store.newer_schema``,
            ``store.backup_other_device``, ``store.backup_key_retired``; in every case the
            current store is untouched.
    """
    if not backup_file.is_file():
        raise StoreError("store.not_found")
    store_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = store_path.with_name(f".{store_path.name}.restore-{secrets.token_hex(4)}.tmp")
    try:
        with _exclusive(store_path) as live:
            _copy_file(backup_file, temporary)
            _check_copy(temporary)
            forget(store_path, live.shredded)
            restored, unreadable, made_at = _open_copy(temporary, store_path, keys, live, actor)
            _fold_wal(temporary)
        previous = _keep_aside(store_path)
        temporary.replace(store_path)
        fsync_dir(store_path.parent)
    except OSError as exc:
        raise StoreError("store.restore_failed", reason=type(exc).__name__) from exc
    finally:
        _remove_with_sidecars(temporary)
    sealed = previous is not None and _seal_aside(previous, store_path)
    DraftStore(store_path, keys).close()
    return RestoreInfo(store_path, previous, sealed, restored, unreadable, made_at)


@dataclass(frozen=True)
class _LiveFacts:
    """What restore reads from the store it replaces (when it can: it may be damaged)."""

    shredded: tuple[str, ...] = ()
    retired_keys: tuple[str, ...] = ()


@contextlib.contextmanager
def _exclusive(store_path: Path) -> Iterator[_LiveFacts]:
    """Hold the store exclusively while restore prepares, or fail with ``store.busy``.

    In WAL mode an EXCLUSIVE transaction does not keep readers out; exclusive locking mode
    does, and taking it fails while any other connection has the file open. The lock is let
    go before the renames (Windows cannot rename an open file).
    """
    if not store_path.exists():
        yield _LiveFacts()
        return
    connection = sqlite3.connect(store_path, isolation_level=None, timeout=_LOCK_TIMEOUT_S)
    try:
        facts = _LiveFacts()
        try:
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError("store.busy") from exc
        except sqlite3.DatabaseError:
            pass  # damaged beyond reading: nothing to learn from it, and nothing uses it
        else:
            facts = _read_live_facts(connection)
            connection.execute("COMMIT")
        yield facts
    finally:
        # Closing folds the store's WAL into it, so the set moved aside is consistent.
        connection.close()


def _read_live_facts(connection: sqlite3.Connection) -> _LiveFacts:
    try:
        shredded = tuple(r[0] for r in connection.execute(
            "SELECT id FROM drafts WHERE wrapped_dek IS NULL"))
    except sqlite3.DatabaseError:
        shredded = ()
    try:
        row = connection.execute("SELECT value FROM store_meta WHERE key = ?",
                                 (RETIRED_FACT,)).fetchone()
        retired = tuple(str(k) for k in json.loads(row[0])) if row else ()
    except (sqlite3.DatabaseError, ValueError, TypeError):
        retired = ()
    return _LiveFacts(shredded, retired)


def _copy_file(source: Path, destination: Path) -> None:
    """Copy a store file (and a -wal beside it, if any) to new files, fsynced."""
    pairs = [(source, destination)]
    if Path(f"{source}-wal").exists():
        pairs.append((Path(f"{source}-wal"), Path(f"{destination}-wal")))
    for origin, copy in pairs:
        with origin.open("rb") as reader, copy.open("xb") as writer:
            while chunk := reader.read(1 << 20):
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())


def _check_copy(copy: Path) -> None:
    """Refuse a damaged file, or one that is not a Madoguchi store of a schema we know."""
    try:
        connection = sqlite3.connect(copy, isolation_level=None)
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        # "file is not a database": a text file or random bytes, not a damaged store.
        not_sqlite = "not a database" in str(exc)
        raise StoreError("store.not_a_store" if not_sqlite else "store.backup_damaged") from exc
    if not result or result[0] != "ok":
        raise StoreError("store.backup_damaged")
    if not tables >= _STORE_TABLES:
        raise StoreError("store.not_a_store")
    engine = create_store_engine(copy)
    try:
        with engine.connect() as connection_:
            revision = revision_of(connection_)
            connection_.rollback()
    finally:
        engine.dispose()
    if revision is None or revision not in known_revisions():
        raise StoreError("store.newer_schema", revision=revision or "none")


def _open_copy(copy: Path, store_path: Path, keys: KeyStore, live: _LiveFacts,
               actor: str) -> tuple[int, int, dt.datetime | None]:
    """Check the keys, unseal the data keys, shred what was shredded since; audit the restore.

    Returns:
        (drafts restored, drafts left unreadable, when the backup was made if it says)
    """
    candidate = DraftStore(copy, keys)  # migrates the copy to the current schema
    try:
        if not candidate.keys_open_store():
            if set(candidate.key_ids_in_use()) & set(live.retired_keys):
                raise StoreError("store.backup_key_retired")
            raise StoreError("store.backup_other_device")
        with write_unit(candidate.engine, "store.restore_failed") as session:
            made_at = _pop_backup_fact(session)
            rows = session.scalars(select(DraftRow).where(DraftRow.wrapped_dek.is_not(None))).all()
            sealed = {r.id for r in rows
                      if r.wrapped_dek is not None
                      and crypto.blob_key_id(r.wrapped_dek) == ESCROW_KEY_ID}
            found = _read_backup_keys(store_path, sorted(sealed))
            shredded_since = set(live.shredded)
            unreadable = 0
            for row in rows:
                if row.id in shredded_since or (row.id in sealed and row.id not in found):
                    _shred_row(session, row)
                    unreadable += 1
                elif row.id in sealed and row.wrapped_dek is not None:
                    try:
                        row.wrapped_dek = crypto.open_sealed(found[row.id], row.wrapped_dek,
                                                             _escrow_binding(row.id))
                    except StoreError:  # altered: it cannot be opened, so keep nothing of it
                        _shred_row(session, row)
                        unreadable += 1
            if live.retired_keys:  # so a later restore of an even older backup says why
                session.merge(StoreMetaRow(key=RETIRED_FACT,
                                           value=json.dumps(list(live.retired_keys))))
            restored = len(rows) - unreadable
            audit.append(session, actor=actor, action="store.restored",
                         detail={"drafts": restored, "unreadable": unreadable})
        checkpoint(candidate.engine)
    finally:
        candidate.close()
    return restored, unreadable, made_at


def _pop_backup_fact(session: Session) -> dt.datetime | None:
    fact = session.get(StoreMetaRow, BACKUP_FACT)
    if fact is None:
        return None  # a plain store file (e.g. one moved aside that could not be sealed)
    session.delete(fact)
    try:
        return dt.datetime.fromisoformat(str(json.loads(fact.value)["made_at"]))
    except (ValueError, KeyError, TypeError):
        return None


def _shred_row(session: Session, row: DraftRow) -> None:
    row.wrapped_dek = None
    row.answers = None
    if row.status not in SHREDDED_STATUSES:
        row.status = DISCARDED
    item = session.get(OutboxRow, row.id)
    if item is not None:  # sealed under the same, now lost, data key
        item.payload = None


def _keep_aside(store_path: Path) -> Path | None:
    """Give the store the name ``<store>.before-restore-<UTC time>``, with its -wal/-shm.

    The new name is a hard link where the file system allows, so the store's own name never
    points at nothing: a crash before the backup is moved in leaves the old store in place.
    Returns the new name, or None when there was no store.
    """
    sidecars = [Path(f"{store_path}{suffix}") for suffix in ("-wal", "-shm")]
    sidecars = [path for path in sidecars if path.exists()]
    if not store_path.exists() and not sidecars:
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = store_path.with_name(f"{store_path.name}.before-restore-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = store_path.with_name(f"{store_path.name}.before-restore-{stamp}-{number}")
    existed = store_path.exists()
    if existed:
        try:
            aside.hardlink_to(store_path)
        except OSError:
            store_path.replace(aside)  # file systems without hard links
    # A -wal left at the store's name would be replayed into the restored file.
    for sidecar in sidecars:
        sidecar.replace(Path(f"{aside}{sidecar.name.removeprefix(store_path.name)}"))
    fsync_dir(store_path.parent)
    return aside if existed else None


def _seal_aside(aside: Path, store_path: Path) -> bool:
    """Seal the store moved aside like a backup, so later shredding reaches it too.

    A damaged one is kept exactly as it was (it may be needed to recover what the backup
    lacks); returns whether it was sealed.
    """
    try:
        connection = sqlite3.connect(aside, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            result = connection.execute("PRAGMA quick_check").fetchone()
            if not result or result[0] != "ok":
                return False
            ids = [r[0] for r in connection.execute(
                "SELECT id FROM drafts WHERE wrapped_dek IS NOT NULL")]
            connection.execute("PRAGMA journal_mode=DELETE")
        finally:
            connection.close()
        _give_backup_keys(store_path, ids)
        _seal_copy(aside, store_path, _aware(None), ensure_missing=False)
        fsync_file(aside)
    except (sqlite3.Error, StoreError, OSError):
        return False
    return True


def _give_backup_keys(store_path: Path, draft_ids: Sequence[str]) -> None:
    """Backup keys for drafts of a store no longer live (existing keys are kept)."""
    now = _aware(None).isoformat()
    with _backup_keys(store_path) as connection:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT OR IGNORE INTO backup_keys (draft_id, secret, last_seen) VALUES (?, ?, ?)",
            [(draft_id, crypto.new_key(), now) for draft_id in draft_ids],
        )
        connection.execute("COMMIT")


# -- files ------------------------------------------------------------------------------------


def _store_path(store: DraftStore | Engine | Path) -> Path:
    if isinstance(store, DraftStore):
        return store.path
    if isinstance(store, Engine):
        assert store.url.database is not None
        return Path(store.url.database)
    return store


def _engine_of(store: DraftStore | Engine | Path) -> tuple[Engine, bool]:
    if isinstance(store, DraftStore):
        return store.engine, False
    if isinstance(store, Engine):
        return store, False
    return open_store_engine(store), True


def _aware(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(dt.UTC)


def _link_new(temporary: Path, target: Path) -> None:
    """Move a finished file to a name that must not exist yet (never overwrite)."""
    try:
        target.hardlink_to(temporary)  # fails if the target exists: create-if-absent
    except FileExistsError:
        raise StoreError("store.backup_exists") from None
    except OSError:
        if target.exists():  # file systems without hard links: check, then rename
            raise StoreError("store.backup_exists") from None
        temporary.replace(target)
    fsync_dir(target.parent)


def _fold_wal(path: Path) -> None:
    # A -wal left beside the checked copy would be lost by the rename: fold it in first.
    if Path(f"{path}-wal").exists():
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
    fsync_file(path)


def _remove_with_sidecars(path: Path) -> None:
    for name in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        Path(name).unlink(missing_ok=True)
