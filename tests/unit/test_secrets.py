"""Device secrets sealed under the device key: round trip, binding to their name, rotation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from desk.errors import KeyUnavailableError, TamperedError
from desk.store.database import write_unit
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from desk.store.models import StoreMetaRow
from desk.store.secrets import (
    GATEWAY_CLIENT_SECRET,
    delete_secret,
    load_secret,
    rewrap_secrets,
    save_secret,
    secret_key_ids,
)

SECRET = b"S3cr3t-canary-client-secret-0123456789abcdef"


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def store(tmp_path: Path, keys: MemoryKeyStore) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", keys)
    yield opened
    opened.close()


def _stored(store: DraftStore, name: str) -> str:
    with write_unit(store.engine) as session:
        row = session.get(StoreMetaRow, f"secret:{name}")
        assert row is not None
        return row.value


def test_round_trip_and_missing(store: DraftStore, keys: MemoryKeyStore) -> None:
    assert load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET) is None
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, SECRET)
    assert load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET) == SECRET
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, b"replaced")
    assert load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET) == b"replaced"
    delete_secret(store.engine, GATEWAY_CLIENT_SECRET)
    assert load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET) is None


def test_never_in_clear_in_the_database_files(store: DraftStore, keys: MemoryKeyStore,
                                               tmp_path: Path) -> None:
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, SECRET)
    store.close()
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert SECRET not in data and SECRET.hex().encode() not in data


def test_value_moved_to_another_name_is_refused(store: DraftStore,
                                                keys: MemoryKeyStore) -> None:
    save_secret(store.engine, keys, "first", b"one")
    save_secret(store.engine, keys, "second", b"two")
    with write_unit(store.engine) as session:
        session.execute(update(StoreMetaRow).where(StoreMetaRow.key == "secret:second")
                        .values(value=_stored(store, "first")))
    with pytest.raises(TamperedError):
        load_secret(store.engine, keys, "second")


@pytest.mark.parametrize("damage", ["flip", "not-hex"])
def test_altered_value_is_refused(store: DraftStore, keys: MemoryKeyStore, damage: str) -> None:
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, SECRET)
    value = _stored(store, GATEWAY_CLIENT_SECRET)
    altered = value[:-2] + ("00" if value[-2:] != "00" else "01") if damage == "flip" else "zz"
    with write_unit(store.engine) as session:
        session.execute(update(StoreMetaRow)
                        .where(StoreMetaRow.key == f"secret:{GATEWAY_CLIENT_SECRET}")
                        .values(value=altered))
    with pytest.raises(TamperedError):
        load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET)


def test_another_device_key_cannot_open_it(store: DraftStore, keys: MemoryKeyStore) -> None:
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, SECRET)
    with pytest.raises(TamperedError):
        load_secret(store.engine, MemoryKeyStore(), GATEWAY_CLIENT_SECRET)  # same id, new key
    with pytest.raises(KeyUnavailableError):
        load_secret(store.engine, MemoryKeyStore(key_id="mem-2"), GATEWAY_CLIENT_SECRET)


def test_rotation_rewraps_so_the_old_key_can_go(store: DraftStore,
                                                keys: MemoryKeyStore) -> None:
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, SECRET)
    old_id, _ = keys.current()
    new_id = keys.add_key()
    keys.set_current(new_id)
    assert secret_key_ids(store.engine) == [old_id]

    assert rewrap_secrets(store.engine, keys) == 1
    assert rewrap_secrets(store.engine, keys) == 0  # nothing left under an old key
    keys.remove(old_id)

    assert secret_key_ids(store.engine) == [new_id]
    assert load_secret(store.engine, keys, GATEWAY_CLIENT_SECRET) == SECRET


@pytest.mark.parametrize("name", ["", "Upper", "with space", "x" * 49, "../etc"])
def test_names_are_plain_ids(store: DraftStore, keys: MemoryKeyStore, name: str) -> None:
    with pytest.raises(ValueError, match="secret names"):
        save_secret(store.engine, keys, name, b"x")
