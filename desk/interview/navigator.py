"""The life-event navigator: which procedures apply to a resident, and what to bring."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from desk.catalog.model import Catalog, Document, EventProcedure, LifeEvent, Procedure
from desk.catalog.text import LocalizedText
from desk.rules.evaluate import Scope, evaluate


@dataclass(frozen=True)
class Applicable:
    """A procedure the navigator chose, with the reason the life event gives for it."""

    procedure: Procedure
    reason: LocalizedText


def applicable(catalog: Catalog, event: LifeEvent, scope: Scope) -> list[Applicable]:
    """The procedures of a life event whose rules hold for these answers, in event order."""
    chosen: list[Applicable] = []
    seen: set[str] = set()
    for entry in event.procedures:
        if entry.procedure_id in seen or entry.procedure_id not in catalog.procedures:
            continue
        if _holds(entry, scope):
            seen.add(entry.procedure_id)
            chosen.append(Applicable(catalog.procedure(entry.procedure_id), entry.reason))
    return chosen


def _holds(entry: EventProcedure | Document, scope: Scope) -> bool:
    return entry.when is None or evaluate(entry.when, scope)


def documents_to_bring(
    procedures: Iterable[Procedure], scope: Scope, event: LifeEvent | None = None
) -> list[LocalizedText]:
    """What to bring: the event's documents, then each procedure's, without repeats.

    Two documents are the same when they share a `key`, or else their Japanese text; the
    first one stays. Rules decide which apply.
    """
    documents: list[LocalizedText] = []
    seen: set[str] = set()
    sources: list[Document] = list(event.documents_to_bring) if event else []
    for procedure in procedures:
        sources.extend(procedure.documents_to_bring)
    for document in sources:
        key = document.key or document.text.raw("ja")
        if key in seen or not _holds(document, scope):
            continue
        seen.add(key)
        documents.append(document.text)
    return documents
