"""Load a catalog folder into frozen dataclasses; every problem names file, line and key path.

`load_catalog` refuses a catalog with any error (the first one is raised). `read_catalog`
keeps going and returns every problem it found, for `madoguchi catalog lint`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from desk.catalog.model import (
    CHANNELS,
    ITEM_TYPES,
    Catalog,
    Channel,
    Check,
    DateRange,
    Document,
    EventProcedure,
    Item,
    ItemType,
    LifeEvent,
    Option,
    Procedure,
    Step,
)
from desk.catalog.source import Problem, Source
from desk.catalog.text import LocalizedText
from desk.errors import CatalogError, RuleError
from desk.resources import resources_dir
from desk.rules import Rule, parse
from desk.rules.check import check

SUPPORTED_SCHEMA_VERSIONS = {1}
AREAS_FILE = "business-areas.yaml"
ITEMS_FOLDER = "items"
EVENTS_FOLDER = "life-events"
_DATE_RANGES = ("past", "future", "any")
_INT_KEYS = {"max_length": ("text",), "min": ("count", "number", "group"),
             "max": ("count", "number", "group")}
T = TypeVar("T")


def default_catalog_dir() -> Path:
    """The catalog shipped with the app."""
    return resources_dir() / "procedures"


@dataclass(frozen=True)
class RuleSite:
    """Where a rule was written, so the linter can check it against the whole dictionary."""

    source: Source
    key: str
    rule: Rule
    owner: str  # "procedure:<id>" or "event:<id>"
    step: Step | None = None
    group: str | None = None  # the group item whose member step holds the rule


@dataclass
class CatalogReading:
    """The outcome of reading a catalog folder: what loaded, and every problem found."""

    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    rule_sites: list[RuleSite] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the catalog unusable."""
        return [p for p in self.problems if p.severity == "error"]


class _Reader:
    """Reads one catalog folder. In strict mode the first problem is raised."""

    def __init__(self, root: Path, *, strict: bool) -> None:
        self.root = root
        self.strict = strict
        self.problems: list[Problem] = []
        self.sources: dict[str, Source] = {}
        self.rule_sites: list[RuleSite] = []
        self.items: dict[str, Item] = {}
        self.item_files: dict[str, str] = {}
        self.areas: dict[str, LocalizedText] = {}

    # -- problem handling ---------------------------------------------------------------

    def collect(self, work: Callable[[], T]) -> T | None:
        """Run one unit of loading; a CatalogError is raised (strict) or recorded."""
        try:
            return work()
        except CatalogError as exc:
            if self.strict:
                raise
            self.problems.append(Problem.of(exc))
            return None

    def report(self, problem: Problem) -> None:
        """Record a problem found by a cross-check; strict mode raises errors."""
        if self.strict and problem.severity == "error":
            raise CatalogError("catalog.invalid", file=problem.file, line=problem.line,
                               key=problem.key, expected=problem.expected.removeprefix("expected "))
        self.problems.append(problem)

    def open(self, path: Path) -> Source | None:
        name = path.relative_to(self.root).as_posix()

        def work() -> Source:
            src = Source(path, name)
            data = _mapping(src, src.data, "")
            version = data.get("schema_version")
            if isinstance(version, bool) or not isinstance(version, int) or (
                version not in SUPPORTED_SCHEMA_VERSIONS
            ):
                raise src.error("schema_version", f"one of {sorted(SUPPORTED_SCHEMA_VERSIONS)}")
            return src

        src = self.collect(work)
        if src is not None:
            self.sources[name] = src
        return src

    # -- files ---------------------------------------------------------------------------

    def read(self) -> Catalog:
        if not self.root.is_dir():
            raise CatalogError("catalog.missing", file=str(self.root), line=1, key="",
                               expected="a catalog folder")
        self._read_areas()
        for path in sorted((self.root / ITEMS_FOLDER).glob("*.yaml")):
            self._read_items(path)
        self._check_groups()
        procedures: dict[str, Procedure] = {}
        events: dict[str, LifeEvent] = {}
        for path in sorted(self.root.rglob("*.yaml")):
            relative = path.relative_to(self.root)
            if relative.parts[0] in (ITEMS_FOLDER, EVENTS_FOLDER) or relative.name == AREAS_FILE:
                continue
            src = self.open(path)
            if src is None:
                continue
            procedure = self.collect(lambda src=src: self._procedure(src))  # type: ignore[misc]
            if procedure is None:
                continue
            if procedure.id in procedures:
                other = procedures[procedure.id].source
                self.report(src.problem("id", f"a procedure id not used by another file "
                                        f"(`{procedure.id}` is in {other})"))
                continue
            procedures[procedure.id] = procedure
        for path in sorted((self.root / EVENTS_FOLDER).glob("*.yaml")):
            src = self.open(path)
            if src is None:
                continue
            event = self.collect(lambda src=src: self._event(src, procedures))  # type: ignore[misc]
            if event is not None:
                if event.id in events:
                    self.report(src.problem("id", f"a life event id not used by another file "
                                            f"(`{event.id}` is repeated)"))
                    continue
                events[event.id] = event
        self._check_rules()
        return Catalog(items=dict(self.items), procedures=procedures, life_events=events,
                       business_areas=dict(self.areas))

    def _read_areas(self) -> None:
        path = self.root / AREAS_FILE
        src = self.open(path) if path.exists() else None
        if src is None:
            if not path.exists():
                self.report(Problem("error", AREAS_FILE, 1, "", "expected the list of business "
                                    "areas in this file"))
            return

        def work() -> None:
            areas = _mapping(src, _mapping(src, src.data, "").get("areas"), "areas")
            for area_id in areas:
                self.areas[area_id] = _text(src, areas[area_id], f"areas.{area_id}")

        self.collect(work)

    def _read_items(self, path: Path) -> None:
        src = self.open(path)
        if src is None:
            return
        raw_items = self.collect(
            lambda: _mapping(src, _mapping(src, src.data, "").get("items"), "items"))
        for item_id, raw in (raw_items or {}).items():
            key = f"items.{item_id}"
            if item_id in self.items:
                self.report(src.problem(key, f"an item id defined once (`{item_id}` is already "
                                        f"in {self.item_files[item_id]})"))
                continue
            item = self.collect(lambda raw=raw, key=key, item_id=item_id:  # type: ignore[misc]
                                _item(src, item_id, raw, key))
            if item is not None:
                self.items[item_id] = item
                self.item_files[item_id] = src.name

    def _check_groups(self) -> None:
        for item in self.items.values():
            for member in item.members:
                src = self.sources[self.item_files[item.id]]
                if member not in self.items:
                    self.report(src.problem(f"items.{item.id}.members",
                                            f"items of the dictionary (`{member}` is not)"))
                elif self.items[member].type == "group":
                    self.report(src.problem(f"items.{item.id}.members",
                                            "expected member items that are not groups"))

    # -- procedures and steps --------------------------------------------------------------

    def _procedure(self, src: Source) -> Procedure:
        data = _mapping(src, src.data, "")
        procedure_id = _identifier(src, data.get("id"), "id")
        owner = f"procedure:{procedure_id}"
        channels = data.get("channels")
        if not isinstance(channels, list) or not channels or any(
            c not in CHANNELS for c in channels
        ):
            raise src.error("channels", f"a list of {', '.join(CHANNELS)}")
        area = _string(src, data.get("business_area"), "business_area")
        if self.areas and area not in self.areas:
            raise src.error("business_area", f"one of the ids in {AREAS_FILE} (`{area}` is not)")
        identity_check = data.get("identity_check")
        if not isinstance(identity_check, bool):
            raise src.error("identity_check", "true or false")
        steps = self._steps(src, data.get("steps"), "steps", owner, counter_only=(
            channels == ["counter"]))
        layout = data.get("form_layout")
        if layout is not None:
            layout = _identifier(src, layout, "form_layout")
        return Procedure(
            id=procedure_id,
            form_version=_form_version(src, data.get("form_version", "1")),
            business_area=area,
            form_name=_string(src, data.get("form_name"), "form_name"),
            channels=tuple(cast(list[Channel], channels)),
            identity_check=identity_check,
            title=_text(src, data.get("title"), "title"),
            summary=_text(src, data.get("summary"), "summary", required=False),
            steps=steps,
            documents_to_bring=self._documents(src, data.get("documents_to_bring"), owner),
            declaration=_text(src, data.get("declaration"), "declaration"),
            form_layout=layout,
            source=src.name,
        )

    def _steps(self, src: Source, raw_steps: Any, key: str, owner: str, *,
               counter_only: bool, group: Item | None = None,
               asked_before: frozenset[str] = frozenset()) -> tuple[Step, ...]:
        if not isinstance(raw_steps, list) or not raw_steps:
            raise src.error(key, "a non-empty list of steps")
        steps: list[Step] = []
        seen: set[str] = set()
        asked = set(asked_before)
        for index, raw in enumerate(raw_steps):
            step_key = f"{key}[{index}]"
            step = self.collect(lambda raw=raw, step_key=step_key: self._step(  # type: ignore[misc]
                src, raw, step_key, owner, counter_only=counter_only, group=group,
                asked=frozenset(asked)))
            if step is None:
                continue
            if step.id in seen:
                self.report(src.problem(f"{step_key}.id", f"expected a step id not used before "
                                        f"in this file (`{step.id}` is repeated)"))
                continue
            seen.add(step.id)
            asked.update(item.id for item in step.items)
            steps.append(step)
        return tuple(steps)

    def _step(self, src: Source, raw: Any, key: str, owner: str, *, counter_only: bool,
              group: Item | None, asked: frozenset[str]) -> Step:
        spec = _mapping(src, raw, key)
        step_id = _identifier(src, spec.get("id"), f"{key}.id")
        if "group" in spec:
            if group is not None:
                raise src.error(f"{key}.group", "no group inside a group's steps")
            return self._group_step(src, spec, key, step_id, owner, counter_only, asked)
        item_ids = spec.get("items", [spec.get("item")])
        item_key = f"{key}.items" if "items" in spec else f"{key}.item"
        if not isinstance(item_ids, list) or not item_ids:
            raise src.error(item_key, "an item id, or `items:` with a list of item ids")
        step_items = []
        for item_id in item_ids:
            if item_id not in self.items:
                raise src.error(item_key, f"an item of the data dictionary (`{item_id}` is not)")
            item = self.items[item_id]
            if item.type == "group":
                raise src.error(item_key, f"`group: {item_id}` for a repeat group")
            if item.type == "mynumber" and not counter_only:
                raise src.error(item_key, "no 個人番号 item outside counter-only procedures "
                                "(channels: [counter])")
            if group is not None and item_id not in group.members:
                raise src.error(item_key, f"a member of the group `{group.id}` "
                                f"({', '.join(group.members)})")
            step_items.append(item)
        if len({i.per_procedure for i in step_items}) > 1 or (
            group is not None and step_items[0].per_procedure
        ):
            raise src.error(item_key, "items that are all per procedure or all per visit "
                            "(and no per-procedure item in a group)")
        if len(step_items) > 1 and any(i.type not in ("text",) for i in step_items):
            raise src.error(item_key, "several items in one step only for text items")
        postal_item = spec.get("postal_item")
        if step_items[0].type == "address_candidate" and (
            postal_item not in asked or self.items[postal_item].type != "postal_code"
        ):
            raise src.error(f"{key}.postal_item",
                            "the id of a postal_code item asked in an earlier step")
        unknown_allowed = spec.get("unknown_allowed", False)
        if not isinstance(unknown_allowed, bool):
            raise src.error(f"{key}.unknown_allowed", "true or false")
        counter_group = spec.get("counter_group")
        if counter_group is not None:
            counter_group = _identifier(src, counter_group, f"{key}.counter_group")
        step = Step(
            id=step_id,
            items=tuple(step_items),
            question=_text(src, spec.get("question"), f"{key}.question"),
            help=_text(src, spec.get("help"), f"{key}.help", required=False),
            postal_item=postal_item,
            when=self._rule(src, spec.get("when"), f"{key}.when", owner, group),
            unknown_allowed=unknown_allowed,
            counter_group=counter_group,
            checks=self._checks(src, spec.get("checks"), f"{key}.checks", owner, group),
        )
        self._note_sites(step, src, key, owner, group)
        return step

    def _group_step(self, src: Source, spec: Mapping[str, Any], key: str, step_id: str,
                    owner: str, counter_only: bool, asked: frozenset[str]) -> Step:
        group_id = spec.get("group")
        group = self.items.get(group_id) if isinstance(group_id, str) else None
        if group is None or group.type != "group":
            raise src.error(f"{key}.group", f"a group item of the data dictionary "
                            f"(`{group_id}` is not)")
        members = self._steps(src, spec.get("steps"), f"{key}.steps", owner,
                              counter_only=counter_only, group=group, asked_before=asked)
        step = Step(
            id=step_id,
            items=(group,),
            question=_text(src, spec.get("question"), f"{key}.question"),
            help=_text(src, spec.get("help"), f"{key}.help", required=False),
            when=self._rule(src, spec.get("when"), f"{key}.when", owner, None),
            checks=self._checks(src, spec.get("checks"), f"{key}.checks", owner, None),
            members=members,
        )
        self._note_sites(step, src, key, owner, None)
        return step

    def _note_sites(self, step: Step, src: Source, key: str, owner: str,
                    group: Item | None) -> None:
        group_id = group.id if group else None
        if step.when is not None:
            self.rule_sites.append(RuleSite(src, f"{key}.when", step.when, owner, step, group_id))
        for index, chk in enumerate(step.checks):
            self.rule_sites.append(
                RuleSite(src, f"{key}.checks[{index}].rule", chk.rule, owner, None, group_id))

    def _checks(self, src: Source, raw: Any, key: str, owner: str,
                group: Item | None) -> tuple[Check, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise src.error(key, "a list of checks (rule and message)")
        checks = []
        for index, entry in enumerate(raw):
            spec = _mapping(src, entry, f"{key}[{index}]")
            rule = self._rule(src, spec.get("rule"), f"{key}[{index}].rule", owner, group,
                              required=True)
            assert rule is not None
            checks.append(Check(rule, _text(src, spec.get("message"), f"{key}[{index}].message")))
        return tuple(checks)

    def _rule(self, src: Source, raw: Any, key: str, owner: str, group: Item | None, *,
              required: bool = False) -> Rule | None:
        if raw is None and not required:
            return None
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if not isinstance(raw, str) or not raw.strip():
            raise src.error(key, "a rule (for example `age(seinengappi) >= 65`)")
        try:
            return parse(raw)
        except RuleError as exc:
            raise src.error(key, _rule_expectation(exc)) from exc

    def _documents(self, src: Source, raw: Any, owner: str) -> tuple[Document, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise src.error("documents_to_bring", "a list of texts")
        documents = []
        for index, entry in enumerate(raw):
            key = f"documents_to_bring[{index}]"
            spec = dict(_mapping(src, entry, key))
            doc_key = spec.pop("key", None)
            if doc_key is not None:
                doc_key = _identifier(src, doc_key, f"{key}.key")
            if "text" in spec:
                rule = self._rule(src, spec.get("when"), f"{key}.when", owner, None)
                if rule is not None:
                    self.rule_sites.append(RuleSite(src, f"{key}.when", rule, owner))
                documents.append(Document(_text(src, spec["text"], f"{key}.text"), rule,
                                          doc_key))
            else:
                documents.append(Document(_text(src, spec, key), key=doc_key))
        return tuple(documents)

    # -- life events -----------------------------------------------------------------------

    def _event(self, src: Source, procedures: Mapping[str, Procedure]) -> LifeEvent:
        data = _mapping(src, src.data, "")
        event_id = _identifier(src, data.get("id"), "id")
        owner = f"event:{event_id}"
        order = data.get("order", 99)
        if not isinstance(order, int) or isinstance(order, bool):
            raise src.error("order", "a whole number (the position on the home screen)")
        translations = data.get("translations", [])
        if not isinstance(translations, list) or not all(
            isinstance(t, str) and t for t in translations
        ):
            raise src.error("translations", "a list of language codes such as [vi, pt-BR]")
        questions = self._steps(src, data.get("questions"), "questions", owner,
                                counter_only=False)
        raw = data.get("procedures")
        if not isinstance(raw, list) or not raw:
            raise src.error("procedures", "a non-empty list of `procedure:` entries")
        yielded = []
        for index, entry in enumerate(raw):
            key = f"procedures[{index}]"
            spec = _mapping(src, entry, key)
            procedure_id = spec.get("procedure")
            if procedure_id not in procedures:
                self.report(src.problem(f"{key}.procedure", f"expected a procedure of the "
                                        f"catalog (`{procedure_id}` is not)"))
                continue
            rule = self._rule(src, spec.get("when"), f"{key}.when", owner, None)
            if rule is not None:
                self.rule_sites.append(RuleSite(src, f"{key}.when", rule, owner))
            yielded.append(EventProcedure(
                cast(str, procedure_id), rule,
                _text(src, spec.get("reason"), f"{key}.reason", required=False)))
        return LifeEvent(
            id=event_id,
            order=order,
            title=_text(src, data.get("title"), "title"),
            description=_text(src, data.get("description"), "description", required=False),
            questions=questions,
            procedures=tuple(yielded),
            documents_to_bring=self._documents(src, data.get("documents_to_bring"), owner),
            translations=tuple(translations),
            source=src.name,
        )

    # -- rules against the whole dictionary -------------------------------------------------

    def _check_rules(self) -> None:
        item_types = {item_id: item.type for item_id, item in self.items.items()}
        group_members = {i.id: i.members for i in self.items.values() if i.type == "group"}
        for site in self.rule_sites:
            for problem in check(site.rule, item_types=item_types, group_members=group_members):
                self.report(site.source.problem(site.key, _check_expectation(problem)))
            local = sorted(n for n in site.rule.names()
                           if n in self.items and self.items[n].per_procedure)
            if local:
                self.report(site.source.problem(
                    site.key, f"rules over visit items only (`{', '.join(local)}` is answered "
                    "per procedure)"))


def _rule_expectation(exc: RuleError) -> str:
    params = exc.params
    column = params.get("column")
    where = f" at column {column}" if column else ""
    if exc.message_id == "rule.syntax":
        return f"a valid rule: {params.get('expected')}{where}, not {params.get('found')!r}"
    if exc.message_id == "rule.unknown_function":
        return (f"a known function{where} (`{params.get('name')}` is not: use age, count, any, "
                "all, answered or unknown)")
    if exc.message_id == "rule.arity":
        return f"{params.get('expected')} for `{params.get('name')}`{where}"
    if exc.message_id == "rule.too_long":
        return f"a rule of at most {params.get('max')} characters"
    if exc.message_id == "rule.too_deep":
        return f"a rule nested at most {params.get('max')} levels deep"
    return f"a valid rule ({exc.message_id})"


def _check_expectation(problem: Any) -> str:
    params = problem.params
    column = params.get("column")
    where = f" (column {column})" if column else ""
    name = params.get("name")
    if problem.message_id == "rule.unknown_item":
        return f"expected items of the data dictionary in the rule (`{name}` is not){where}"
    if problem.message_id == "rule.wrong_type":
        return f"expected {params.get('expected')} for `{name}`{where}"
    return f"expected a valid rule ({problem.message_id}: {params}){where}"


# -- small typed readers --------------------------------------------------------------------


def _mapping(src: Source, value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise src.error(key, "a mapping (key: value)")
    return value


def _string(src: Source, value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, "a non-empty string")
    return value


def _identifier(src: Source, value: Any, key: str) -> str:
    text = _string(src, value, key)
    if not all(c.isascii() and (c.isalnum() or c in "_-") for c in text) or len(text) > 48:
        raise src.error(key, "an id of lowercase romaji, digits, `_` and `-` (at most 48)")
    return text


def _form_version(src: Source, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise src.error("form_version", 'a version such as "1"')
    return str(value)


def _text(src: Source, value: Any, key: str, *, required: bool = True) -> LocalizedText:
    if value is None and not required:
        return LocalizedText()
    mapping = _mapping(src, value, key)
    values = {str(lang): _string(src, text, f"{key}.{lang}") for lang, text in mapping.items()}
    if "ja" not in values:
        raise src.error(key, "a Japanese text under `ja` (every other language falls back to it)")
    return LocalizedText(values)


def _item(src: Source, item_id: str, raw: Any, key: str) -> Item:
    _identifier(src, item_id, key)
    spec = _mapping(src, raw, key)
    item_type = spec.get("type")
    if item_type not in ITEM_TYPES:
        raise src.error(f"{key}.type", f"one of {', '.join(ITEM_TYPES)}")
    for int_key, types in _INT_KEYS.items():
        if int_key in spec:
            value = spec[int_key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise src.error(f"{key}.{int_key}", "a whole number")
            if item_type not in types:
                raise src.error(f"{key}.{int_key}", f"no `{int_key}` on a {item_type} item")
    required = spec.get("required", True)
    if not isinstance(required, bool):
        raise src.error(f"{key}.required", "true or false")
    options: list[Option] = []
    if item_type in ("choice", "multi_choice"):
        raw_options = spec.get("options")
        if not isinstance(raw_options, list) or not raw_options:
            raise src.error(f"{key}.options", "a list of options ({value, label})")
        for index, entry in enumerate(raw_options):
            option_key = f"{key}.options[{index}]"
            option = _mapping(src, entry, option_key)
            value = option.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            options.append(Option(_string(src, value, f"{option_key}.value"),
                                  _text(src, option.get("label"), f"{option_key}.label")))
        if len({o.value for o in options}) != len(options):
            raise src.error(f"{key}.options", "options with different values")
    elif "options" in spec:
        raise src.error(f"{key}.options", "options only on choice and multi_choice items")
    dates = spec.get("dates", "past")
    if dates not in _DATE_RANGES or (item_type != "date" and "dates" in spec):
        raise src.error(f"{key}.dates", f"one of {', '.join(_DATE_RANGES)} on a date item")
    partial = spec.get("partial", False)
    if not isinstance(partial, bool) or (partial and item_type != "date"):
        raise src.error(f"{key}.partial", "true or false, on a date item")
    members = spec.get("members", [])
    if item_type == "group" and (not isinstance(members, list) or not members
                                 or not all(isinstance(m, str) for m in members)):
        raise src.error(f"{key}.members", "a list of member item ids")
    if item_type != "group" and "members" in spec:
        raise src.error(f"{key}.members", "members only on group items")
    per_procedure = spec.get("per_procedure", False)
    if not isinstance(per_procedure, bool) or (per_procedure and item_type == "group"):
        raise src.error(f"{key}.per_procedure", "true or false (not on a group)")
    minimum, maximum = spec.get("min"), spec.get("max")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise src.error(f"{key}.max", f"a maximum not below the minimum ({minimum})")
    return Item(
        id=item_id,
        type=cast(ItemType, item_type),
        label=_text(src, spec.get("label"), f"{key}.label"),
        required=required,
        max_length=spec.get("max_length"),
        minimum=minimum,
        maximum=maximum,
        options=tuple(options),
        dates=cast(DateRange, dates),
        partial=partial,
        members=tuple(members),
        per_procedure=per_procedure,
    )


def read_catalog(folder: Path | None = None) -> CatalogReading:
    """Read a catalog folder, collecting every problem instead of stopping at the first."""
    reader = _Reader(folder or default_catalog_dir(), strict=False)
    catalog = reader.read()
    return CatalogReading(catalog, reader.problems, reader.sources, reader.rule_sites)


def load_catalog(folder: Path | None = None) -> Catalog:
    """Load a catalog folder; CatalogError (file, line, key, expected) for the first error."""
    return _Reader(folder or default_catalog_dir(), strict=True).read()
