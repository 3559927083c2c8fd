"""Validation results as data: a message id and parameters per item, for the UI to word."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desk.catalog.text import LocalizedText


@dataclass(frozen=True)
class Issue:
    """One problem with one answer; `params` never hold the answer itself.

    A failed catalog check carries its own message as `text` (message id "check.failed").
    """

    item: str
    message_id: str
    params: dict[str, Any] = field(default_factory=dict)
    text: LocalizedText | None = None
