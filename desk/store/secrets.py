"""Named device secrets (the gateway client secret) sealed under the device key in the store."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.errors import TamperedError
from desk.store import crypto
from desk.store.database import read_unit, write_unit
from desk.store.keys import KeyStore
from desk.store.models import StoreMetaRow

GATEWAY_CLIENT_SECRET = "gateway_client_secret"  # noqa: S105 - the name of a secret, not one
"""The name under which enrolment keeps the device's OAuth client secret."""

_PREFIX = "secret:"  # store_meta key prefix
_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
# The binding's record version: the format of what is sealed, should it ever change.
_VERSION = 1


def _key(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError("secret names are lower-case ids of at most 48 characters")
    return _PREFIX + name


def _binding(name: str, key_id: str) -> crypto.Binding:
    # Bound to its store_meta row: a sealed value copied under another name does not open.
    return crypto.Binding("store_meta", _key(name), "value", _VERSION, key_id)


def _blob(stored: str) -> bytes:
    try:
        return bytes.fromhex(stored)
    except ValueError:
        raise TamperedError("store.tampered") from None


def save_secret(engine: Engine, keys: KeyStore, name: str, value: bytes) -> None:
    """Seal a secret under the current device key and store it (replacing any earlier one).

    Long-lived secrets belong here, in the key store's care; short-lived ones (access
    tokens) stay in memory only.

    Args:
        engine: The device store's engine (``DraftStore.engine``).
        keys: The device's key store.
        name: A lower-case id, e.g. `GATEWAY_CLIENT_SECRET`.
        value: The secret.

    Raises:
        KeyUnavailableError: The device key cannot be opened.
        StoreError: The store cannot be written.
    """
    key = _key(name)
    with write_unit(engine) as session:
        # Read the key inside the transaction, as draft creation does, so a rotation cannot
        # slip between reading the current key and writing under it.
        key_id, kek = keys.current()
        sealed = crypto.seal(kek, value, _binding(name, key_id))
        session.merge(StoreMetaRow(key=key, value=sealed.hex()))


def load_secret(engine: Engine, keys: KeyStore, name: str) -> bytes | None:
    """Open a stored secret.

    Args:
        engine: The device store's engine.
        keys: The device's key store.
        name: The secret's name.

    Returns:
        The secret, or None if none was saved under this name.

    Raises:
        TamperedError: The stored value was altered or moved from another name.
        KeyUnavailableError: The device key that sealed it cannot be opened.
    """
    key = _key(name)

    def work(session: Session) -> str | None:
        row = session.get(StoreMetaRow, key)
        return None if row is None else row.value

    stored = read_unit(engine, work)
    if stored is None:
        return None
    blob = _blob(stored)
    key_id = crypto.blob_key_id(blob)
    return crypto.open_sealed(keys.get(key_id), blob, _binding(name, key_id))


def delete_secret(engine: Engine, name: str) -> None:
    """Forget a stored secret (re-enrolment, decommissioning)."""
    key = _key(name)
    with write_unit(engine) as session:
        row = session.get(StoreMetaRow, key)
        if row is not None:
            session.delete(row)


def secret_key_ids(engine: Engine) -> list[str]:
    """Ids of the device keys that seal at least one stored secret.

    Key rotation must not remove these keys before `rewrap_secrets` moved the secrets.
    """

    return read_unit(engine, secret_key_ids_in)


def secret_key_ids_in(session: Session) -> list[str]:
    """`secret_key_ids` inside the caller's transaction (rotation checks it under its lock)."""
    rows = session.scalars(
        select(StoreMetaRow.value).where(StoreMetaRow.key.like(_PREFIX + "%"))
    ).all()
    found = set()
    for value in rows:
        try:
            found.add(crypto.blob_key_id(_blob(value)))
        except TamperedError:
            continue  # damaged; load_secret reports it as tampered
    return sorted(found)


def rewrap_secrets(engine: Engine, keys: KeyStore) -> int:
    """Re-seal every stored secret under the current device key (a step of key rotation).

    Returns:
        How many secrets were re-sealed.

    Raises:
        TamperedError: A stored secret does not open (nothing is changed).
        KeyUnavailableError: A key that sealed one is gone (nothing is changed).
    """
    count = 0
    with write_unit(engine) as session:
        key_id, kek = keys.current()
        rows = session.scalars(
            select(StoreMetaRow).where(StoreMetaRow.key.like(_PREFIX + "%"))
        ).all()
        for row in rows:
            name = row.key.removeprefix(_PREFIX)
            blob = _blob(row.value)
            old_id = crypto.blob_key_id(blob)
            if old_id == key_id:
                continue
            plain = crypto.open_sealed(keys.get(old_id), blob, _binding(name, old_id))
            row.value = crypto.seal(kek, plain, _binding(name, key_id)).hex()
            count += 1
    return count
