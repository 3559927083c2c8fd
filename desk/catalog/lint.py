"""`madoguchi catalog lint` and `stats`: every problem of a catalog folder, and what it holds.

Errors make the catalog unusable (the app refuses it); warnings are missing translations
and やさしい日本語 without furigana, which the app survives by showing Japanese.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desk.catalog.loader import CatalogReading, RuleSite, read_catalog
from desk.catalog.model import Catalog, Item, LifeEvent, Procedure, Step
from desk.catalog.source import Problem, Source
from desk.catalog.text import LocalizedText, without_ruby
from desk.errors import CatalogError
from desk.rules.evaluate import MappingScope, evaluate

RESIDENT_LANGUAGES = ("ja-easy", "en")  # every text a resident sees, in every procedure
# Kanji left in やさしい日本語 after removing the {漢字|かんじ} markup need a reading.
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LINT_DAY = dt.date(2000, 1, 1)  # rules are probed with no answers; the day does not matter


def lint(folder: Path | None = None) -> list[Problem]:
    """Every problem of a catalog folder, sorted by file and line."""
    try:
        reading = read_catalog(folder)
    except CatalogError as exc:
        return [Problem.of(exc)]
    problems = list(reading.problems)
    problems.extend(_unreachable(reading))
    problems.extend(_event_rules(reading))
    problems.extend(_translations(reading))
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.key, p.expected))


# -- rules that can never hold ----------------------------------------------------------------


def _asked(steps: tuple[Step, ...]) -> set[str]:
    asked: set[str] = set()
    for step in steps:
        asked.update(item.id for item in step.items)
        for member in step.members:
            asked.update(item.id for item in member.items)
    return asked


def _unreachable(reading: CatalogReading) -> Iterator[Problem]:
    """Steps whose `when` mentions only items nobody can have answered, and is false then."""
    catalog = reading.catalog
    from_events = set().union(*(_asked(e.questions) for e in catalog.life_events.values()))
    for procedure in catalog.procedures.values():
        src = reading.sources.get(procedure.source)
        if src is None:
            continue
        elsewhere = set(from_events)
        for other in catalog.procedures.values():
            if other.id != procedure.id:
                elsewhere |= _asked(other.steps)
        yield from _unreachable_steps(src, procedure.steps, "steps", elsewhere, None)


def _unreachable_steps(src: Source, steps: tuple[Step, ...], key: str, available: set[str],
                       group: Item | None) -> Iterator[Problem]:
    available = set(available)
    for index, step in enumerate(steps):
        step_key = f"{key}[{_raw_index(src, key, step.id, index)}]"
        if step.when is not None:
            names = step.when.names()
            scope_names = available | (set(group.members) if group else set())
            if not (names & scope_names) and not evaluate(step.when,
                                                          MappingScope({}, _LINT_DAY)):
                yield src.problem(
                    f"{step_key}.when",
                    "expected a rule that can hold: it mentions only items not asked before "
                    f"this step ({', '.join(sorted(names)) or 'none'}), so the step is never shown",
                )
        if step.members:
            yield from _unreachable_steps(src, step.members, f"{step_key}.steps", available,
                                          step.items[0])
        available.update(item.id for item in step.items)


def _raw_index(src: Source, key: str, step_id: str, fallback: int) -> int:
    """The index of a step in the file (steps that failed to load are not in the model)."""
    data: Any = src.data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if part.startswith("["):
            data = data[int(part[1:-1])] if isinstance(data, list) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    if isinstance(data, list):
        for index, raw in enumerate(data):
            if isinstance(raw, dict) and raw.get("id") == step_id:
                return index
    return fallback


def _event_rules(reading: CatalogReading) -> Iterator[Problem]:
    """A life event's procedure rules may only use what the event asks (or earlier facts)."""
    for site in reading.rule_sites:
        if not site.owner.startswith("event:") or ".procedures[" not in f".{site.key}":
            continue
        event = reading.catalog.life_events.get(site.owner.removeprefix("event:"))
        if event is None:
            continue
        missing = _names_outside(site, _asked(event.questions), reading.catalog)
        if missing:
            yield site.source.problem(
                site.key, f"expected a rule over the event's questions (`{', '.join(missing)}` "
                "is not asked before the checklist)")


def _names_outside(site: RuleSite, asked: set[str], catalog: Catalog) -> list[str]:
    """Names the rule reads from the visit that were not asked; a group's members are fine."""
    missing: set[str] = set()
    for reference in site.rule.references():
        group = catalog.items.get(reference.context)
        if group is not None and reference.name in group.members:
            continue
        if reference.name not in asked:
            missing.add(reference.name)
    return sorted(missing)


# -- translations ---------------------------------------------------------------------------


def _translations(reading: CatalogReading) -> Iterator[Problem]:
    catalog = reading.catalog
    extra: dict[str, set[str]] = {}  # procedure id → languages some life event requires
    for event in catalog.life_events.values():
        for entry in event.procedures:
            extra.setdefault(entry.procedure_id, set()).update(event.translations)
    item_languages: dict[str, set[str]] = {}
    for procedure in catalog.procedures.values():
        languages = set(RESIDENT_LANGUAGES) | extra.get(procedure.id, set())
        src = reading.sources.get(procedure.source)
        if src is not None:
            yield from _texts_of(src, _procedure_texts(procedure, src), languages)
        for item in _items_of(procedure.steps):
            item_languages.setdefault(item.id, set()).update(languages)
    for event in catalog.life_events.values():
        languages = set(RESIDENT_LANGUAGES) | set(event.translations)
        src = reading.sources.get(event.source)
        if src is not None:
            yield from _texts_of(src, _event_texts(event, src), languages)
        for item in _items_of(event.questions):
            item_languages.setdefault(item.id, set()).update(languages)
    yield from _item_texts(reading, item_languages)


def _items_of(steps: tuple[Step, ...]) -> Iterator[Item]:
    for step in steps:
        yield from step.items
        yield from _items_of(step.members)


def _procedure_texts(procedure: Procedure, src: Source) -> Iterator[tuple[str, LocalizedText]]:
    yield "title", procedure.title
    yield "summary", procedure.summary
    yield "declaration", procedure.declaration
    yield from _document_texts(procedure.documents_to_bring, src)
    yield from _step_texts(procedure.steps, "steps", src)


def _event_texts(event: LifeEvent, src: Source) -> Iterator[tuple[str, LocalizedText]]:
    yield "title", event.title
    yield "description", event.description
    yield from _document_texts(event.documents_to_bring, src)
    yield from _step_texts(event.questions, "questions", src)
    raw = src.data.get("procedures") if isinstance(src.data, dict) else None
    for index, entry in enumerate(raw if isinstance(raw, list) else []):
        match = next((p for p in event.procedures
                      if isinstance(entry, dict) and p.procedure_id == entry.get("procedure")),
                     None)
        if match is not None:
            yield f"procedures[{index}].reason", match.reason


def _document_texts(documents: Any, src: Source) -> Iterator[tuple[str, LocalizedText]]:
    for index, document in enumerate(documents):
        key = f"documents_to_bring[{index}]"
        yield (f"{key}.text" if f"{key}.text" in src.lines else key), document.text


def _step_texts(steps: tuple[Step, ...], key: str,
                src: Source) -> Iterator[tuple[str, LocalizedText]]:
    for index, step in enumerate(steps):
        step_key = f"{key}[{_raw_index(src, key, step.id, index)}]"
        yield f"{step_key}.question", step.question
        yield f"{step_key}.help", step.help
        for number, check in enumerate(step.checks):
            yield f"{step_key}.checks[{number}].message", check.message
        yield from _step_texts(step.members, f"{step_key}.steps", src)


def _item_texts(reading: CatalogReading,
                item_languages: dict[str, set[str]]) -> Iterator[Problem]:
    for src in reading.sources.values():
        if not src.name.startswith("items/"):
            continue
        items = src.data.get("items") if isinstance(src.data, dict) else None
        for item_id in items if isinstance(items, dict) else {}:
            item = reading.catalog.items.get(item_id)
            if item is None:
                continue
            languages = item_languages.get(item_id, set(RESIDENT_LANGUAGES))
            texts = [(f"items.{item_id}.label", item.label)]
            texts += [(f"items.{item_id}.options[{i}].label", o.label)
                      for i, o in enumerate(item.options)]
            yield from _texts_of(src, iter(texts), languages)


def _texts_of(src: Source, texts: Iterator[tuple[str, LocalizedText]],
              languages: set[str]) -> Iterator[Problem]:
    for key, text in texts:
        if not text.values:
            continue
        missing = sorted(lang for lang in languages if not text.has(lang))
        if missing:
            yield src.problem(key, f"translations in {', '.join(missing)} (Japanese is shown "
                              "meanwhile)", severity="warning")
        easy = text.values.get("ja-easy")
        if easy and _KANJI.search(without_ruby(easy)):
            kanji = "".join(dict.fromkeys(_KANJI.findall(without_ruby(easy))))
            yield src.problem(f"{key}.ja-easy", f"furigana on every kanji in やさしい日本語 "
                              f"(write {{漢字|かんじ}}; no reading for {kanji})",
                              severity="warning")


# -- stats ------------------------------------------------------------------------------------


def stats(catalog: Catalog) -> dict[str, Any]:
    """What a catalog holds, counted from its files."""
    languages: set[str] = set()

    def note(text: LocalizedText) -> None:
        languages.update(text.values)

    for procedure in catalog.procedures.values():
        note(procedure.title)
        for step in procedure.steps:
            note(step.question)
    for event in catalog.life_events.values():
        note(event.title)
    for item in catalog.items.values():
        note(item.label)
    return {
        "procedures": len(catalog.procedures),
        "business_areas": len({p.business_area for p in catalog.procedures.values()}),
        "life_events": len(catalog.life_events),
        "languages": sorted(languages),
        "items": len(catalog.items),
    }
