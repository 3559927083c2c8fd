"""Palette, type scale and the bundled font; stylesheets here never set font sizes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from desk.resources import resources_dir

log = logging.getLogger(__name__)

FONT_FILES = ("BIZUDPGothic-Regular.ttf", "BIZUDPGothic-Bold.ttf")
FALLBACK_FAMILY = "BIZ UDPGothic"

# Base text in points per text-size setting (ux.md: kiosk/desk base text at least 20 pt).
TEXT_SIZES: dict[str, float] = {"standard": 20.0, "large": 24.0, "extra_large": 28.0}
HEADING_FACTOR = 1.35
TOUCH_TARGET_PX = 64  # minimum height of anything a finger must hit

# Colours chosen for ≥ 4.5:1 contrast of text on its background (ink on paper: 15.9:1).
INK = "#1a1a1a"
PAPER = "#ffffff"
ACCENT = "#0b4f9c"  # white on accent: 8.6:1
ERROR = "#b00020"  # on paper: 6.9:1
MUTED = "#4a4a4a"  # on paper: 8.9:1
SURFACE = "#eef3f9"


@dataclass
class Theme:
    """The active text size and font family; widgets ask it for fonts when restyled."""

    family: str = FALLBACK_FAMILY
    size_key: str = "standard"

    @property
    def base_points(self) -> float:
        """Base text size in points."""
        return TEXT_SIZES[self.size_key]

    def font(self, factor: float = 1.0, *, bold: bool = False) -> QFont:
        """A font of the bundled family scaled from the base size."""
        font = QFont(self.family)
        font.setPointSizeF(self.base_points * factor)
        font.setBold(bold)
        return font

    def heading_font(self) -> QFont:
        """The font of questions and page titles."""
        return self.font(HEADING_FACTOR, bold=True)


def load_fonts() -> str:
    """Register the bundled BIZ UDPGothic with Qt and return its family name.

    Bundling it means no Japanese character renders as a box on a machine without Japanese
    fonts, and screens look the same on every device.
    """
    family = FALLBACK_FAMILY
    for name in FONT_FILES:
        font_id = QFontDatabase.addApplicationFont(str(resources_dir() / "fonts" / name))
        if font_id < 0:
            log.error("bundled font could not be loaded: %s", name)
            continue
        families = QFontDatabase.applicationFontFamilies(font_id)
        if families:
            family = families[0]
    return family


STYLESHEET = f"""
QWidget {{ color: {INK}; background: {PAPER}; }}
QPushButton {{
    min-height: {TOUCH_TARGET_PX}px; padding: 4px 24px; border: 2px solid {ACCENT};
    border-radius: 10px; background: {PAPER}; color: {ACCENT};
}}
QPushButton:focus {{ border: 4px solid {INK}; }}
QPushButton:checked {{ background: {ACCENT}; color: {PAPER}; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: {PAPER}; }}
QPushButton:disabled {{ color: {MUTED}; border-color: {MUTED}; background: {SURFACE}; }}
QLineEdit {{
    min-height: {TOUCH_TARGET_PX}px; padding: 0 12px; border: 2px solid {MUTED};
    border-radius: 8px;
}}
QLineEdit:focus {{ border: 3px solid {ACCENT}; }}
QLabel[role="error"] {{ color: {ERROR}; }}
QLabel[role="help"] {{ color: {MUTED}; }}
QFrame[role="topbar"] {{ background: {SURFACE}; }}
QFrame[role="topbar"] QLabel, QFrame[role="topbar"] QComboBox {{ background: {SURFACE}; }}
QComboBox {{ min-height: 48px; padding: 0 12px; }}
QScrollArea {{ border: none; }}
"""


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Apply palette, stylesheet and base font to the whole application."""
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(PAPER))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(INK))
    palette.setColor(QPalette.ColorRole.Base, QColor(PAPER))
    palette.setColor(QPalette.ColorRole.Text, QColor(INK))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
    app.setFont(theme.font())


def restyle_tree(root: QWidget, theme: Theme) -> None:
    """Apply the current text size to every widget under `root` (headings keep their factor)."""
    for widget in [root, *root.findChildren(QWidget)]:
        factor = widget.property("font_factor")
        bold = bool(widget.property("font_bold"))
        widget.setFont(theme.font(float(factor) if factor else 1.0, bold=bold))
