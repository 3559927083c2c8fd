"""Enrolment: make a machine a Madoguchi device (mode, tenant, device key, store, first audit).

The only place a device key is created. Gateway registration joins here when the sync work
lands: `enroll` takes a `register` callable that is called once everything local is ready.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from desk.config import CONFIG_FILE, MODES, STORE_FILE, DeviceConfig, KeyStoreKind
from desk.errors import DeskError, KeyUnavailableError
from desk.store.drafts import DraftStore
from desk.store.keys import KeyringKeyStore, ManagedKeyStore, PassphraseKeyStore

MIN_PASSPHRASE = 12  # a passphrase alone protects every draft on a keyring-less machine
_DESK_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class EnrolmentError(DeskError):
    """Enrolment cannot go on; nothing about the device was changed."""

    message_id = "enrol.failed"


def tenant_check_digit(first_five: str) -> int:
    """The check digit of a 地方公共団体コード: weights 6,5,4,3,2, 11 − (sum mod 11), last digit."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def valid_tenant_code(code: str) -> bool:
    """True for a 6-digit local government code with a correct check digit (131016 = 千代田区)."""
    return bool(re.fullmatch(r"[0-9]{6}", code)) and tenant_check_digit(code[:5]) == int(code[5])


def check_gateway_url(url: str) -> str:
    """Accept https, or http only on loopback (the demo and tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url.rstrip("/")
    raise EnrolmentError("enrol.gateway_url")


def _key_store(profile: Path, kind: KeyStoreKind, device_id: str, passphrase: str | None,
               backend: str | None) -> ManagedKeyStore:
    if kind == "keyring":
        return KeyringKeyStore(device_id, backend)
    if kind == "passphrase":
        if passphrase is None or len(passphrase) < MIN_PASSPHRASE:
            raise EnrolmentError("enrol.passphrase_short", min=MIN_PASSPHRASE)
        return PassphraseKeyStore(profile, passphrase)
    raise EnrolmentError("enrol.key_store", kind=kind)


def enroll(
    profile: Path, *, mode: str, tenant_code: str, gateway_url: str | None = None,
    desk_id: str | None = None, key_store: KeyStoreKind = "keyring",
    passphrase: str | None = None, keyring_backend: str | None = None,
    register: Callable[[DeviceConfig, ManagedKeyStore], None] | None = None,
) -> DeviceConfig:
    """Enrol this machine: device key, store, configuration, in an order that can be retried.

    The key is provisioned first, then the store is created, then the configuration is
    written last: a crash before that leaves an unenrolled profile, and running enrol again
    reuses the key only while the store holds no drafts (so no data can be orphaned).

    Raises:
        EnrolmentError: ``enrol.already``, ``enrol.mode``, ``enrol.tenant_code``,
            ``enrol.desk_id``, ``enrol.gateway_url``, ``enrol.passphrase_short``.
        KeyUnavailableError: the key store cannot be used (e.g. ``store.no_keyring``).
    """
    if (profile / CONFIG_FILE).exists():
        raise EnrolmentError("enrol.already")
    if mode not in MODES:
        raise EnrolmentError("enrol.mode")
    if not valid_tenant_code(tenant_code):
        raise EnrolmentError("enrol.tenant_code")
    gateway = check_gateway_url(gateway_url) if gateway_url else None
    device_id = f"{mode}-{secrets.token_hex(4)}"
    desk = desk_id or device_id
    if not _DESK_ID.fullmatch(desk):
        raise EnrolmentError("enrol.desk_id")
    profile.mkdir(parents=True, exist_ok=True)
    keys = _key_store(profile, key_store, device_id, passphrase, keyring_backend)
    store_path = profile / STORE_FILE
    try:
        keys.provision()
    except KeyUnavailableError as error:
        if error.message_id != "store.key_exists" or _holds_drafts(store_path, keys):
            raise
        keys.current()  # an interrupted enrolment: its key guards nothing yet, reuse it
    config = DeviceConfig(mode=mode, tenant_code=tenant_code, device_id=device_id,
                          desk_id=desk, gateway_url=gateway, key_store=key_store,
                          keyring_backend=keyring_backend)
    store = DraftStore(store_path, keys)
    try:
        store.audit_log().append(actor="system", action="device.enrolled", subject=device_id,
                                 detail={"mode": mode, "tenant": tenant_code})
    finally:
        store.close()
    if register is not None:
        register(config, keys)
    config.save(profile)
    return config


def _holds_drafts(store_path: Path, keys: ManagedKeyStore) -> bool:
    if not store_path.exists():
        return False
    store = DraftStore(store_path, keys)
    try:
        return bool(store.list_drafts(statuses=("DRAFT", "READY", "RECEIVED", "ATTENTION"),
                                      limit=1))
    finally:
        store.close()
