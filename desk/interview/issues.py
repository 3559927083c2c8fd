"""Validation results as data: a message id and parameters per item, for the UI to word."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One problem with one answer; `params` never hold the answer itself."""

    item: str
    message_id: str
    params: dict[str, Any] = field(default_factory=dict)
