"""Enrolment: make a machine a Madoguchi device (mode, tenant, device key, store, first audit).

The only place a device key is created. With the credentials `madoguchi gateway add-device`
printed, enrolment also registers the device: the `register` check (made by the sync layer,
which desk may not import) talks to the gateway before anything local changes, and the client
secret is sealed into the new store under the device key.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from desk.config import CONFIG_FILE, MODES, STORE_FILE, DeviceConfig, KeyStoreKind
from desk.errors import DeskError, KeyUnavailableError
from desk.store.drafts import DraftStore
from desk.store.keys import KeyringKeyStore, KeyStore, ManagedKeyStore, PassphraseKeyStore
from desk.store.secrets import GATEWAY_CLIENT_SECRET, save_secret

MIN_PASSPHRASE = 12  # a passphrase alone protects every draft on a keyring-less machine
_DESK_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class EnrolmentError(DeskError):
    """Enrolment cannot go on; nothing about the device was changed."""

    message_id = "enrol.failed"


@dataclass(frozen=True)
class Registration:
    """This device's identity at the gateway, from `madoguchi gateway add-device`.

    The secret is sealed into the store; the ids go into the device configuration.
    """

    device_id: str
    client_id: str
    client_secret: bytes

    def __repr__(self) -> str:
        # Never the secret, whatever a caller logs.
        return f"Registration(device_id={self.device_id!r}, client_id={self.client_id!r})"


def desk_id_for(device_id: str) -> str:
    """A desk name derived from a device id (lower case, safe characters only)."""
    name = re.sub(r"[^a-z0-9._-]", "-", device_id.lower()).strip("-._") or "desk"
    return name[:64]


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
    registration: Registration | None = None, ca_bundle: str | None = None,
    register: Callable[[DeviceConfig], None] | None = None,
) -> DeviceConfig:
    """Enrol this machine: device key, store, configuration, in an order that can be retried.

    With a `registration`, `register(config)` checks it with the gateway first (the sync
    layer's check: token, tenant, mode), before anything local changes. Then the key is
    provisioned, the store is created (with the sealed client secret), and the configuration
    is written last: a crash before that leaves an unenrolled profile, and running enrol
    again reuses the key only while the store holds no drafts (so no data can be orphaned).
    Without a registration the device is enrolled offline: drafts are kept, nothing is sent
    until `madoguchi sync register` adds the credentials.

    Raises:
        EnrolmentError: ``enrol.already``, ``enrol.mode``, ``enrol.tenant_code``,
            ``enrol.desk_id``, ``enrol.gateway_url``, ``enrol.gateway_needed``,
            ``enrol.passphrase_short``, or whatever `register` refuses with.
        KeyUnavailableError: the key store cannot be used (e.g. ``store.no_keyring``).
    """
    if (profile / CONFIG_FILE).exists():
        raise EnrolmentError("enrol.already")
    if mode not in MODES:
        raise EnrolmentError("enrol.mode")
    if not valid_tenant_code(tenant_code):
        raise EnrolmentError("enrol.tenant_code")
    gateway = check_gateway_url(gateway_url) if gateway_url else None
    if registration is not None and gateway is None:
        raise EnrolmentError("enrol.gateway_needed")
    # A registered device is known to the gateway by the id it was created with there.
    device_id = (registration.device_id if registration is not None
                 else f"{mode}-{secrets.token_hex(4)}")
    desk = desk_id or desk_id_for(device_id)
    if not _DESK_ID.fullmatch(desk):
        raise EnrolmentError("enrol.desk_id")
    config = DeviceConfig(mode=mode, tenant_code=tenant_code, device_id=device_id,
                          desk_id=desk, gateway_url=gateway, key_store=key_store,
                          keyring_backend=keyring_backend,
                          client_id=registration.client_id if registration else None,
                          ca_bundle=ca_bundle)
    keys = _key_store(profile, key_store, device_id, passphrase, keyring_backend)  # no I/O yet
    if registration is not None and register is not None:
        register(config)  # talks to the gateway; refuses before anything local is made
    profile.mkdir(parents=True, exist_ok=True)
    store_path = profile / STORE_FILE
    try:
        keys.provision()
    except KeyUnavailableError as error:
        if error.message_id != "store.key_exists" or _holds_drafts(store_path, keys):
            raise
        keys.current()  # an interrupted enrolment: its key guards nothing yet, reuse it
    store = DraftStore(store_path, keys)
    try:
        store.audit_log().append(actor="system", action="device.enrolled", subject=device_id,
                                 detail={"mode": mode, "tenant": tenant_code})
        if registration is not None:
            seal_registration(store, keys, registration)
    finally:
        store.close()
    config.save(profile)
    return config


def seal_registration(store: DraftStore, keys: KeyStore, registration: Registration) -> None:
    """Seal the client secret into the store under the device key, and audit it (ids only)."""
    save_secret(store.engine, keys, GATEWAY_CLIENT_SECRET, registration.client_secret)
    store.audit_log().append(actor="system", action="device.registered",
                             subject=registration.device_id)


def register_enrolled(profile: Path, config: DeviceConfig, keys: KeyStore,
                      registration: Registration, *, gateway_url: str | None = None,
                      register: Callable[[DeviceConfig], None] | None = None) -> DeviceConfig:
    """Register a device that was enrolled offline (or give it new credentials).

    The credentials must be for this device id (create it at the gateway with the id
    `madoguchi enroll` printed): the keyring entry and the audit log are named by it.

    Raises:
        EnrolmentError: ``enrol.device_mismatch``, ``enrol.gateway_needed``,
            ``enrol.gateway_url``, or whatever `register` refuses with.
    """
    if registration.device_id != config.device_id:
        raise EnrolmentError("enrol.device_mismatch", device=config.device_id)
    gateway = check_gateway_url(gateway_url) if gateway_url else config.gateway_url
    if gateway is None:
        raise EnrolmentError("enrol.gateway_needed")
    updated = replace(config, gateway_url=gateway, client_id=registration.client_id)
    if register is not None:
        register(updated)
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        seal_registration(store, keys, registration)
    finally:
        store.close()
    updated.save(profile)
    return updated


def _holds_drafts(store_path: Path, keys: ManagedKeyStore) -> bool:
    if not store_path.exists():
        return False
    store = DraftStore(store_path, keys)
    try:
        return bool(store.list_drafts(statuses=("DRAFT", "READY", "RECEIVED", "ATTENTION"),
                                      limit=1))
    finally:
        store.close()
