"""Key stores that hold the device key (KEK): OS keyring, staff passphrase, demo file, memory."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from desk import durable
from desk.errors import KeyUnavailableError, StoreError, TamperedError
from desk.store.crypto import (
    KEY_BYTES,
    Binding,
    KdfParams,
    derive_key,
    new_key,
    unwrap_key,
    wrap_key,
)

KEYRING_SERVICE = "madoguchi-desk"
WRAPPED_KEYS_FILE = "device-keys.json"
KINDS = ("keyring", "passphrase", "demo")
_FILE_FORMAT = 1
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyStore(Protocol):
    """Where the device key lives. `current()` never creates a key silently."""

    def current(self) -> tuple[str, bytes]:
        """Return (key id, key) of the active device key, or raise KeyUnavailableError."""
        ...

    def get(self, key_id: str) -> bytes:
        """Return the key with this id, or raise KeyUnavailableError."""
        ...


class ManagedKeyStore(KeyStore, Protocol):
    """A key store that enrolment and key rotation can manage.

    Rotation is: `add_key()`, re-wrap every data key under it, `set_current()`, then
    `remove()` the old key once nothing refers to it. Each step leaves the store usable,
    so a rotation interrupted by a crash can be resumed.
    """

    def provision(self) -> str:
        """Create the first device key and make it current (enrolment only).

        Raises:
            KeyUnavailableError: "store.key_exists" when a key (or a trace of one) exists.
        """
        ...

    def add_key(self) -> str:
        """Store a new key without making it current; return its id."""
        ...

    def set_current(self, key_id: str) -> None:
        """Make a stored key the one new data keys are wrapped with."""
        ...

    def remove(self, key_id: str) -> None:
        """Delete a key that is not current (StoreError "store.key_in_use" otherwise)."""
        ...

    def key_ids(self) -> list[str]:
        """Return the ids of every stored key."""
        ...


def _new_key_id(prefix: str, taken: Container[str]) -> str:
    while True:
        key_id = f"{prefix}-{secrets.token_hex(4)}"
        if key_id not in taken:
            return key_id


def atomic_write(path: Path, data: bytes, *, create: bool = False) -> None:
    """Write a key file atomically (see desk.durable.atomic_write).

    Raises:
        KeyUnavailableError: "store.key_exists" when `create` and the file exists.
    """
    try:
        durable.atomic_write(path, data, create=create)
    except FileExistsError:
        raise KeyUnavailableError("store.key_exists") from None


@dataclass
class _KeySet:
    current: str | None = None
    keys: dict[str, bytes] = field(default_factory=dict)


class _KeySetStore:
    """Enrolment and rotation for stores that load and save all their keys at once."""

    _prefix = "key"

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def _exists(self) -> bool:
        raise NotImplementedError

    def _load(self) -> _KeySet:
        raise NotImplementedError

    def _save(self, keyset: _KeySet, *, create: bool) -> None:
        raise NotImplementedError

    def current(self) -> tuple[str, bytes]:
        """Return (key id, key) of the active device key."""
        with self._lock:
            keyset = self._load()
        if keyset.current is None or keyset.current not in keyset.keys:
            raise KeyUnavailableError("store.key_locked")
        return keyset.current, keyset.keys[keyset.current]

    def get(self, key_id: str) -> bytes:
        """Return a key by id."""
        with self._lock:
            keyset = self._load()
        try:
            return keyset.keys[key_id]
        except KeyError:
            raise KeyUnavailableError("store.key_unknown") from None

    def key_ids(self) -> list[str]:
        """Return the ids of every stored key."""
        with self._lock:
            return list(self._load().keys)

    def provision(self) -> str:
        """Create the first device key and make it current (enrolment only)."""
        with self._lock:
            if self._exists():
                raise KeyUnavailableError("store.key_exists")
            key_id = _new_key_id(self._prefix, ())
            self._save(_KeySet(key_id, {key_id: new_key()}), create=True)
            return key_id

    def add_key(self) -> str:
        """Store a new key without making it current; return its id."""
        with self._lock:
            keyset = self._load()
            if keyset.current is None:  # only an enrolled store rotates
                raise KeyUnavailableError("store.key_locked")
            key_id = _new_key_id(self._prefix, keyset.keys)
            keyset.keys[key_id] = new_key()
            self._save(keyset, create=False)
            return key_id

    def set_current(self, key_id: str) -> None:
        """Make a stored key current."""
        with self._lock:
            keyset = self._load()
            if key_id not in keyset.keys:
                raise KeyUnavailableError("store.key_unknown")
            keyset.current = key_id
            self._save(keyset, create=False)

    def remove(self, key_id: str) -> None:
        """Delete a key that is not current."""
        with self._lock:
            keyset = self._load()
            if key_id == keyset.current:
                raise StoreError("store.key_in_use")
            if key_id not in keyset.keys:
                raise KeyUnavailableError("store.key_unknown")
            del keyset.keys[key_id]
            self._save(keyset, create=False)


class MemoryKeyStore(_KeySetStore):
    """Device keys held in memory only: for tests and throwaway sessions."""

    _prefix = "mem"

    def __init__(self, key: bytes | None = None, key_id: str = "mem-1", *,
                 provisioned: bool = True) -> None:
        """Hold one key (given or fresh) as current, or none with `provisioned=False`."""
        super().__init__()
        self._keyset = _KeySet(key_id, {key_id: key or new_key()}) if provisioned else _KeySet()

    def _exists(self) -> bool:
        return bool(self._keyset.keys)

    def _load(self) -> _KeySet:
        return _KeySet(self._keyset.current, dict(self._keyset.keys))

    def _save(self, keyset: _KeySet, *, create: bool) -> None:
        self._keyset = keyset


def _check_key_id(value: Any) -> str:
    if not isinstance(value, str) or not _KEY_ID.fullmatch(value):
        raise KeyUnavailableError("store.key_damaged")
    return value


class DemoFileKeyStore(_KeySetStore):
    """Device keys in a 0600 file inside the demo profile.

    Only `madoguchi demo` uses this: its profile holds fake data and must survive a restart so
    a draft can be resumed. Real devices keep the key in the OS keyring or derive it from a
    passphrase; this class refuses to work outside a folder marked as a demo profile.
    """

    MARKER = "DEMO-PROFILE"
    _prefix = "demo"

    def __init__(self, profile_dir: Path) -> None:
        """Refuse (KeyUnavailableError "store.not_demo_profile") a folder without the marker."""
        super().__init__()
        if not (profile_dir / self.MARKER).exists():
            raise KeyUnavailableError("store.not_demo_profile")
        self._path = profile_dir / "demo-device.key"

    def _exists(self) -> bool:
        return self._path.exists()

    def _load(self) -> _KeySet:
        # Demo profiles are provisioned on first use: they hold fake data only.
        if not self._path.exists():
            try:
                self.provision()
            except KeyUnavailableError as error:
                if error.message_id != "store.key_exists":  # another process was quicker
                    raise
        text = self._path.read_text(encoding="utf-8").strip()
        try:
            if text.startswith("{"):
                data = json.loads(text)
                keyset = _KeySet(_check_key_id(data["current"]),
                                 {_check_key_id(k): bytes.fromhex(v)
                                  for k, v in data["keys"].items()})
            else:  # the first demo format: one "id:hex" line
                key_id, _, key_hex = text.partition(":")
                keyset = _KeySet(_check_key_id(key_id), {key_id: bytes.fromhex(key_hex)})
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyUnavailableError("store.key_damaged") from None
        if any(len(key) != KEY_BYTES for key in keyset.keys.values()):
            raise KeyUnavailableError("store.key_damaged")
        return keyset

    def _save(self, keyset: _KeySet, *, create: bool) -> None:
        data = {"format": _FILE_FORMAT, "current": keyset.current,
                "keys": {key_id: key.hex() for key_id, key in keyset.keys.items()}}
        atomic_write(self._path, json.dumps(data, indent=1).encode(), create=create)


class PassphraseKeyStore(_KeySetStore):
    """Device keys wrapped under a key derived from a staff passphrase (devices without keyring).

    `device-keys.json` in the profile holds the KDF parameters, each device key sealed
    (AES-GCM, bound to its key id) under the passphrase-derived key, and which key is current.
    A wrong passphrase is detected by the AEAD, not by a stored hash of the passphrase.
    The file is re-read when it changes on disk, so a rotation by another process is seen.
    """

    _prefix = "pp"

    def __init__(self, profile_dir: Path, passphrase: str, *,
                 params: KdfParams | None = None) -> None:
        """Open the store of a profile; nothing is read or derived until first use.

        Args:
            profile_dir: the device profile folder.
            passphrase: the staff passphrase (NFKC-normalized before derivation).
            params: scheme and cost for a new file or a new passphrase (default:
                `KdfParams.new()`); an existing file's own parameters are always honoured.

        Raises:
            KeyUnavailableError: "store.passphrase_needed" for an empty passphrase.
        """
        super().__init__()
        if not passphrase:
            raise KeyUnavailableError("store.passphrase_needed")
        self._path = profile_dir / WRAPPED_KEYS_FILE
        self._passphrase = passphrase
        self._template = params
        self._cache: tuple[tuple[int, int, int], KdfParams, bytes, _KeySet] | None = None

    @property
    def path(self) -> Path:
        """The key file."""
        return self._path

    @staticmethod
    def _binding(key_id: str, params: KdfParams) -> Binding:
        # The salt names the wrapping key, so blobs from another file or passphrase never open.
        return Binding("device_keys", key_id, "kek", _FILE_FORMAT, f"pw-{params.salt.hex()[:16]}")

    def _new_params(self) -> KdfParams:
        return self._template.with_fresh_salt() if self._template else KdfParams.new()

    def _exists(self) -> bool:
        return self._path.exists()

    def _load(self) -> _KeySet:
        try:
            stat = self._path.stat()
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if self._cache is not None and self._cache[0] == signature:
                keyset = self._cache[3]
                return _KeySet(keyset.current, dict(keyset.keys))
            raw = self._path.read_bytes()
        except FileNotFoundError:
            # The device was enrolled with a passphrase (that is why we are here): a missing
            # file is a locked device, not a first run.
            raise KeyUnavailableError("store.key_locked") from None
        try:
            data = json.loads(raw)
            if data["format"] != _FILE_FORMAT:
                raise ValueError("unknown format")
            params = KdfParams.from_dict(data["kdf"])
            current = _check_key_id(data["current"])
            blobs = {_check_key_id(k): base64.b64decode(v, validate=True)
                     for k, v in data["keys"].items()}
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise KeyUnavailableError("store.key_damaged") from None
        if current not in blobs:
            raise KeyUnavailableError("store.key_damaged")
        if self._cache is not None and self._cache[1] == params:
            wrapping = self._cache[2]
        else:
            wrapping = derive_key(self._passphrase, params)
        keys: dict[str, bytes] = {}
        # The current key first: if it does not open, the passphrase is wrong.
        for key_id in sorted(blobs, key=lambda k: k != current):
            try:
                keys[key_id] = unwrap_key(wrapping, blobs[key_id], self._binding(key_id, params))
            except TamperedError:
                message = "store.passphrase_wrong" if key_id == current else "store.key_damaged"
                raise KeyUnavailableError(message) from None
        keyset = _KeySet(current, {k: keys[k] for k in blobs})
        self._cache = (signature, params, wrapping, keyset)
        return _KeySet(current, dict(keyset.keys))

    def _save(self, keyset: _KeySet, *, create: bool, new_passphrase: str | None = None) -> None:
        if create or new_passphrase is not None or self._cache is None:
            params = self._new_params()
            wrapping = derive_key(new_passphrase or self._passphrase, params)
        else:
            _, params, wrapping, _ = self._cache
        data = {
            "format": _FILE_FORMAT,
            "kdf": params.to_dict(),
            "current": keyset.current,
            "keys": {
                key_id: base64.b64encode(
                    wrap_key(wrapping, key, self._binding(key_id, params))).decode("ascii")
                for key_id, key in keyset.keys.items()
            },
        }
        atomic_write(self._path, json.dumps(data, indent=1).encode(), create=create)
        stat = self._path.stat()
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        self._cache = (signature, params, wrapping, _KeySet(keyset.current, dict(keyset.keys)))

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-wrap every key under a new passphrase (fresh salt, current default cost).

        The old passphrase must open the file first; the file is replaced atomically, so a
        crash leaves either the old or the new passphrase working, never neither.

        Raises:
            KeyUnavailableError: "store.passphrase_needed" for an empty new passphrase, or
                any error of opening the file with the old one.
        """
        if not new_passphrase:
            raise KeyUnavailableError("store.passphrase_needed")
        with self._lock:
            keyset = self._load()
            self._save(keyset, create=False, new_passphrase=new_passphrase)
            self._passphrase = new_passphrase


def _refuse_backend(candidate: Any) -> bool:
    """Whether a keyring backend must not hold device keys."""
    module = type(candidate).__module__
    if module == "keyrings" or module.startswith("keyrings."):
        return True  # keyrings.alt: plaintext or unauthenticated "encrypted" files
    try:
        return bool(candidate.priority < 1)  # fail and null backends
    except Exception:  # noqa: BLE001  a backend's priority raises when it is not viable
        return True


def _usable_backend(name: str | None) -> Any:
    import keyring
    import keyring.core
    from keyring.backends.chainer import ChainerBackend
    from keyring.backends.Windows import WinVaultKeyring

    try:
        if name is None:
            chosen = keyring.get_keyring()
        elif name.startswith("keyrings."):
            raise KeyUnavailableError("store.no_keyring")
        else:
            chosen = keyring.core.load_keyring(name)
    except KeyUnavailableError:
        raise
    except Exception:  # noqa: BLE001  import, attribute and viability errors all mean "none"
        raise KeyUnavailableError("store.no_keyring") from None
    members = list(chosen.backends) if isinstance(chosen, ChainerBackend) else [chosen]
    if not members or _refuse_backend(chosen) or any(_refuse_backend(m) for m in members):
        raise KeyUnavailableError("store.no_keyring")
    for member in members:
        if isinstance(member, WinVaultKeyring):
            try:
                # The default (enterprise) roams the credential to other machines of the
                # domain; the device key belongs to this machine only.
                member.persist = "local machine"
            except Exception:  # noqa: BLE001
                raise KeyUnavailableError("store.no_keyring") from None
    return chosen


class KeyringKeyStore:
    """Device keys in the OS keyring (Credential Locker, Keychain, Secret Service).

    A missing key, a locked keyring or any error reading it means "locked", never "first
    run": creating a key here would orphan every existing draft. Keys are created only by
    `provision()` (enrolment) and `add_key()` (rotation). Backends with priority < 1 (fail,
    null) and keyrings.alt are refused. Entries, all under the service "madoguchi-desk":
    ``<profile>:<key id>`` (hex key), ``<profile>:current``, ``<profile>:index`` (JSON list).
    """

    def __init__(self, profile: str, backend: str | None = None) -> None:
        """Choose the backend: a dotted class name, or None for keyring's own resolution.

        Raises:
            KeyUnavailableError: "store.no_keyring" when the backend is missing, not
                viable here, or refused.
        """
        self._backend = _usable_backend(backend)
        self._profile = profile

    def _entry(self, name: str) -> str:
        return f"{self._profile}:{name}"

    def _read(self, name: str) -> str | None:
        try:
            value = self._backend.get_password(KEYRING_SERVICE, self._entry(name))
        except Exception as exc:  # KeyringLocked, InitError, D-Bus errors: all mean locked
            raise KeyUnavailableError("store.key_locked") from exc
        return value if isinstance(value, str) else None

    def _write(self, name: str, value: str) -> None:
        try:
            self._backend.set_password(KEYRING_SERVICE, self._entry(name), value)
        except Exception as exc:
            raise KeyUnavailableError("store.key_locked") from exc

    def _delete(self, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        try:
            self._backend.delete_password(KEYRING_SERVICE, self._entry(name))
        except PasswordDeleteError:
            pass  # already gone: removing is idempotent, so a resumed rotation can repeat it
        except Exception as exc:
            raise KeyUnavailableError("store.key_locked") from exc

    def current(self) -> tuple[str, bytes]:
        """Return the active key from the keyring."""
        key_id = self._read("current")
        if key_id is None:
            raise KeyUnavailableError("store.key_locked")
        return key_id, self.get(key_id)

    def get(self, key_id: str) -> bytes:
        """Return a key by id from the keyring."""
        value = self._read(_check_key_id(key_id))
        if value is None:
            raise KeyUnavailableError("store.key_locked")
        try:
            key = bytes.fromhex(value)
        except ValueError:
            raise KeyUnavailableError("store.key_damaged") from None
        if len(key) != KEY_BYTES:
            raise KeyUnavailableError("store.key_damaged")
        return key

    def key_ids(self) -> list[str]:
        """Return the ids listed in the index (or the current one, for an index-less store)."""
        index = self._read("index")
        if index is None:
            current = self._read("current")
            return [] if current is None else [current]
        try:
            ids = json.loads(index)
            return [_check_key_id(key_id) for key_id in ids]
        except (ValueError, TypeError):
            raise KeyUnavailableError("store.key_damaged") from None

    def provision(self) -> str:
        """Create the device key (enrolment only); refuses if any trace of one exists."""
        if self._read("current") is not None or self._read("index") is not None:
            raise KeyUnavailableError("store.key_exists")
        key_id = _new_key_id("kr", ())
        self._write(key_id, new_key().hex())
        self._write("index", json.dumps([key_id]))
        self._write("current", key_id)  # last: its presence means "enrolled"
        # A backend that accepts writes and forgets them must fail enrolment, not the next start.
        self.current()
        return key_id

    def add_key(self) -> str:
        """Store a new key without making it current; return its id."""
        self.current()  # only an enrolled, unlocked store rotates
        ids = self.key_ids()
        key_id = _new_key_id("kr", ids)
        self._write(key_id, new_key().hex())
        self._write("index", json.dumps([*ids, key_id]))
        return key_id

    def set_current(self, key_id: str) -> None:
        """Make a stored key current."""
        if key_id not in self.key_ids():
            raise KeyUnavailableError("store.key_unknown")
        self.get(key_id)
        self._write("current", key_id)

    def remove(self, key_id: str) -> None:
        """Delete a key that is not current."""
        current, _ = self.current()
        if key_id == current:
            raise StoreError("store.key_in_use")
        ids = self.key_ids()
        if key_id not in ids:
            raise KeyUnavailableError("store.key_unknown")
        # Index first: a crash in between leaves an unlisted secret, never a listed hole.
        self._write("index", json.dumps([k for k in ids if k != key_id]))
        self._delete(key_id)


def open_key_store(profile_dir: Path, kind: str, *, passphrase: str | None = None,
                   backend: str | None = None, profile_name: str | None = None) -> ManagedKeyStore:
    """Open the key store of an enrolled device, ready for `current()`.

    Never creates a key, except in a demo profile (fake data only).

    Args:
        profile_dir: the device profile folder.
        kind: "keyring", "passphrase" or "demo", as chosen at enrolment.
        passphrase: the staff passphrase (kind "passphrase").
        backend: dotted class name of the keyring backend; None lets keyring choose.
        profile_name: the keyring entry prefix (default: the profile folder's name).

    Raises:
        KeyUnavailableError: "store.no_keyring", "store.key_locked",
            "store.passphrase_needed", "store.passphrase_wrong" (the caller then runs with
            drafts off), or "store.key_damaged", "store.kdf_unsupported",
            "store.not_demo_profile", "store.kind_unknown".
    """
    store: ManagedKeyStore
    if kind == "keyring":
        store = KeyringKeyStore(profile_name or profile_dir.name, backend)
    elif kind == "passphrase":
        if not passphrase:
            raise KeyUnavailableError("store.passphrase_needed")
        store = PassphraseKeyStore(profile_dir, passphrase)
    elif kind == "demo":
        store = DemoFileKeyStore(profile_dir)
    else:
        raise KeyUnavailableError("store.kind_unknown", kind=kind)
    store.current()
    return store
