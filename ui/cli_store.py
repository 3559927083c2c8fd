"""Store administration subcommands: backup, restore, key rotation, audit verification."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the store subcommands to the `madoguchi` parser."""
    del commands  # filled in by the store administration work
