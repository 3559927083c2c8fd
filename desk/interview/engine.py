"""The visit interview: every chosen procedure walked as one, with answers kept visit-wide.

A visit is a list of sections: the life event's eligibility questions (when the visit
started from a life event), then each procedure that applies. The screens of the visit are
computed from the catalog and the answers so far: steps whose `when` rule does not hold are
left out, a step whose items were asked earlier in the visit is skipped (once-only), and a
repeat group becomes a "how many?" screen followed by its member steps once per member.
Positions are stable strings (``tennyu/shimei``, ``tennyu/setai/1/setai_seinengappi``), so a
saved draft resumes on the same screen.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from desk.catalog.model import Catalog, LifeEvent, Procedure, Step
from desk.catalog.text import LocalizedText
from desk.errors import FieldError
from desk.fields import address, kana, phone
from desk.fields.bank import validate_bank_account
from desk.fields.digits import normalize_digits
from desk.interview.issues import Issue
from desk.interview.navigator import Applicable, applicable, documents_to_bring
from desk.interview.payload import procedure_data
from desk.interview.validation import validate_step
from desk.rules.evaluate import UNKNOWN_ANSWER, MappingScope, Scope, evaluate, is_unknown

REVIEW = "__review__"  # the check-your-answers page after the last step
CHECKLIST = "__checklist__"  # after a life event's questions: the procedures and documents
EVENT_PREFIX = "@"
LOCAL_PREFIX = "@"  # answers["@<procedure id>"] holds that procedure's per-procedure items
FULL_WIDTH_SPACE = "\u3000"
ScreenKind = Literal["step", "checklist", "review"]


@dataclass(frozen=True)
class Section:
    """A part of the visit: a life event's questions or one procedure."""

    id: str
    title: LocalizedText
    steps: tuple[Step, ...]
    procedure: Procedure | None = None


@dataclass(frozen=True)
class Screen:
    """One screen of the visit. Member screens name their group step and member index."""

    key: str
    kind: ScreenKind
    section: Section | None = None
    step: Step | None = None
    group_step: Step | None = None
    member: int | None = None


@dataclass(frozen=True)
class StepOutcome:
    """What happened when a step was answered: the issues, and where the interview is now."""

    issues: tuple[Issue, ...]
    position: str

    @property
    def accepted(self) -> bool:
        """True when the answers were stored and the interview moved on."""
        return not self.issues


@dataclass(frozen=True)
class Progress:
    """Where the resident is: step n of m, and in which part of the visit."""

    number: int
    total: int
    section: Section | None = None
    section_number: int = 0
    section_count: int = 0


@dataclass
class _Screens:
    """The computed screens for one version of the answers."""

    screens: list[Screen] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)


def normalize_answer(item_type: str, value: Any) -> Any:
    """Bring an answer to its stored form (katakana furigana, digits only, trimmed text)."""
    if is_unknown(value):
        return dict(UNKNOWN_ANSWER)
    if item_type in ("name", "kana_name") and isinstance(value, Mapping):
        parts = {k: str(value.get(k, "")).strip() for k in ("family", "given")}
        if item_type == "kana_name":
            parts = {k: kana.to_katakana(v) for k, v in parts.items()}
        return parts
    if item_type == "date" and isinstance(value, Mapping):
        return {"fusho": True, "hyoki": str(value.get("hyoki", "")).strip()}
    if isinstance(value, str):
        return _normalize_text(item_type, value.strip())
    if item_type == "bank_account" and isinstance(value, Mapping):
        try:
            account = validate_bank_account(value)
        except FieldError:  # kept as typed: validation reports which part is wrong
            return dict(value)
        return {"bank_code": account.bank_code, "branch_code": account.branch_code,
                "account_type": account.account_type, "account_number": account.account_number,
                "holder_kana": account.holder_kana}
    return value


def _normalize_text(item_type: str, text: str) -> Any:
    try:
        if item_type == "postal_code":
            return address.normalize_postal_code(text)
        if item_type == "phone":
            return phone.normalize_phone(text)
        if item_type == "mynumber":
            return normalize_digits(text).replace(" ", "").replace("-", "")
    except FieldError:  # kept as typed: validation reports the format problem
        return text
    return text


def _asked_key(section: Section, item: Any) -> str:
    """What once-only compares: the item, or the item within its procedure."""
    return f"{section.id}/{item.id}" if item.per_procedure else item.id


class Interview:
    """Walks the sections of a visit and keeps every answer, visit-wide.

    The position is a screen key, `CHECKLIST` or `REVIEW`. After a 「変更」 from the review
    page, answering that step returns to the review page.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        event_id: str | None = None,
        procedure_ids: tuple[str, ...] = (),
        answers: Mapping[str, Any] | None = None,
        position: str | None = None,
        today: dt.date | None = None,
    ) -> None:
        if event_id is None and not procedure_ids:
            raise ValueError("a visit needs a life event or at least one procedure")
        self.catalog = catalog
        self.event: LifeEvent | None = catalog.life_event(event_id) if event_id else None
        self.procedure_ids = tuple(procedure_ids)
        for procedure_id in self.procedure_ids:
            catalog.procedure(procedure_id)  # KeyError for an unknown procedure
        self.answers: dict[str, Any] = copy.deepcopy(dict(answers or {}))
        self._today = today
        self._cache: tuple[str, _Screens] | None = None
        self.returning_to_review = False
        screens = self.screens()
        self.position = position if position in self._computed().index else screens[0].key

    # -- what the visit is made of -------------------------------------------------------

    @property
    def today(self) -> dt.date:
        """The date validation and ages compare against (injectable for tests)."""
        return self._today or dt.date.today()

    def scope(self) -> Scope:
        """The answers as a rule scope."""
        return MappingScope(self.answers, self.today)

    def applicable(self) -> list[Applicable]:
        """The procedures of this visit: fixed ones, or those the life event's rules yield."""
        if self.event is None:
            return [Applicable(self.catalog.procedure(p), LocalizedText())
                    for p in self.procedure_ids]
        return applicable(self.catalog, self.event, self.scope())

    @property
    def procedures(self) -> list[Procedure]:
        """The procedures this visit will submit, in order."""
        return [a.procedure for a in self.applicable()]

    def documents(self) -> list[LocalizedText]:
        """What the resident should bring, for the procedures that apply now."""
        return documents_to_bring(self.procedures, self.scope(), self.event)

    def sections(self) -> list[Section]:
        """The life event's questions (if any), then each applicable procedure."""
        sections = []
        if self.event is not None:
            sections.append(Section(EVENT_PREFIX + self.event.id, self.event.title,
                                    self.event.questions))
        sections.extend(Section(p.id, p.title, p.steps, p) for p in self.procedures)
        return sections

    def screens(self) -> list[Screen]:
        """Every screen of the visit for the answers so far, ending with the review page."""
        return self._computed().screens

    def _computed(self) -> _Screens:
        # Screens depend only on the answers; recompute when they change.
        fingerprint = repr(sorted(self.answers.items(), key=lambda kv: kv[0]))
        if self._cache is None or self._cache[0] != fingerprint:
            self._cache = (fingerprint, self._build_screens())
        return self._cache[1]

    def _build_screens(self) -> _Screens:
        result = _Screens()
        scope = self.scope()
        asked: set[str] = set()

        def add(screen: Screen) -> None:
            result.index[screen.key] = len(result.screens)
            result.screens.append(screen)

        for section in self.sections():
            for step in section.steps:
                if step.when is not None and not evaluate(step.when, scope):
                    continue
                if step.is_group:
                    self._add_group(section, step, scope, asked, add)
                    continue
                asked_keys = [_asked_key(section, item) for item in step.items]
                if all(k in asked for k in asked_keys):
                    continue  # once-only: asked earlier in the visit
                asked.update(asked_keys)
                add(Screen(f"{section.id}/{step.id}", "step", section, step))
            if section.id.startswith(EVENT_PREFIX):
                add(Screen(CHECKLIST, "checklist", section))
        add(Screen(REVIEW, "review"))
        return result

    def _add_group(self, section: Section, step: Step, scope: Scope, asked: set[str],
                   add: Any) -> None:
        group_id = step.items[0].id
        key = f"{section.id}/{step.id}"
        if group_id not in asked:
            asked.add(group_id)
            add(Screen(key, "step", section, step))
        fresh = [m for m in step.members
                 if not all(f"{group_id}.{i.id}" in asked for i in m.items)]
        for index, member in enumerate(self._members(group_id)):
            member_scope = MappingScope(member, self.today, parent=scope)
            for member_step in fresh:
                if member_step.when is not None and not evaluate(member_step.when, member_scope):
                    continue
                add(Screen(f"{key}/{index + 1}/{member_step.id}", "step", section, member_step,
                           step, index))
        asked.update(f"{group_id}.{i.id}" for m in fresh for i in m.items)

    def _members(self, group_id: str) -> list[dict[str, Any]]:
        members = self.answers.get(group_id)
        return members if isinstance(members, list) else []

    # -- where the resident is -------------------------------------------------------------

    @property
    def screen(self) -> Screen:
        """The screen at the current position."""
        computed = self._computed()
        index = computed.index.get(self.position)
        if index is None:  # the screen vanished (an answer changed a rule): first missing one
            self.position = self._first_incomplete()
            index = computed.index[self.position]
        return computed.screens[index]

    @property
    def at_review(self) -> bool:
        """True on the check-your-answers page."""
        return self.screen.kind == "review"

    @property
    def at_checklist(self) -> bool:
        """True on the life event's checklist of procedures and documents."""
        return self.screen.kind == "checklist"

    @property
    def current(self) -> Step | None:
        """The step being asked, or None on the checklist and review pages."""
        return self.screen.step if self.screen.kind == "step" else None

    def progress(self) -> Progress:
        """Step n of m over the question screens, and the section of the current one."""
        questions = [s for s in self.screens() if s.kind == "step"]
        sections = self.sections()
        here = self.screen
        section_number = next(
            (i + 1 for i, s in enumerate(sections) if here.section and s.id == here.section.id), 0
        )
        if here.kind == "review":
            return Progress(len(questions), len(questions), None, len(sections), len(sections))
        done = sum(1 for s in questions if self._order(s.key) < self._order(here.key))
        number = done + (1 if here.kind == "step" else 0)
        return Progress(number, len(questions), here.section, section_number, len(sections))

    def _order(self, key: str) -> int:
        return self._computed().index.get(key, -1)

    @property
    def can_go_back(self) -> bool:
        """False on the first screen only."""
        return self._order(self.screen.key) > 0

    # -- answers -------------------------------------------------------------------------------

    def values_for(self, screen: Screen | None = None) -> dict[str, Any]:
        """The stored answers of a screen's items (for a group screen: the member count)."""
        screen = screen or self.screen
        if screen.step is None:
            return {}
        if screen.step.is_group:
            group_id = screen.step.items[0].id
            return {group_id: len(self._members(group_id))} if group_id in self.answers else {}
        source = self._source(screen)
        return {i.id: source[i.id] for i in screen.step.items if i.id in source}

    def _source(self, screen: Screen, *, create: bool = False) -> dict[str, Any]:
        if screen.member is None or screen.group_step is None:
            if screen.step is not None and screen.section is not None and (
                screen.step.items[0].per_procedure
            ):
                key = LOCAL_PREFIX + screen.section.id
                if create:
                    return cast(dict[str, Any], self.answers.setdefault(key, {}))
                local = self.answers.get(key)
                return local if isinstance(local, dict) else {}
            return self.answers
        members = self._members(screen.group_step.items[0].id)
        return members[screen.member] if screen.member < len(members) else {}

    def is_unknown(self, screen: Screen) -> bool:
        """True when the resident answered 「わからない」 on this screen."""
        values = self.values_for(screen)
        return bool(values) and all(is_unknown(v) for v in values.values())

    def answer(self, values: Mapping[str, Any], *, unknown: bool = False) -> StepOutcome:
        """Validate and store the current screen's answers, then move to the next screen.

        `unknown` records 「わからない／あとで」 for every item of a step that allows it.
        Invalid answers are not stored and the position does not change; the UI keeps what
        was typed and shows the issues next to the fields.
        """
        screen = self.screen
        if screen.kind == "checklist":
            self.position = self._after(screen.key)
            return StepOutcome((), self.position)
        step = screen.step
        if step is None:
            return StepOutcome((), self.position)
        if unknown:
            if not step.unknown_allowed or step.is_group:
                return StepOutcome((Issue(step.items[0].id, "unknown.not_allowed"),),
                                   self.position)
            normalized = {item.id: dict(UNKNOWN_ANSWER) for item in step.items}
        else:
            normalized = {item.id: normalize_answer(item.type, values.get(item.id))
                          for item in step.items}
        issues = validate_step(step, normalized, today=self.today)
        if not issues and not unknown:
            issues = self._failed_checks(screen, normalized)
        if issues:
            return StepOutcome(tuple(issues), self.position)
        self._store(screen, normalized)
        if self.returning_to_review and not self.missing():
            self.returning_to_review = False
            self.position = REVIEW
        else:
            self.position = self._after(screen.key)
        return StepOutcome((), self.position)

    def _failed_checks(self, screen: Screen, values: Mapping[str, Any]) -> list[Issue]:
        step = screen.step
        assert step is not None
        if step.is_group or not step.checks:
            return self._failed_group_checks(screen, values)
        trial = copy.deepcopy(self.answers)
        scope: Scope = MappingScope(trial, self.today)
        if screen.member is not None and screen.group_step is not None:
            member = dict(self._source(screen))
            member.update(values)
            scope = MappingScope(member, self.today, parent=scope)
        elif step.items[0].per_procedure:
            return self._checks_of(step, scope)  # rules do not read per-procedure answers
        else:
            trial.update(values)
        return self._checks_of(step, scope) + self._failed_group_checks(screen, values)

    @staticmethod
    def _checks_of(step: Step, scope: Scope) -> list[Issue]:
        return [Issue(step.items[0].id, "check.failed", {}, check.message)
                for check in step.checks if not evaluate(check.rule, scope)]

    def _failed_group_checks(self, screen: Screen, values: Mapping[str, Any]) -> list[Issue]:
        """A group's own checks (e.g. "at least one child under 18") once its members are known.

        They run on the "how many?" screen only for an empty group, otherwise when the last
        member screen of the group is answered, with that answer included.
        """
        group_step = screen.step if screen.step and screen.step.is_group else screen.group_step
        if group_step is None or not group_step.checks:
            return []
        group_id = group_step.items[0].id
        trial = copy.deepcopy(self.answers)
        if screen.group_step is None:  # the count screen
            if values[group_id]:
                return []
            trial[group_id] = []
        else:
            following = self.screens()[self._order(screen.key) + 1]
            if following.group_step is group_step:
                return []
            assert screen.member is not None
            trial[group_id][screen.member].update(values)
        scope = MappingScope(trial, self.today)
        shown_on = screen.step.items[0].id if screen.step else group_id  # under this field
        return [Issue(shown_on, "check.failed", {}, check.message)
                for check in group_step.checks if not evaluate(check.rule, scope)]

    def _resized(self, group_id: str, count: int) -> list[dict[str, Any]]:
        members = [dict(m) for m in self._members(group_id)][:count]
        members.extend({} for _ in range(count - len(members)))
        return members

    def _store(self, screen: Screen, values: Mapping[str, Any]) -> None:
        step = screen.step
        assert step is not None
        if step.is_group:
            group_id = step.items[0].id
            self.answers[group_id] = self._resized(group_id, values[group_id])
            return
        target = self._source(screen, create=True)
        for item in step.items:
            value = values.get(item.id)
            if value in (None, "", [], {}) and not item.required:
                target.pop(item.id, None)
            else:
                target[item.id] = value
        # A new postal code makes an address chosen for the old one meaningless.
        for other in self._all_steps():
            if other.postal_item and other.postal_item in values:
                chosen = target.get(other.items[0].id)
                if isinstance(chosen, Mapping) and chosen.get("postal_code") != values[
                    other.postal_item
                ]:
                    target.pop(other.items[0].id, None)

    def _all_steps(self) -> list[Step]:
        return [s for section in self.sections() for s in section.steps]

    def _after(self, key: str) -> str:
        screens = self.screens()
        index = self._order(key)
        return screens[min(index + 1, len(screens) - 1)].key

    def back(self) -> str:
        """Go to the previous screen (from the review page: the last question)."""
        self.returning_to_review = False
        screens = self.screens()
        index = self._order(self.screen.key)
        self.position = screens[max(index - 1, 0)].key
        return self.position

    def change(self, key: str) -> None:
        """Jump from the review page to a screen; answering it returns to the review page."""
        if key not in self._computed().index:
            raise KeyError(key)
        self.position = key
        self.returning_to_review = True

    # -- completeness --------------------------------------------------------------------------

    def missing(self) -> list[Screen]:
        """Question screens whose answers are missing or no longer valid."""
        return [s for s in self.screens() if s.kind == "step" and self._invalid(s)]

    def _invalid(self, screen: Screen) -> bool:
        assert screen.step is not None
        return bool(validate_step(screen.step, self.values_for(screen), today=self.today))

    def unknown_screens(self) -> list[Screen]:
        """Screens answered 「わからない」: staff complete them at the counter."""
        return [s for s in self.screens() if s.kind == "step" and self.is_unknown(s)]

    def completeness(self) -> dict[str, tuple[int, int]]:
        """Per section id: (question screens answered, question screens)."""
        result: dict[str, tuple[int, int]] = {}
        for screen in self.screens():
            if screen.kind != "step" or screen.section is None:
                continue
            done, total = result.get(screen.section.id, (0, 0))
            result[screen.section.id] = (done + (not self._invalid(screen)), total + 1)
        return result

    @property
    def complete(self) -> bool:
        """True when every question screen has a valid (or わからない) answer."""
        return not self.missing()

    def _first_incomplete(self) -> str:
        missing = self.missing()
        return missing[0].key if missing else REVIEW

    # -- the linkage data ----------------------------------------------------------------------

    def procedure_data(self) -> list[tuple[Procedure, dict[str, Any]]]:
        """Each procedure of the visit with its linkage data (see `desk.interview.payload`)."""
        scope = self.scope()
        return [(p, procedure_data(p, self.answers, scope)) for p in self.procedures]
