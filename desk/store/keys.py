"""Key stores that hold the device key (KEK): OS keyring, demo file, and in-memory for tests."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from desk.errors import KeyUnavailableError
from desk.store.crypto import KEY_BYTES, new_key

KEYRING_SERVICE = "madoguchi-desk"


class KeyStore(Protocol):
    """Where the device key lives. `current()` never creates a key silently."""

    def current(self) -> tuple[str, bytes]:
        """Return (key id, key) of the active device key, or raise KeyUnavailableError."""
        ...

    def get(self, key_id: str) -> bytes:
        """Return the key with this id, or raise KeyUnavailableError."""
        ...


class MemoryKeyStore:
    """A device key held in memory only: for tests and throwaway sessions."""

    def __init__(self, key: bytes | None = None, key_id: str = "mem-1") -> None:
        self._keys = {key_id: key or new_key()}
        self._current = key_id

    def current(self) -> tuple[str, bytes]:
        """Return the active key."""
        return self._current, self._keys[self._current]

    def get(self, key_id: str) -> bytes:
        """Return a key by id."""
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyUnavailableError("store.key_unknown") from None


class DemoFileKeyStore:
    """A device key in a 0600 file inside the demo profile.

    Only `madoguchi demo` uses this: its profile holds fake data and must survive a restart so
    a draft can be resumed. Real devices keep the key in the OS keyring or derive it from a
    passphrase; this class refuses to work outside a folder marked as a demo profile.
    """

    MARKER = "DEMO-PROFILE"

    def __init__(self, profile_dir: Path) -> None:
        if not (profile_dir / self.MARKER).exists():
            raise KeyUnavailableError("store.not_demo_profile")
        self._path = profile_dir / "demo-device.key"

    def current(self) -> tuple[str, bytes]:
        """Return the demo key, creating it on first use (demo profiles are provisioned here)."""
        if not self._path.exists():
            key_id = f"demo-{secrets.token_hex(4)}"
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{key_id}:{new_key().hex()}\n")
        key_id, _, key_hex = self._path.read_text().strip().partition(":")
        key = bytes.fromhex(key_hex)
        if len(key) != KEY_BYTES:
            raise KeyUnavailableError("store.key_damaged")
        return key_id, key

    def get(self, key_id: str) -> bytes:
        """Return the demo key if the id matches."""
        current_id, key = self.current()
        if key_id != current_id:
            raise KeyUnavailableError("store.key_unknown")
        return key


class KeyringKeyStore:
    """The device key in the OS keyring (Credential Locker, Keychain, Secret Service).

    A missing key means "locked" (or a device that was never enrolled), never "first run":
    creating a key here would orphan every existing draft. Keys are created only by enrolment.
    Backends with priority < 1 (the fail and null backends) are refused.
    """

    def __init__(self, profile: str) -> None:
        import keyring

        backend = keyring.get_keyring()
        if getattr(backend, "priority", 0) < 1:
            raise KeyUnavailableError("store.no_keyring")
        self._keyring = keyring
        self._profile = profile

    def _read(self, name: str) -> str | None:
        value = self._keyring.get_password(KEYRING_SERVICE, f"{self._profile}:{name}")
        return value if isinstance(value, str) else None

    def current(self) -> tuple[str, bytes]:
        """Return the active key from the keyring."""
        key_id = self._read("current")
        if key_id is None:
            raise KeyUnavailableError("store.key_locked")
        return key_id, self.get(key_id)

    def get(self, key_id: str) -> bytes:
        """Return a key by id from the keyring."""
        value = self._read(key_id)
        if value is None:
            raise KeyUnavailableError("store.key_locked")
        return bytes.fromhex(value)

    def provision(self) -> str:
        """Create the device key (enrolment only); refuses if one exists."""
        if self._read("current") is not None:
            raise KeyUnavailableError("store.key_exists")
        key_id = f"kr-{secrets.token_hex(4)}"
        self._keyring.set_password(KEYRING_SERVICE, f"{self._profile}:{key_id}", new_key().hex())
        self._keyring.set_password(KEYRING_SERVICE, f"{self._profile}:current", key_id)
        return key_id
