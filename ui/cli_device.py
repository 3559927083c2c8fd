"""Device subcommands: enrolment and staff accounts."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the device subcommands to the `madoguchi` parser."""
    del commands
