"""The console script as a user runs it: version, self-test, and a clear no-display message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from desk import __version__


def _madoguchi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_version() -> None:
    result = _madoguchi("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"madoguchi {__version__}"


def test_self_test_passes(tmp_path: Path) -> None:
    result = _madoguchi("self-test", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
    assert list(tmp_path.iterdir()) == []  # leaves nothing behind


def test_demo_without_display_explains_instead_of_crashing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = _madoguchi("demo", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 3
    assert "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr


def test_unenrolled_device_points_to_the_demo(tmp_path: Path) -> None:
    result = _madoguchi("--data-dir", str(tmp_path))
    assert result.returncode == 2 and "madoguchi demo" in result.stderr


def test_screenshots_cover_every_screen(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "ui.screenshots", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == 13 and shots[0] == "01-home.png" and shots[-2] == "12-confirmation.png"
    assert all((tmp_path / name).stat().st_size > 10_000 for name in shots)  # not blank
