"""GUI fixtures: the real window on a temporary profile, talking to a real gateway."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from desk.config import STORE_FILE, DeviceConfig
from desk.policy import Role
from desk.store.accounts import AccountStore
from desk.store.crypto import KdfParams
from desk.store.drafts import DraftStore
from desk.store.keys import KeyStore, MemoryKeyStore
from sync.gateway.server import RunningGateway
from ui.app import build_services
from ui.i18n import set_language
from ui.main_window import IdleTimes, MainWindow
from ui.theme import Theme, apply_theme, load_fonts

WindowFactory = Callable[..., MainWindow]
AccountFactory = Callable[[str, Role, str], None]
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
    """Build windows on one profile; `gateway_url=None` means the network is off.

    Options: `mode` (kiosk, desk, counter), `keys` (None: no device key, with
    `key_problem` saying why), `idle` (IdleTimes), `key_store` (the device's key store kind),
    `clock` (turns retention on, judging by this clock).
    """
    windows: list[MainWindow] = []
    set_language("ja")

    def make(gateway_url: str | None = None, *, mode: str = "kiosk", keys: Any = _KEEP,
             key_problem: Any = None, idle: IdleTimes | None = None,
             key_store: str = "keyring", desk_id: str | None = None,
             clock: Callable[[], dt.datetime] | None = None) -> MainWindow:
        theme = Theme(family=load_fonts())
        apply_theme(qapp, theme)
        desk = desk_id or ("lobby" if mode == "kiosk" else f"{mode}-1")
        device = DeviceConfig(mode=mode, tenant_code="131016",  # type: ignore[arg-type]
                              device_id=f"{mode.upper()}-TEST", desk_id=desk,
                              gateway_url=gateway_url, key_store=key_store)  # type: ignore[arg-type]
        chosen: KeyStore | None = device_keys if keys is _KEEP else keys
        services = build_services(tmp_path, device, chosen, key_problem=key_problem)
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


@pytest.fixture
def add_account(tmp_path: Path, device_keys: MemoryKeyStore) -> AccountFactory:
    """Add a staff or volunteer sign-in to the profile's store (as `madoguchi accounts add`)."""

    def add(login: str, role: Role, pin: str) -> None:
        store = DraftStore(tmp_path / STORE_FILE, device_keys)
        try:
            AccountStore(store.engine, CHEAP_KDF).add(login, role, pin, actor="test")
        finally:
            store.close()

    return add


@pytest.fixture
def kiosk(make_window: WindowFactory, gateway: RunningGateway) -> MainWindow:
    """A kiosk window connected to the real gateway."""
    return make_window(gateway.url)
