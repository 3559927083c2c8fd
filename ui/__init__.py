"""The Qt user interface: the only package that imports PySide6 (lazily, never at package import)."""
