"""GUI fixtures: the real window on a temporary profile, registered with a real gateway."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from desk.config import STORE_FILE, DeviceConfig
from desk.enrolment import seal_registration
from desk.policy import Role
from desk.store.accounts import AccountStore
from desk.store.crypto import KdfParams
from desk.store.drafts import DraftStore
from desk.store.keys import KeyStore, MemoryKeyStore
from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway
from sync.protocol import DeviceCredentials
from sync.registration import registration_of
from ui.app import build_services
from ui.i18n import set_language
from ui.main_window import IdleTimes, MainWindow
from ui.theme import Theme, apply_theme, load_fonts

WindowFactory = Callable[..., MainWindow]
AccountFactory = Callable[..., None]  # (login, role, pin, profile=None)
# PIN hashes as cheap as the KDF allows: tests sign in often, and the cost is not under test.
CHEAP_KDF = KdfParams.new("scrypt", {"n": 1024, "r": 8, "p": 1})
_KEEP = object()


@pytest.fixture
def device_keys() -> MemoryKeyStore:
    """One device key for the whole test, so a restarted window can open earlier drafts."""
    return MemoryKeyStore()


@pytest.fixture
def make_window(
    qapp: QApplication, qtbot: object, tmp_path: Path, device_keys: MemoryKeyStore
) -> Iterator[WindowFactory]:
    """Build windows on one profile, registered with `gateway` (a running gateway, or the URL
    of one that is down); None means no gateway at all (sending off).

    Options: `mode` (kiosk, desk, counter), `keys` (None: no device key, with
    `key_problem` saying why), `idle` (IdleTimes), `key_store` (the device's key store kind),
    `clock` (turns retention on, judging by this clock), `profile` (another device's
    profile folder; default: the test's tmp_path).
    """
    windows: list[MainWindow] = []
    registered: dict[tuple[Path, str | None, str], DeviceCredentials] = {}
    set_language("ja")

    def make(gateway: RunningGateway | str | None = None, *, mode: str = "kiosk",
             keys: Any = _KEEP,
             key_problem: Any = None, idle: IdleTimes | None = None,
             key_store: str = "keyring", desk_id: str | None = None,
             clock: Callable[[], dt.datetime] | None = None,
             profile: Path | None = None) -> MainWindow:
        theme = Theme(family=load_fonts())
        apply_theme(qapp, theme)
        desk = desk_id or ("lobby" if mode == "kiosk" else f"{mode}-1")
        url = gateway.url if isinstance(gateway, RunningGateway) else gateway
        folder = profile or tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        device = DeviceConfig(mode=mode, tenant_code="131016",  # type: ignore[arg-type]
                              device_id=f"{mode.upper()}-TEST", desk_id=desk,
                              gateway_url=url, key_store=key_store)  # type: ignore[arg-type]
        chosen: KeyStore | None = device_keys if keys is _KEEP else keys
        if gateway is not None:
            # Once per profile and gateway: later windows reuse the sealed secret, as a
            # restarted app does.
            key = (folder, url, device.device_id)
            if key not in registered:
                registered[key] = _register(folder, device, gateway, device_keys)
            device = dataclasses.replace(device, client_id=registered[key].client_id)
        services = build_services(folder, device, chosen, key_problem=key_problem)
        services.kdf = CHEAP_KDF
        if clock is None:
            services.retention_interval_s = None  # off unless a test is about it
        else:
            services.clock = clock
        if idle is not None:
            services.idle = idle
        window = MainWindow(services, theme)
        qtbot.addWidget(window)  # type: ignore[attr-defined]
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
    set_language("ja")


def _register(profile: Path, device: DeviceConfig, gateway: RunningGateway | str,
              keys: KeyStore) -> DeviceCredentials:
    """Register the device as `madoguchi enroll --credentials` would.

    A gateway that is down (a bare URL) gets credentials it has never seen: the device is
    registered, and every attempt fails to connect.
    """
    if isinstance(gateway, RunningGateway):
        credentials = add_device(gateway.db_url, tenant_code=device.tenant_code,
                                 mode=device.mode, device_id=device.device_id, replace=True)
    else:
        credentials = DeviceCredentials(client_id="0" * 32, client_secret="s" * 43,
                                        device_id=device.device_id,
                                        tenant_code=device.tenant_code, mode=device.mode)
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        seal_registration(store, keys, registration_of(credentials))
    finally:
        store.close()
    return credentials


@pytest.fixture
def add_account(tmp_path: Path, device_keys: MemoryKeyStore) -> AccountFactory:
    """Add a staff or volunteer sign-in to the profile's store (as `madoguchi accounts add`)."""

    def add(login: str, role: Role, pin: str, profile: Path | None = None) -> None:
        folder = profile or tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        store = DraftStore(folder / STORE_FILE, device_keys)
        try:
            AccountStore(store.engine, CHEAP_KDF).add(login, role, pin, actor="test")
        finally:
            store.close()

    return add


@pytest.fixture
def kiosk(make_window: WindowFactory, gateway: RunningGateway) -> MainWindow:
    """A kiosk window registered with the real gateway."""
    return make_window(gateway)
