"""`make screenshots`: walk the demo procedure offscreen as a user would and save every screen."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Chosen before Qt loads: screenshots never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from desk.config import DeviceConfig
from desk.store.keys import MemoryKeyStore
from ui import demo_walk
from ui.app import build_services, create_application
from ui.main_window import MainWindow
from ui.user_input import click


def main(argv: Sequence[str] | None = None) -> int:
    """Write PNGs of every screen to the output folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="build/screenshots")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from sync.gateway.server import start_in_thread
    from sync.registration import register_at_local_gateway

    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch)
        gateway = start_in_thread(f"sqlite:///{profile / 'gateway.sqlite3'}")
        try:
            app, theme = create_application([sys.argv[0]])
            keys = MemoryKeyStore()
            device = DeviceConfig(mode="kiosk", tenant_code="131016", device_id="SHOTS",
                                  desk_id="shots", gateway_url=gateway.url)
            # Registered at the local gateway, so the confirmation shows a real 受付番号.
            device = register_at_local_gateway(profile, device, keys, gateway.db_url)
            window = MainWindow(build_services(profile, device, keys), theme)
            window.resize(1280, 900)
            window.show()

            def snap(name: str) -> None:
                QApplication.processEvents()
                window.grab().save(str(out / f"{name}.png"))
                print(out / f"{name}.png")

            demo_walk.answer_everything(window, snap)
            demo_walk.send(window, snap)
            click(window.top_bar.size_buttons["extra_large"])
            window.top_bar.language.setCurrentIndex(window.top_bar.language.findData("en"))
            click(window.confirmation.next_button)
            snap("13-home-english-extra-large")
            window.close()
            app.processEvents()
        finally:
            gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
