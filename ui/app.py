"""Bootstrap of the GUI: QApplication, bundled font, theme, services, main window."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desk.catalog.loader import load_catalog
from desk.config import STORE_FILE, DeviceConfig
from desk.errors import DeskError
from desk.store.keys import KeyStore
from sync.client import LinkageClient
from ui.main_window import MainWindow, Services
from ui.theme import Theme, apply_theme, load_fonts


def build_services(profile_dir: Path, device: DeviceConfig, keys: KeyStore | None, *,
                   key_problem: DeskError | None = None) -> Services:
    """Load the catalog and wire the store path, key store and gateway client factory.

    `keys=None` (with `key_problem` saying why, e.g. ``store.no_keyring``) starts the app
    with drafts off: it says so, and staff can unlock the keyring or type the passphrase.
    """
    gateway_url = device.gateway_url
    factory: Callable[[], LinkageClient] | None = None
    if gateway_url:
        def factory() -> LinkageClient:
            return LinkageClient(gateway_url)
    return Services(
        catalog=load_catalog(), device=device, store_path=profile_dir / STORE_FILE,
        keys=keys, client_factory=factory, key_problem=key_problem,
    )


def create_application(argv: list[str] | None = None) -> tuple[QApplication, Theme]:
    """Return the QApplication with the bundled font and theme applied."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv)
    app.setApplicationName("Madoguchi Desk")
    app.setOrganizationName("madoguchi-desk")
    theme = Theme(family=load_fonts())
    apply_theme(app, theme)
    return app, theme


def run_gui(services: Services, *, kiosk_fullscreen: bool = False) -> int:
    """Show the main window and run the event loop until it closes."""
    app, theme = create_application()
    window = MainWindow(services, theme)
    if kiosk_fullscreen:
        window.showFullScreen()
    else:
        window.show()
    return app.exec()
