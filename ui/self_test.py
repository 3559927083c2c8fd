"""`madoguchi self-test`: the smoke test of an installation or a frozen build."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from desk.catalog.loader import load_catalog
from desk.config import STORE_FILE, DeviceConfig
from desk.fields import address, wareki
from desk.resources import resources_dir
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore

CANARY = {"shimei": {"family": "窓口", "given": "太郎"}}


def _check(name: str, ok: bool) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return ok


def run_self_test(data_dir: Path | None = None) -> int:
    """Run every check, print one line each, return 0 when all pass."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    results = []
    catalog = load_catalog()
    results.append(_check(f"catalog: {len(catalog.procedures)} procedure(s)",
                          bool(catalog.procedures)))
    results.append(_check(f"eras: {len(wareki.eras())}", len(wareki.eras()) >= 5))
    results.append(_check("postal data", bool(address.lookup("1000014"))))
    fonts = list((resources_dir() / "fonts").glob("*.ttf"))
    results.append(_check(f"fonts: {len(fonts)}", len(fonts) >= 2))
    with tempfile.TemporaryDirectory() as scratch:
        folder = data_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        store = DraftStore(folder / f"self-test-{STORE_FILE}", MemoryKeyStore())
        try:
            procedure = next(iter(catalog.procedures.values()))
            draft = store.create((procedure.id,), mode="kiosk",
                                 desk_id="self-test", position=procedure.steps[0].id)
            store.save(draft.id, CANARY, procedure.steps[0].id)
            results.append(_check("encrypted draft round trip",
                                  store.load(draft.id).answers == CANARY))
            store.discard(draft.id)
        finally:
            store.close()
            (folder / f"self-test-{STORE_FILE}").unlink(missing_ok=True)
        results.append(_check("screen renders offscreen", _render_one_screen(folder)))
    print("self-test passed" if all(results) else "self-test FAILED")
    return 0 if all(results) else 1


def _render_one_screen(folder: Path) -> bool:
    from ui.app import build_services, create_application
    from ui.main_window import MainWindow

    _app, theme = create_application([sys.argv[0]])
    device = DeviceConfig(mode="kiosk", tenant_code="131016", device_id="SELF-TEST",
                          desk_id="self-test")
    services = build_services(folder, device, MemoryKeyStore())
    services.store_path = folder / f"self-test-ui-{STORE_FILE}"
    window = MainWindow(services, theme)
    try:
        window.show()
        image = window.grab().toImage()
        return not image.isNull() and image.width() > 0
    finally:
        window.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{services.store_path}{suffix}").unlink(missing_ok=True)
