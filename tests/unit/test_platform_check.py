"""Tests for ui.platform_check: ldd parsing, soname → package mapping, display detection."""

from __future__ import annotations

import sys

import pytest

from ui.platform_check import (
    DEBIAN_PACKAGES,
    MissingLibrary,
    display_problem,
    gui_start_problems,
    install_command,
    missing_libraries,
    normalise_platform,
    parse_ldd,
)

# Captured from `ldd PySide6/Qt/plugins/platforms/libqxcb.so` on Debian 12 without
# libxcb-icccm4 / libxcb-keysyms1 (trimmed; the duplicates are how ldd reports them).
LDD_SAMPLE = """\
\tlinux-vdso.so.1 (0x00007ff57fb32000)
\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007ff57f9d4000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007ff57f981000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007ff57f97a000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007ff57f972000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007ff57f959000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007ff57dc1e000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007ff57fb34000)
"""


def test_parse_ldd_returns_not_found_sonames_once_in_order() -> None:
    assert parse_ldd(LDD_SAMPLE) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def test_parse_ldd_of_complete_output_is_empty() -> None:
    resolved = "\n".join(line for line in LDD_SAMPLE.splitlines() if "not found" not in line)
    assert parse_ldd(resolved) == []
    assert parse_ldd("") == []


def test_parsed_sonames_map_to_debian_packages() -> None:
    missing = [MissingLibrary(s, DEBIAN_PACKAGES.get(s)) for s in parse_ldd(LDD_SAMPLE)]
    assert [m.debian_package for m in missing] == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert install_command(missing) == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libfontconfig.so.1", "libfontconfig1"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
    ],
)
def test_mapping_table(soname: str, package: str) -> None:
    assert DEBIAN_PACKAGES[soname] == package


def test_unknown_soname_has_no_package_and_no_install_command() -> None:
    assert install_command([MissingLibrary("libmystery.so.9", None)]) is None


def test_no_display_explains_xvfb() -> None:
    message = display_problem({}, system="Linux")
    assert message is not None
    assert "xvfb-run -a ./dev demo" in message
    assert "ディスプレイ" in message


def test_display_set_is_fine() -> None:
    assert display_problem({"DISPLAY": ":0"}, system="Linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, system="Linux") is None


def test_offscreen_needs_no_display() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, system="Linux") is None


def test_explicit_xcb_without_display_is_a_problem() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "xcb"}, system="Linux") is not None


def test_other_systems_have_no_display_problem() -> None:
    assert display_problem({}, system="Windows") is None


def test_normalise_platform() -> None:
    assert normalise_platform(None, {}) == "xcb"
    assert normalise_platform(None, {"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    assert normalise_platform("offscreen:fontengine=freetype") == "offscreen"


def test_offscreen_libraries_are_present_here() -> None:
    # The test suite itself runs on the offscreen platform, so this must hold wherever it runs.
    assert missing_libraries("offscreen") == []


@pytest.mark.skipif(sys.platform != "linux", reason="display check is Linux-only")
def test_gui_start_problems_offscreen_is_clean() -> None:
    assert gui_start_problems("offscreen", {}) == []


def test_gui_start_problems_mentions_display() -> None:
    lines = gui_start_problems(None, {"QT_QPA_PLATFORM": "offscreen"})
    assert lines == []
    if sys.platform == "linux":
        assert any("xvfb-run" in line for line in gui_start_problems("xcb", {}))
