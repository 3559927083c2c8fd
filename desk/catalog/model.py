"""The procedure catalog as frozen dataclasses: items, steps, procedures and life events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from desk.catalog.text import LocalizedText

if TYPE_CHECKING:
    from desk.rules import Rule

ItemType = Literal[
    "name", "kana_name", "date", "postal_code", "address_candidate", "text", "count", "number",
    "choice", "multi_choice", "yes_no", "phone", "email", "bank_account", "mynumber", "group",
]
ITEM_TYPES: tuple[str, ...] = (
    "name", "kana_name", "date", "postal_code", "address_candidate", "text", "count", "number",
    "choice", "multi_choice", "yes_no", "phone", "email", "bank_account", "mynumber", "group",
)
Channel = Literal["kiosk", "desk", "counter"]
CHANNELS: tuple[str, ...] = ("kiosk", "desk", "counter")
DateRange = Literal["past", "future", "any"]


@dataclass(frozen=True)
class Option:
    """One answer of a choice item."""

    value: str
    label: LocalizedText


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
    options: tuple[Option, ...] = ()
    dates: DateRange = "past"
    partial: bool = False
    members: tuple[str, ...] = ()
    per_procedure: bool = False  # answered separately for each procedure (e.g. 通数)


@dataclass(frozen=True)
class Check:
    """A rule the answers must meet, with the message shown when they do not."""

    rule: Rule
    message: LocalizedText


@dataclass(frozen=True)
class Step:
    """One screen of the interview: one question about one or more items, or a repeat group.

    A group step asks "how many?" for its group item, then its member steps once per member.
    """

    id: str
    items: tuple[Item, ...]
    question: LocalizedText
    help: LocalizedText = field(default_factory=LocalizedText)
    postal_item: str | None = None
    when: Rule | None = None
    unknown_allowed: bool = False
    counter_group: str | None = None
    checks: tuple[Check, ...] = ()
    members: tuple[Step, ...] = ()

    @property
    def kind(self) -> ItemType:
        """The widget kind of the step: the type of its first item."""
        return self.items[0].type

    @property
    def options(self) -> tuple[Option, ...]:
        """The options of a choice step (those of its item)."""
        return self.items[0].options

    @property
    def is_group(self) -> bool:
        """True for a repeat group step."""
        return self.kind == "group"


@dataclass(frozen=True)
class Document:
    """Something to bring to the counter, perhaps only when a rule holds."""

    text: LocalizedText
    when: Rule | None = None
    key: str | None = None  # documents with the same key are one document on a checklist


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
    documents_to_bring: tuple[Document, ...] = ()
    declaration: LocalizedText = field(default_factory=LocalizedText)
    summary: LocalizedText = field(default_factory=LocalizedText)
    form_layout: str | None = None
    source: str = ""

    def step(self, step_id: str) -> Step:
        """Return the step with this id (KeyError if the catalog has none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True)
class EventProcedure:
    """A procedure a life event yields, when its rule holds."""

    procedure_id: str
    when: Rule | None = None
    reason: LocalizedText = field(default_factory=LocalizedText)


@dataclass(frozen=True)
class LifeEvent:
    """A life event (引っ越してきた, 子どもが生まれた, …): eligibility questions → procedures."""

    id: str
    order: int
    title: LocalizedText
    description: LocalizedText
    questions: tuple[Step, ...]
    procedures: tuple[EventProcedure, ...]
    documents_to_bring: tuple[Document, ...] = ()
    translations: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Catalog:
    """Every procedure, life event and data item the device knows."""

    items: dict[str, Item]
    procedures: dict[str, Procedure]
    life_events: dict[str, LifeEvent] = field(default_factory=dict)
    business_areas: dict[str, LocalizedText] = field(default_factory=dict)

    def procedure(self, procedure_id: str) -> Procedure:
        """Return one procedure by id (KeyError if unknown)."""
        return self.procedures[procedure_id]

    def life_event(self, event_id: str) -> LifeEvent:
        """Return one life event by id (KeyError if unknown)."""
        return self.life_events[event_id]

    def events_in_order(self) -> list[LifeEvent]:
        """The life events in their home-screen order."""
        return sorted(self.life_events.values(), key=lambda e: (e.order, e.id))
