"""`make screenshots`: walk the demo procedure offscreen as a user would and save every screen."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from desk.config import DeviceConfig
from desk.store.keys import MemoryKeyStore
from ui.app import build_services, create_application
from ui.main_window import MainWindow
from ui.user_input import click, type_text, wait_until

# Obviously fake resident: 窓口 太郎, born 平成2年4月1日, 〒100-0014.
FAMILY, GIVEN = "窓口", "太郎"
FAMILY_KANA, GIVEN_KANA = "まどぐち", "たろう"


def walk(window: MainWindow, shoot: object) -> None:
    """Go through 住民票の写し等の交付請求 from the home page to the confirmation."""
    snap = shoot  # callable(name)
    snap("01-home")  # type: ignore[operator]
    click(window.home.procedure_buttons["juminhyo-utsushi"])
    view = window.question.view
    type_text(view.family.edit, FAMILY)  # type: ignore[union-attr]
    type_text(view.given.edit, GIVEN)  # type: ignore[union-attr]
    snap("02-name")  # type: ignore[operator]
    click(window.question.next_button)
    view = window.question.view
    type_text(view.family.edit, FAMILY_KANA)  # type: ignore[union-attr]
    type_text(view.given.edit, GIVEN_KANA)  # type: ignore[union-attr]
    snap("03-furigana")  # type: ignore[operator]
    click(window.question.next_button)
    view = window.question.view
    click(view.era_buttons["heisei"])  # type: ignore[union-attr]
    type_text(view.year.field, "2")  # type: ignore[union-attr]
    type_text(view.month.field, "4")  # type: ignore[union-attr]
    type_text(view.day.field, "1")  # type: ignore[union-attr]
    snap("04-birth-date")  # type: ignore[operator]
    click(window.question.next_button)
    view = window.question.view
    for digit in "1000014":
        click(view.pad._digit_buttons["1234567890".index(digit)])  # type: ignore[union-attr]
    snap("05-postal-code")  # type: ignore[operator]
    click(window.question.next_button)
    snap("06-address")  # type: ignore[operator]
    click(window.question.next_button)
    view = window.question.view
    type_text(view.fields["jusho_banchigohyoki"].edit, "1-7-1")  # type: ignore[union-attr]
    type_text(view.fields["jusho_katagaki"].edit, "まどぐちハイツ101")  # type: ignore[union-attr]
    snap("07-block-number")  # type: ignore[operator]
    click(window.question.next_button)
    view = window.question.view
    click(view.stepper._plus)  # type: ignore[union-attr]
    snap("08-copies")  # type: ignore[operator]
    click(window.question.next_button)
    view = window.question.view
    click(view.buttons["kinyu"])  # type: ignore[union-attr]
    snap("09-purpose")  # type: ignore[operator]
    click(window.question.next_button)
    snap("10-check-answers")  # type: ignore[operator]
    click(window.review.next_button)
    click(window.declaration.agree)
    snap("11-declaration")  # type: ignore[operator]
    click(window.declaration.next_button)
    wait_until(lambda: window.stack.currentWidget() is window.confirmation)
    snap("12-confirmation")  # type: ignore[operator]


def main(argv: Sequence[str] | None = None) -> int:
    """Write PNGs of every screen to the output folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="build/screenshots")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from sync.gateway.server import start_in_thread

    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch)
        gateway = start_in_thread(f"sqlite:///{profile / 'gateway.sqlite3'}")
        try:
            app, theme = create_application([sys.argv[0]])
            device = DeviceConfig(mode="kiosk", tenant_code="131016", device_id="SHOTS",
                                  desk_id="shots", gateway_url=gateway.url)
            window = MainWindow(build_services(profile, device, MemoryKeyStore()), theme)
            window.resize(1280, 900)
            window.show()

            def shoot(name: str) -> None:
                QApplication.processEvents()
                window.grab().save(str(out / f"{name}.png"))
                print(out / f"{name}.png")

            walk(window, shoot)
            click(window.top_bar.size_buttons["extra_large"])
            window.top_bar.language.setCurrentIndex(2)  # English
            click(window.confirmation.next_button)
            shoot("13-home-english-extra-large")
            window.close()
            app.processEvents()
        finally:
            gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
