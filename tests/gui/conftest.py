"""GUI fixtures: the real kiosk window on a temporary profile, talking to a real gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desk.config import DeviceConfig
from desk.store.keys import MemoryKeyStore
from sync.gateway.server import RunningGateway
from ui.app import build_services
from ui.i18n import set_language
from ui.main_window import MainWindow
from ui.theme import Theme, apply_theme, load_fonts

WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def device_keys() -> MemoryKeyStore:
    """One device key for the whole test, so a restarted window can open earlier drafts."""
    return MemoryKeyStore()


@pytest.fixture
def make_window(
    qapp: QApplication, qtbot: object, tmp_path: Path, device_keys: MemoryKeyStore
) -> Iterator[WindowFactory]:
    """Build kiosk windows on one profile; `gateway_url=None` means the network is off."""
    windows: list[MainWindow] = []
    set_language("ja")

    def make(gateway_url: str | None) -> MainWindow:
        theme = Theme(family=load_fonts())
        apply_theme(qapp, theme)
        device = DeviceConfig(mode="kiosk", tenant_code="131016", device_id="KIOSK-TEST",
                              desk_id="lobby", gateway_url=gateway_url)
        window = MainWindow(build_services(tmp_path, device, device_keys), theme)
        qtbot.addWidget(window)  # type: ignore[attr-defined]
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
    set_language("ja")


@pytest.fixture
def kiosk(make_window: WindowFactory, gateway: RunningGateway) -> MainWindow:
    """A kiosk window connected to the real gateway."""
    return make_window(gateway.url)
