"""Where the bundled resources live, in a source checkout and in a frozen build alike."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """Return the `resources/` folder.

    A PyInstaller build unpacks `resources/` at the same relative path under `sys._MEIPASS`,
    so the layout is the same in both cases.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
