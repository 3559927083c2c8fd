"""Bootstrap of the GUI: QApplication, bundled font, theme, services, main window."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desk.catalog.bundle import load_active_catalog
from desk.config import STORE_FILE, DeviceConfig
from desk.errors import DeskError
from desk.store.keys import KeyStore
from ui.main_window import MainWindow, Services
from ui.theme import Theme, apply_theme, load_fonts

log = logging.getLogger(__name__)


def build_services(profile_dir: Path, device: DeviceConfig, keys: KeyStore | None, *,
                   key_problem: DeskError | None = None) -> Services:
    """Load the active catalog and wire the store path, key store and the device's gateway.

    The catalog is the newest verified bundle installed by catalog updates, else the shipped
    one. Sending needs the device registered with a gateway (its client secret sealed in the
    store): without that the window runs with sending off and says so; drafts are still
    saved. `keys=None` (with `key_problem` saying why, e.g. ``store.no_keyring``) starts the
    app with drafts off: it says so, and staff can unlock the keyring or type the passphrase.
    """
    active = load_active_catalog(profile_dir, dt.datetime.now(dt.UTC))
    for problem in active.problems:
        log.warning("catalog problem: %s", problem.message_id)
    return Services(
        catalog=active.catalog, device=device, store_path=profile_dir / STORE_FILE,
        keys=keys, key_problem=key_problem,
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
