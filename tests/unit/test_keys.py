"""Device key stores: keyring, passphrase, demo file and memory; enrolment, rotation, locking."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import InitError, KeyringError, KeyringLocked, PasswordDeleteError

from desk.errors import KeyUnavailableError, StoreError
from desk.store import crypto, keys
from desk.store.crypto import KdfParams
from desk.store.keys import (
    KEYRING_SERVICE,
    WRAPPED_KEYS_FILE,
    DemoFileKeyStore,
    KeyringKeyStore,
    ManagedKeyStore,
    MemoryKeyStore,
    PassphraseKeyStore,
    open_key_store,
)

CHEAP = KdfParams.new("argon2id", {"m": 64, "t": 1, "p": 1})
PASSPHRASE = "窓口の合言葉 correct horse"
Entries = dict[tuple[str, str], str]


class DictKeyring(KeyringBackend):
    """A real keyring backend (priority 1) keeping its entries in a dict.

    The required constructor argument keeps it out of keyring's own backend detection.
    """

    priority = 1

    def __init__(self, entries: Entries) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries = entries

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class FailingKeyring(DictKeyring):
    """A keyring that holds entries but raises on every access (locked, D-Bus down, …)."""

    def __init__(self, entries: Entries, error: Exception) -> None:
        super().__init__(entries)
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error


class NamedKeyring(DictKeyring):
    """A backend loaded by dotted name; viable only while its test runs."""

    enabled: ClassVar[bool] = False
    shared: ClassVar[Entries] = {}

    def __init__(self) -> None:
        super().__init__(NamedKeyring.shared)

    @properties.classproperty
    def priority(cls) -> float:  # type: ignore[override]  # noqa: N805  classproperty passes the class
        if not NamedKeyring.enabled:
            raise RuntimeError("only inside test_keys")
        return 1


@pytest.fixture(autouse=True)
def restore_keyring() -> Iterator[None]:
    """Put keyring's process-wide backend back after each test."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def entries() -> Entries:
    return {}


@pytest.fixture
def device_keyring(entries: Entries) -> DictKeyring:
    backend = DictKeyring(entries)
    keyring.set_keyring(backend)
    return backend


def _provisioned_passphrase_store(profile: Path) -> PassphraseKeyStore:
    store = PassphraseKeyStore(profile, PASSPHRASE, params=CHEAP)
    store.provision()
    return store


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(KeyUnavailableError) as caught:
        call()
    return caught.value.message_id


# -- every managed store ----------------------------------------------------------------------


@pytest.fixture(params=["memory", "demo", "passphrase", "keyring"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path,
                device_keyring: DictKeyring) -> ManagedKeyStore:
    """An unprovisioned store of each kind (the demo one provisions itself on first use)."""
    kind = request.param
    if kind == "memory":
        return MemoryKeyStore(provisioned=False)
    if kind == "demo":
        (tmp_path / DemoFileKeyStore.MARKER).touch()
        return DemoFileKeyStore(tmp_path)
    if kind == "passphrase":
        return PassphraseKeyStore(tmp_path, PASSPHRASE, params=CHEAP)
    return KeyringKeyStore("counter-1")


def test_enrolment_and_rotation_on_every_store(fresh_store: ManagedKeyStore) -> None:
    first = fresh_store.provision()
    assert fresh_store.key_ids() == [first]
    key_id, key = fresh_store.current()
    assert key_id == first and len(key) == 32
    assert _message(fresh_store.provision) == "store.key_exists"
    assert fresh_store.current() == (first, key)  # a refused provision changed nothing

    second = fresh_store.add_key()
    assert second != first and set(fresh_store.key_ids()) == {first, second}
    assert fresh_store.current() == (first, key)  # added, not yet current
    new_key = fresh_store.get(second)
    assert new_key != key

    fresh_store.set_current(second)
    assert fresh_store.current() == (second, new_key)
    assert fresh_store.get(first) == key  # old data keys can still be unwrapped

    with pytest.raises(StoreError) as caught:
        fresh_store.remove(second)
    assert caught.value.message_id == "store.key_in_use"
    fresh_store.remove(first)
    assert fresh_store.key_ids() == [second]
    assert _message(lambda: fresh_store.get(first)) in {"store.key_unknown", "store.key_locked"}
    assert _message(lambda: fresh_store.set_current(first)) == "store.key_unknown"
    assert _message(lambda: fresh_store.remove(first)) == "store.key_unknown"
    assert fresh_store.current() == (second, new_key)


def test_memory_store_without_a_key_is_locked_not_provisioned() -> None:
    store = MemoryKeyStore(provisioned=False)
    assert _message(store.current) == "store.key_locked"
    assert _message(store.add_key) == "store.key_locked"
    assert store.key_ids() == []
    default = MemoryKeyStore(b"k" * 32)
    assert default.current() == ("mem-1", b"k" * 32)


# -- passphrase store -------------------------------------------------------------------------


def test_passphrase_store_file_holds_params_and_wrapped_keys_only(tmp_path: Path) -> None:
    store = _provisioned_passphrase_store(tmp_path)
    key_id, key = store.current()
    path = tmp_path / WRAPPED_KEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    data = json.loads(raw)
    assert set(data) == {"format", "kdf", "current", "keys"}
    assert data["current"] == key_id
    assert data["kdf"]["cost"] == {"m": 64, "t": 1, "p": 1}
    for needle in (key, key.hex().encode(), base64.b64encode(key), PASSPHRASE.encode()):
        assert needle not in raw
    assert sorted(p.name for p in tmp_path.iterdir()) == [WRAPPED_KEYS_FILE]


def test_passphrase_store_reopens_with_the_right_passphrase_only(tmp_path: Path) -> None:
    key_id, key = _provisioned_passphrase_store(tmp_path).current()
    before = (tmp_path / WRAPPED_KEYS_FILE).read_bytes()

    assert PassphraseKeyStore(tmp_path, PASSPHRASE).current() == (key_id, key)
    assert open_key_store(tmp_path, "passphrase", passphrase=PASSPHRASE).current() == (key_id, key)
    # NFKC: the full-width space an IME types is the same passphrase.
    assert PassphraseKeyStore(tmp_path, "窓口の合言葉　correct horse").current() == (key_id, key)

    wrong = PassphraseKeyStore(tmp_path, "窓口の合言葉 wrong horse")
    assert _message(wrong.current) == "store.passphrase_wrong"
    assert _message(lambda: wrong.get(key_id)) == "store.passphrase_wrong"
    assert _message(wrong.add_key) == "store.passphrase_wrong"
    assert _message(lambda: wrong.change_passphrase("new")) == "store.passphrase_wrong"
    assert _message(lambda: open_key_store(tmp_path, "passphrase", passphrase="nope")) == (
        "store.passphrase_wrong")
    for missing in (None, ""):
        assert _message(lambda m=missing: open_key_store(tmp_path, "passphrase",  # type: ignore[misc]
                                                         passphrase=m)) == "store.passphrase_needed"
    assert (tmp_path / WRAPPED_KEYS_FILE).read_bytes() == before


def test_passphrase_store_missing_file_is_locked_and_nothing_is_created(tmp_path: Path) -> None:
    store = PassphraseKeyStore(tmp_path, PASSPHRASE, params=CHEAP)
    for call in (store.current, lambda: store.get("pp-00000000"), store.add_key,
                 lambda: open_key_store(tmp_path, "passphrase", passphrase=PASSPHRASE)):
        assert _message(call) == "store.key_locked"
    assert list(tmp_path.iterdir()) == []


def test_passphrase_store_honours_the_parameters_stored_in_its_file(tmp_path: Path) -> None:
    key_id, key = _provisioned_passphrase_store(tmp_path).current()
    path = tmp_path / WRAPPED_KEYS_FILE
    data = json.loads(path.read_bytes())
    # Independently of the store: the stored params derive the key that opens the stored blob.
    params = KdfParams.from_dict(data["kdf"])
    wrapping = crypto.derive_key(PASSPHRASE, params)
    binding = crypto.Binding("device_keys", key_id, "kek", 1, f"pw-{params.salt.hex()[:16]}")
    assert crypto.unwrap_key(wrapping, base64.b64decode(data["keys"][key_id]), binding) == key
    # A store whose own default is the full cost still reads the cheap file...
    assert PassphraseKeyStore(tmp_path, PASSPHRASE).current() == (key_id, key)
    # ...and a file claiming another cost no longer opens: the stored values are what is used.
    data["kdf"]["cost"]["t"] = 2
    path.write_text(json.dumps(data))
    assert _message(PassphraseKeyStore(tmp_path, PASSPHRASE).current) == "store.passphrase_wrong"


def test_change_passphrase_rewraps_every_key(tmp_path: Path) -> None:
    store = _provisioned_passphrase_store(tmp_path)
    first, first_key = store.current()
    second = store.add_key()
    path = tmp_path / WRAPPED_KEYS_FILE
    old_salt = json.loads(path.read_bytes())["kdf"]["salt"]
    old_inode = path.stat().st_ino

    store.change_passphrase("新しい合言葉")
    assert store.current() == (first, first_key)

    reopened = PassphraseKeyStore(tmp_path, "新しい合言葉")
    assert reopened.current() == (first, first_key)
    assert reopened.get(second) == store.get(second)
    assert _message(PassphraseKeyStore(tmp_path, PASSPHRASE).current) == "store.passphrase_wrong"
    data = json.loads(path.read_bytes())
    assert data["kdf"]["salt"] != old_salt
    assert data["kdf"]["cost"] == {"m": 64, "t": 1, "p": 1}  # the store's chosen cost
    assert path.stat().st_ino != old_inode  # replaced by rename, not rewritten in place
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [WRAPPED_KEYS_FILE]
    assert _message(lambda: store.change_passphrase("")) == "store.passphrase_needed"


def test_provision_never_replaces_an_existing_key_file(tmp_path: Path) -> None:
    _provisioned_passphrase_store(tmp_path)
    before = (tmp_path / WRAPPED_KEYS_FILE).read_bytes()
    other = PassphraseKeyStore(tmp_path, "someone else's passphrase", params=CHEAP)
    assert _message(other.provision) == "store.key_exists"
    assert (tmp_path / WRAPPED_KEYS_FILE).read_bytes() == before
    # The create step itself refuses an existing target, even if a check before it raced.
    assert _message(lambda: keys.atomic_write(tmp_path / WRAPPED_KEYS_FILE, b"{}",
                                              create=True)) == "store.key_exists"
    assert (tmp_path / WRAPPED_KEYS_FILE).read_bytes() == before


def test_failed_key_file_write_keeps_the_old_file(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = _provisioned_passphrase_store(tmp_path)
    key_id, key = store.current()
    before = (tmp_path / WRAPPED_KEYS_FILE).read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.add_key()
    monkeypatch.undo()
    assert (tmp_path / WRAPPED_KEYS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [WRAPPED_KEYS_FILE]  # no temp left
    assert PassphraseKeyStore(tmp_path, PASSPHRASE).current() == (key_id, key)
    assert PassphraseKeyStore(tmp_path, PASSPHRASE).key_ids() == [key_id]


def test_passphrase_store_sees_a_rotation_made_by_another_process(tmp_path: Path) -> None:
    app = _provisioned_passphrase_store(tmp_path)
    old_id, _ = app.current()
    rotation = PassphraseKeyStore(tmp_path, PASSPHRASE)
    new_id = rotation.add_key()
    rotation.set_current(new_id)
    assert app.current() == (new_id, rotation.get(new_id))
    (tmp_path / WRAPPED_KEYS_FILE).unlink()
    assert _message(app.current) == "store.key_locked"
    assert old_id != new_id


def test_key_blobs_swapped_between_ids_are_refused(tmp_path: Path) -> None:
    store = _provisioned_passphrase_store(tmp_path)
    first, _ = store.current()
    second = store.add_key()
    path = tmp_path / WRAPPED_KEYS_FILE
    data = json.loads(path.read_bytes())
    data["keys"][first], data["keys"][second] = data["keys"][second], data["keys"][first]
    path.write_text(json.dumps(data))
    assert _message(PassphraseKeyStore(tmp_path, PASSPHRASE).current) == "store.passphrase_wrong"

    data["keys"][first], data["keys"][second] = data["keys"][second], data["keys"][first]
    data["keys"][second] = data["keys"][second][:-8] + "AAAAAAA="
    path.write_text(json.dumps(data))
    assert _message(PassphraseKeyStore(tmp_path, PASSPHRASE).current) == "store.key_damaged"


@pytest.mark.parametrize("damage", [
    "", "{", "[]", '{"format": 1}', "null",
    '{"format": 2, "kdf": {}, "current": "pp-1", "keys": {}}',
])
def test_damaged_key_file_is_reported_not_replaced(tmp_path: Path, damage: str) -> None:
    path = tmp_path / WRAPPED_KEYS_FILE
    path.write_text(damage)
    store = PassphraseKeyStore(tmp_path, PASSPHRASE, params=CHEAP)
    assert _message(store.current) == "store.key_damaged"
    assert _message(store.provision) == "store.key_exists"
    assert path.read_text() == damage


# -- demo store -------------------------------------------------------------------------------


def test_demo_store_reads_its_first_file_format(tmp_path: Path) -> None:
    (tmp_path / DemoFileKeyStore.MARKER).touch()
    key = crypto.new_key()
    (tmp_path / "demo-device.key").write_text(f"demo-0a1b2c3d:{key.hex()}\n")
    store = DemoFileKeyStore(tmp_path)
    assert store.current() == ("demo-0a1b2c3d", key)
    added = store.add_key()
    assert DemoFileKeyStore(tmp_path).key_ids() == ["demo-0a1b2c3d", added]
    assert DemoFileKeyStore(tmp_path).current() == ("demo-0a1b2c3d", key)


def test_demo_store_only_in_a_demo_profile(tmp_path: Path) -> None:
    assert _message(lambda: open_key_store(tmp_path, "demo")) == "store.not_demo_profile"
    (tmp_path / DemoFileKeyStore.MARKER).touch()
    key_id, key = open_key_store(tmp_path, "demo").current()
    assert open_key_store(tmp_path, "demo").get(key_id) == key
    assert _message(lambda: open_key_store(tmp_path, "usb-stick")) == "store.kind_unknown"


# -- keyring store ----------------------------------------------------------------------------


def test_keyring_store_keeps_keys_and_an_index_under_its_service(device_keyring: DictKeyring,
                                                                 entries: Entries) -> None:
    store = KeyringKeyStore("counter-1")
    key_id = store.provision()
    assert set(entries) == {(KEYRING_SERVICE, f"counter-1:{name}")
                            for name in (key_id, "current", "index")}
    assert json.loads(entries[(KEYRING_SERVICE, "counter-1:index")]) == [key_id]
    reopened = open_key_store(Path("/nonexistent/counter-1"), "keyring")
    assert reopened.current() == store.current()
    other_profile = KeyringKeyStore("counter-2")
    assert _message(other_profile.current) == "store.key_locked"


def test_keyring_store_never_provisions_on_read(device_keyring: DictKeyring,
                                                entries: Entries) -> None:
    store = KeyringKeyStore("counter-1")
    assert _message(store.current) == "store.key_locked"
    assert _message(lambda: store.get("kr-00000000")) == "store.key_locked"
    assert _message(store.add_key) == "store.key_locked"
    assert store.key_ids() == []
    assert entries == {}


def test_keyring_none_read_of_an_existing_key_is_locked(device_keyring: DictKeyring,
                                                        entries: Entries) -> None:
    store = KeyringKeyStore("counter-1")
    key_id = store.provision()
    del entries[(KEYRING_SERVICE, f"counter-1:{key_id}")]
    assert _message(store.current) == "store.key_locked"
    # The current entry gone too but the index left: still enrolled, so no new key.
    del entries[(KEYRING_SERVICE, "counter-1:current")]
    assert _message(store.current) == "store.key_locked"
    assert _message(store.provision) == "store.key_exists"
    assert list(entries) == [(KEYRING_SERVICE, "counter-1:index")]


def test_keyring_index_less_store_of_the_first_version(device_keyring: DictKeyring,
                                                       entries: Entries) -> None:
    key = crypto.new_key()
    entries[(KEYRING_SERVICE, "counter-1:kr-0a1b2c3d")] = key.hex()
    entries[(KEYRING_SERVICE, "counter-1:current")] = "kr-0a1b2c3d"
    store = KeyringKeyStore("counter-1")
    assert store.key_ids() == ["kr-0a1b2c3d"]
    assert store.current() == ("kr-0a1b2c3d", key)
    added = store.add_key()
    assert store.key_ids() == ["kr-0a1b2c3d", added]


@pytest.mark.parametrize("error", [
    KeyringLocked("Failed to unlock the collection!"),
    InitError("Failed to create the collection"),
    KeyringError("backend error"),
    RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown"),
])
def test_keyring_errors_on_read_mean_locked(entries: Entries, error: Exception) -> None:
    keyring.set_keyring(DictKeyring(entries))
    key_id = KeyringKeyStore("counter-1").provision()
    snapshot = dict(entries)
    keyring.set_keyring(FailingKeyring(entries, error))
    store = KeyringKeyStore("counter-1")
    for call in (store.current, lambda: store.get(key_id), store.key_ids, store.provision,
                 store.add_key, lambda: open_key_store(Path("counter-1"), "keyring")):
        assert _message(call) == "store.key_locked"
    assert entries == snapshot


@pytest.mark.parametrize("backend", [keyring.backends.fail.Keyring, keyring.backends.null.Keyring])
def test_keyring_backends_below_priority_one_are_refused(backend: type[KeyringBackend]) -> None:
    keyring.set_keyring(backend())
    assert _message(lambda: KeyringKeyStore("counter-1")) == "store.no_keyring"
    assert _message(lambda: open_key_store(Path("counter-1"), "keyring")) == "store.no_keyring"


@pytest.mark.parametrize("name", [
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
    "keyrings.alt.file.EncryptedKeyring",
    "madoguchi.no_such_module.Keyring",
    "keyring.backends.fail.NoSuchClass",
    pytest.param("keyring.backends.Windows.WinVaultKeyring",
                 marks=pytest.mark.skipif(sys.platform == "win32", reason="viable on Windows")),
    f"{__name__}.NamedKeyring",  # not viable outside its own test
])
def test_explicit_keyring_backends_that_cannot_serve_are_refused(name: str) -> None:
    assert _message(lambda: KeyringKeyStore("counter-1", backend=name)) == "store.no_keyring"


def test_explicit_keyring_backend_by_dotted_name(device_keyring: DictKeyring,
                                                 entries: Entries) -> None:
    NamedKeyring.enabled = True
    NamedKeyring.shared.clear()
    try:
        store = KeyringKeyStore("counter-1", backend=f"{__name__}.NamedKeyring")
        key_id = store.provision()
        assert open_key_store(Path("x"), "keyring", backend=f"{__name__}.NamedKeyring",
                              profile_name="counter-1").current()[0] == key_id
        assert (KEYRING_SERVICE, "counter-1:current") in NamedKeyring.shared
        assert entries == {}  # the process default was not used
    finally:
        NamedKeyring.enabled = False
        NamedKeyring.shared.clear()


def test_changed_keyring_backend_is_locked_and_the_old_one_untouched(entries: Entries) -> None:
    first = DictKeyring(entries)
    keyring.set_keyring(first)
    store = KeyringKeyStore("counter-1")
    key_id = store.provision()
    key = store.get(key_id)
    snapshot = dict(entries)

    elsewhere: Entries = {}
    keyring.set_keyring(DictKeyring(elsewhere))  # the device now resolves another backend
    assert _message(lambda: open_key_store(Path("counter-1"), "keyring")) == "store.key_locked"
    assert elsewhere == {}  # no key was provisioned in the new backend
    assert entries == snapshot

    keyring.set_keyring(first)
    assert open_key_store(Path("counter-1"), "keyring").current() == (key_id, key)


# -- acceptance test 6 ------------------------------------------------------------------------


def test_acceptance_6_no_locked_or_changed_keyring_never_makes_a_silent_new_key(
    tmp_path: Path,
) -> None:
    """No keyring, a locked keyring, a changed backend: passphrase or read-only, no new key."""
    enrolled: Entries = {}
    keyring.set_keyring(DictKeyring(enrolled))
    key_id = KeyringKeyStore("counter-1").provision()
    enrolled_snapshot = dict(enrolled)
    other: Entries = {}
    situations: dict[str, KeyringBackend] = {
        "no keyring": keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
        "null keyring": keyring.backends.null.Keyring(),  # type: ignore[no-untyped-call]
        "locked keyring": FailingKeyring(enrolled, KeyringLocked("locked")),
        "changed backend": DictKeyring(other),
    }
    expected = {"no keyring": "store.no_keyring", "null keyring": "store.no_keyring",
                "locked keyring": "store.key_locked", "changed backend": "store.key_locked"}
    for situation, backend in situations.items():
        keyring.set_keyring(backend)
        assert _message(lambda: open_key_store(tmp_path, "keyring",
                                               profile_name="counter-1")) == expected[situation]
        # Without a passphrase there is no other way in: the caller runs with drafts off.
        assert _message(lambda: open_key_store(tmp_path, "passphrase")) == (
            "store.passphrase_needed")
        # A passphrase for a device never enrolled with one is "locked", not a first run.
        assert _message(lambda: open_key_store(tmp_path, "passphrase",
                                               passphrase=PASSPHRASE)) == "store.key_locked"
        assert list(tmp_path.iterdir()) == []
        assert enrolled == enrolled_snapshot
        assert other == {}

    # A device enrolled with a passphrase opens with it whatever the keyring does.
    profile = tmp_path / "passphrase-device"
    profile.mkdir()
    pp_id, pp_key = _provisioned_passphrase_store(profile).current()
    for backend in situations.values():
        keyring.set_keyring(backend)
        assert open_key_store(profile, "passphrase", passphrase=PASSPHRASE).current() == (
            pp_id, pp_key)
    assert [p.name for p in profile.iterdir()] == [WRAPPED_KEYS_FILE]

    keyring.set_keyring(DictKeyring(enrolled))
    assert open_key_store(tmp_path, "keyring", profile_name="counter-1").current()[0] == key_id
    assert enrolled == enrolled_snapshot
