"""Pre-flight checks that Qt can start: missing system libraries (via ldd) and a missing display."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform as _platform
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# This module must stay importable without a working Qt: it never imports PySide6's Qt modules,
# it only locates the installed package and inspects the shared libraries with `ldd`.

#: soname → Debian/Ubuntu package providing it, for everything Qt 6's platform plugins
#: (xcb, offscreen, wayland, eglfs) and libQt6Gui / libQt6XcbQpa link, directly or transitively.
#: On Debian 13 / Ubuntu 24.04 some of these were renamed with a "t64" suffix; the new package
#: Provides the old name, so `apt-get install <old name>` still selects the right one.
DEBIAN_PACKAGES: Mapping[str, str] = {
    # xcb platform plugin (libqxcb.so → libQt6XcbQpa.so.6)
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libXext.so.6": "libxext6",
    "libXrender.so.1": "libxrender1",
    "libXi.so.6": "libxi6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    # Every platform, via libQt6Gui.so.6
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libpng16.so.16": "libpng16-16",
    "libharfbuzz.so.0": "libharfbuzz0b",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libexpat.so.1": "libexpat1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libdrm.so.2": "libdrm2",
    "libgbm.so.1": "libgbm1",
    "libzstd.so.1": "libzstd1",
    "libz.so.1": "zlib1g",
    "libsystemd.so.0": "libsystemd0",
    "libbsd.so.0": "libbsd0",
    "libmd.so.0": "libmd0",
    "libcap.so.2": "libcap2",
    "libgcrypt.so.20": "libgcrypt20",
    "libgpg-error.so.0": "libgpg-error0",
    "liblzma.so.5": "liblzma5",
    "liblz4.so.1": "liblz4-1",
    "libffi.so.8": "libffi8",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    # wayland platform plugin
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}

#: Qt libraries (relative to PySide6/Qt/lib) whose dependencies matter for each platform plugin.
_QT_LIBS_FOR_PLATFORM: Mapping[str, tuple[str, ...]] = {
    "xcb": ("libQt6Gui.so.6", "libQt6XcbQpa.so.6"),
    "wayland": ("libQt6Gui.so.6", "libQt6WaylandClient.so.6"),
}
_DEFAULT_QT_LIBS: tuple[str, ...] = ("libQt6Gui.so.6",)

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")

_NO_DISPLAY_MESSAGE = """\
No graphical display was found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot
be shown. Either start it from a desktop session (a terminal inside your desktop), or on a
server / over SSH run it inside a virtual X display:
    sudo apt-get install xvfb
    xvfb-run -a ./dev demo
To run the tests without any display, use: ./dev test
画面（ディスプレイ）が見つかりません（DISPLAY も WAYLAND_DISPLAY も設定されていません）。
デスクトップ環境の端末から起動するか、サーバーや SSH 接続では仮想ディスプレイ上で起動してください:
    sudo apt-get install xvfb
    xvfb-run -a ./dev demo
テストだけならディスプレイは不要です: ./dev test"""


@dataclass(frozen=True)
class MissingLibrary:
    """A shared library Qt needs that the dynamic loader cannot find."""

    soname: str
    debian_package: str | None


def parse_ldd(text: str) -> list[str]:
    """Return the sonames `ldd` reported as "not found", in order, without duplicates."""
    found: list[str] = []
    for line in text.splitlines():
        match = _NOT_FOUND.match(line)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def normalise_platform(name: str | None, env: Mapping[str, str] | None = None) -> str:
    """Reduce a QT_QPA_PLATFORM value ("wayland;xcb", "offscreen:opt=1") to a plugin name."""
    if name is None:
        name = (env or {}).get("QT_QPA_PLATFORM", "") or "xcb"
    return name.split(";")[0].split(":")[0].strip() or "xcb"


def _qt_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def _ldd_not_found(path: Path) -> list[str]:
    ldd = shutil.which("ldd")
    if ldd is None or not path.exists():
        return []
    result = subprocess.run(
        [ldd, str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    return parse_ldd(result.stdout + "\n" + result.stderr)


def missing_libraries(platform: str) -> list[MissingLibrary]:
    """System libraries that Qt's `platform` plugin needs but cannot load (Linux only)."""
    if sys.platform != "linux":
        return []
    qt = _qt_dir()
    if qt is None:
        return []
    name = normalise_platform(platform)
    binaries = [qt / "plugins" / "platforms" / f"libq{name}.so"]
    binaries += [qt / "lib" / lib for lib in _QT_LIBS_FOR_PLATFORM.get(name, _DEFAULT_QT_LIBS)]
    sonames: list[str] = []
    for binary in binaries:
        for soname in _ldd_not_found(binary):
            # Qt's own libraries are resolved via RPATH once their dependencies exist.
            if soname not in sonames and not soname.startswith("libQt6"):
                sonames.append(soname)
    return [MissingLibrary(s, DEBIAN_PACKAGES.get(s)) for s in sonames]


def display_problem(env: Mapping[str, str], *, system: str | None = None) -> str | None:
    """A bilingual explanation if a windowed Qt platform is requested but no display exists."""
    if (system or _platform.system()) != "Linux":
        return None
    requested = normalise_platform(None, env)
    if requested not in ("xcb", "wayland"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return _NO_DISPLAY_MESSAGE


def install_command(missing: Sequence[MissingLibrary]) -> str | None:
    """One `sudo apt-get install …` line for the known packages, or None if there are none."""
    packages = sorted({m.debian_package for m in missing if m.debian_package})
    return f"sudo apt-get install {' '.join(packages)}" if packages else None


def gui_start_problems(platform: str | None, env: Mapping[str, str]) -> list[str]:
    """Human-readable lines describing why Qt would fail to start; empty when all is well."""
    name = normalise_platform(platform, env)
    lines: list[str] = []
    missing = missing_libraries(name)
    if missing:
        sonames = ", ".join(m.soname for m in missing)
        lines.append(f"Qt platform '{name}' needs system libraries that are missing: {sonames}")
        lines.append(f"Qt の '{name}' プラットフォームに必要なシステムライブラリがありません。")
        command = install_command(missing)
        if command:
            lines.append(f"Install them with / 次のコマンドでインストールしてください: {command}")
        unknown = [m.soname for m in missing if m.debian_package is None]
        if unknown:
            lines.append(f"Unknown package for / パッケージ不明: {', '.join(unknown)}")
    problem = display_problem({**env, "QT_QPA_PLATFORM": name})
    if problem:
        lines.extend(problem.splitlines())
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print missing packages (--packages) or all start-up problems (exit 1 if any)."""
    parser = argparse.ArgumentParser(prog="python -m ui.platform_check", description=__doc__)
    parser.add_argument(
        "--platform",
        default=None,
        help="Qt platform plugin to check (default: $QT_QPA_PLATFORM, else xcb)",
    )
    parser.add_argument(
        "--packages",
        action="store_true",
        help="print only the missing Debian package names, space-separated, and exit 0",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.packages:
        missing = missing_libraries(normalise_platform(args.platform, env))
        packages = sorted({m.debian_package for m in missing if m.debian_package})
        unknown = [m.soname for m in missing if m.debian_package is None]
        if unknown:
            print(f"warning: no known Debian package for {', '.join(unknown)}", file=sys.stderr)
        print(" ".join(packages))
        return 0
    problems = gui_start_problems(args.platform, env)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
