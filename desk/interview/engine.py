"""The interview: one question per step, answers kept visit-wide, back/next/review navigation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from desk.catalog.model import Procedure, Step
from desk.errors import FieldError
from desk.fields import address, kana
from desk.interview.issues import Issue
from desk.interview.validation import validate_step

REVIEW = "__review__"  # the position after the last step: the check-your-answers page
FULL_WIDTH_SPACE = "\u3000"


@dataclass(frozen=True)
class StepOutcome:
    """What happened when a step was answered: the issues, and where the interview is now."""

    issues: tuple[Issue, ...]
    position: str

    @property
    def accepted(self) -> bool:
        """True when the answers were stored and the interview moved on."""
        return not self.issues


def normalize_answer(item_type: str, value: Any) -> Any:
    """Bring an answer to its stored form (katakana furigana, 7-digit postal code, trimmed text)."""
    if item_type in ("name", "kana_name") and isinstance(value, Mapping):
        parts = {k: str(value.get(k, "")).strip() for k in ("family", "given")}
        if item_type == "kana_name":
            parts = {k: kana.to_katakana(v) for k, v in parts.items()}
        return parts
    if item_type == "postal_code" and isinstance(value, str):
        digits = value.strip()
        try:
            return address.normalize_postal_code(digits)
        except FieldError:  # kept as typed: validation reports the format problem
            return digits
    if isinstance(value, str):
        return value.strip()
    return value


class Interview:
    """Walks the steps of one procedure and keeps the answers.

    The position is a step id, or `REVIEW` once every step has been answered. After a
    「変更」 from the review page, answering that step returns to the review page.
    """

    def __init__(
        self,
        procedure: Procedure,
        answers: Mapping[str, Any] | None = None,
        position: str | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        self.procedure = procedure
        self.answers: dict[str, Any] = dict(answers or {})
        self._today = today
        known = {s.id for s in procedure.steps} | {REVIEW}
        self.position = position if position in known else procedure.steps[0].id
        self.returning_to_review = False

    @property
    def today(self) -> dt.date:
        """The date validation compares against (injectable for tests)."""
        return self._today or dt.date.today()

    @property
    def at_review(self) -> bool:
        """True on the check-your-answers page."""
        return self.position == REVIEW

    @property
    def current(self) -> Step | None:
        """The step being asked, or None on the review page."""
        return None if self.at_review else self.procedure.step(self.position)

    def progress(self) -> tuple[int, int]:
        """Return (number of the current step, number of steps); the review page counts as done."""
        total = len(self.procedure.steps)
        if self.at_review:
            return total, total
        return self.procedure.step_index(self.position) + 1, total

    def values_for(self, step: Step) -> dict[str, Any]:
        """Return the stored answers of a step's items."""
        return {item.id: self.answers[item.id] for item in step.items if item.id in self.answers}

    def answer(self, values: Mapping[str, Any]) -> StepOutcome:
        """Validate and store the current step's answers, then move to the next step.

        Invalid answers are not stored and the position does not change; the UI keeps what
        was typed and shows the issues next to the fields.
        """
        step = self.current
        if step is None:
            return StepOutcome((), self.position)
        normalized = {
            item.id: normalize_answer(item.type, values.get(item.id)) for item in step.items
        }
        issues = validate_step(step, normalized, today=self.today)
        if issues:
            return StepOutcome(tuple(issues), self.position)
        self._store(step, normalized)
        if self.returning_to_review and self._complete_up_to_review():
            self.returning_to_review = False
            self.position = REVIEW
        else:
            self.position = self._next_position(step)
        return StepOutcome((), self.position)

    def _store(self, step: Step, values: Mapping[str, Any]) -> None:
        for item in step.items:
            value = values.get(item.id)
            if value in (None, "") and not item.required:
                self.answers.pop(item.id, None)
            else:
                self.answers[item.id] = value
        # A new postal code makes an address chosen for the old one meaningless.
        for later in self.procedure.steps:
            if later.postal_item and later.postal_item in values:
                chosen = self.answers.get(later.items[0].id)
                if isinstance(chosen, Mapping) and chosen.get("postal_code") != values[
                    later.postal_item
                ]:
                    self.answers.pop(later.items[0].id, None)

    def _next_position(self, step: Step) -> str:
        index = self.procedure.step_index(step.id)
        if index + 1 < len(self.procedure.steps):
            return self.procedure.steps[index + 1].id
        return REVIEW

    def _complete_up_to_review(self) -> bool:
        return not self.missing_steps()

    def back(self) -> str:
        """Go to the previous step (from the review page: the last step)."""
        self.returning_to_review = False
        if self.at_review:
            self.position = self.procedure.steps[-1].id
        else:
            index = self.procedure.step_index(self.position)
            self.position = self.procedure.steps[max(index - 1, 0)].id
        return self.position

    @property
    def can_go_back(self) -> bool:
        """False on the first step only."""
        return self.position != self.procedure.steps[0].id

    def change(self, step_id: str) -> None:
        """Jump from the review page to a step; answering it returns to the review page."""
        self.procedure.step(step_id)  # KeyError for an unknown step
        self.position = step_id
        self.returning_to_review = True

    def missing_steps(self) -> list[Step]:
        """Return the steps whose answers are missing or no longer valid."""
        return [
            step
            for step in self.procedure.steps
            if validate_step(step, self.values_for(step), today=self.today)
        ]

    @property
    def complete(self) -> bool:
        """True when every step has a valid answer."""
        return not self.missing_steps()

    def payload_data(self) -> dict[str, Any]:
        """Return the answers as linkage data keyed by 基本データリスト item ids.

        Names get a full-width space between family and given name, dates stay ISO
        (YYYY-MM-DD, Western), and the chosen address splits into its parts.
        """
        data: dict[str, Any] = {}
        for step in self.procedure.steps:
            for item in step.items:
                if item.id not in self.answers:
                    continue
                value = self.answers[item.id]
                if item.type in ("name", "kana_name"):
                    data[item.id] = f"{value['family']}{FULL_WIDTH_SPACE}{value['given']}"
                elif item.type == "address_candidate":
                    data[f"{item.id}_todofuken"] = value["prefecture"]
                    data[f"{item.id}_shikuchoson"] = value["city"]
                    data[f"{item.id}_choaza"] = value.get("town", "")
                    data[f"{item.id}_shikuchosonkodo"] = value.get("jis_code", "")
                else:
                    data[item.id] = value
        return data
