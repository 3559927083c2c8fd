"""The procedure catalog as frozen dataclasses: data items, steps and procedures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from desk.catalog.text import LocalizedText

ItemType = Literal[
    "name", "kana_name", "date", "postal_code", "address_candidate", "text", "count", "choice"
]
ITEM_TYPES: tuple[str, ...] = (
    "name", "kana_name", "date", "postal_code", "address_candidate", "text", "count", "choice"
)
Channel = Literal["kiosk", "desk", "counter"]


@dataclass(frozen=True)
class Item:
    """One entry of the shared data dictionary (a 基本データリスト item or an `x_` item)."""

    id: str
    type: ItemType
    label: LocalizedText
    required: bool = True
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Option:
    """One answer of a choice step."""

    value: str
    label: LocalizedText


@dataclass(frozen=True)
class Step:
    """One screen of the interview: one question about one or more items."""

    id: str
    items: tuple[Item, ...]
    question: LocalizedText
    help: LocalizedText = field(default_factory=LocalizedText)
    options: tuple[Option, ...] = ()
    postal_item: str | None = None

    @property
    def kind(self) -> ItemType:
        """The widget kind of the step: the type of its first item."""
        return self.items[0].type


@dataclass(frozen=True)
class Procedure:
    """One municipal procedure, as loaded from its catalog file."""

    id: str
    form_version: str
    business_area: str
    form_name: str
    channels: tuple[Channel, ...]
    identity_check: bool
    title: LocalizedText
    steps: tuple[Step, ...]
    documents_to_bring: tuple[LocalizedText, ...] = ()
    declaration: LocalizedText = field(default_factory=LocalizedText)

    def step(self, step_id: str) -> Step:
        """Return the step with this id (KeyError if the catalog has none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def step_index(self, step_id: str) -> int:
        """Return the position of the step with this id."""
        return [s.id for s in self.steps].index(step_id)


@dataclass(frozen=True)
class Catalog:
    """Every procedure and data item the device knows."""

    items: dict[str, Item]
    procedures: dict[str, Procedure]

    def procedure(self, procedure_id: str) -> Procedure:
        """Return one procedure by id (KeyError if unknown)."""
        return self.procedures[procedure_id]
