"""One resident's visit: the interview plus durable autosave of every answered screen."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from desk.catalog.model import Catalog
from desk.errors import DeskError
from desk.interview.engine import CHECKLIST, REVIEW, Interview, StepOutcome
from desk.policy import Action
from desk.service import DeskService
from desk.store.drafts import DraftSummary


def mynumber_items(catalog: Catalog) -> frozenset[str]:
    """Ids of the catalog's 個人番号 items (the service refuses them where policy says so)."""
    return frozenset(i.id for i in catalog.items.values() if i.type == "mynumber")


class VisitSession:
    """Drives an interview and seals every accepted answer into the store before moving on.

    Everything goes through the `DeskService`, so the policy of the signed-in role holds.
    If saving fails (disk full, I/O error) the interview goes back to where it was, so the
    screen still shows what was typed and nothing already saved is lost; the StoreError
    reaches the caller to be shown.
    """

    def __init__(self, service: DeskService, catalog: Catalog) -> None:
        self.service = service
        self._catalog = catalog
        self.interview: Interview | None = None
        self.draft: DraftSummary | None = None

    def existing(self, *, procedure_id: str | None = None,
                 event_id: str | None = None) -> DraftSummary | None:
        """An unfinished draft for the same procedure or event that could be continued."""
        procedures = (procedure_id,) if procedure_id else ()
        draft = self.service.same_visit(procedures, event_id)
        return draft if draft is not None and self.knows(draft) else None

    def start(self, procedure_id: str) -> Interview:
        """Begin a new draft of one procedure; its application id is fixed now."""
        return self._begin(Interview(self._catalog, procedure_ids=(procedure_id,)))

    def start_event(self, event_id: str) -> Interview:
        """Begin a new draft from a life event: its questions first, then its procedures."""
        return self._begin(Interview(self._catalog, event_id=event_id))

    def _begin(self, interview: Interview) -> Interview:
        self.draft = self.service.start(
            [p.id for p in interview.procedures],
            life_event_id=interview.event.id if interview.event else None,
            position=interview.position,
        )
        self.interview = interview
        return interview

    def resume_by_code(self, code: str) -> Interview:
        """Reopen a draft from the reference code on a slip (see DeskService.find_by_code)."""
        return self.resume(self.service.find_by_code(code).id)

    def resume(self, draft_id: str) -> Interview:
        """Open a saved draft on the screen where it was left, with its answers."""
        loaded = self.service.open(draft_id)
        summary = loaded.summary
        self.interview = Interview(
            self._catalog, event_id=summary.life_event_id,
            procedure_ids=() if summary.life_event_id else summary.procedure_ids,
            answers=loaded.answers, position=summary.position,
        )
        self.draft = summary
        return self.interview

    def take_over_handoff(self, procedure_ids: Sequence[str], answers: dict[str, Any], *,
                          source_device: str, source_draft: str) -> Interview:
        """Open a visit handed off by a kiosk or desk as a new draft here (counter staff).

        Procedures this catalog does not have are left out; none left is ``draft.code_unknown``.
        """
        known = tuple(p for p in procedure_ids if p in self._catalog.procedures)
        if not known:
            raise DeskError("draft.code_unknown")
        interview = Interview(self._catalog, procedure_ids=known, answers=answers)
        self.draft = self.service.adopt_handoff(
            known, interview.answers, position=interview.position,
            source_device=source_device, source_draft=source_draft)
        self.interview = interview
        return interview

    def handoff(self) -> tuple[DraftSummary, list[str], dict[str, Any]] | None:
        """The open draft, its procedures and answers, to hand off to a counter (None: no
        visit open)."""
        if self.draft is None or self.interview is None:
            return None
        procedures = [p.id for p in self.interview.procedures]
        return self.draft, procedures, copy.deepcopy(self.interview.answers)

    def resumable(self) -> list[DraftSummary]:
        """Unfinished drafts of this desk whose procedures and event the catalog still has."""
        if not self.service.may(Action.LIST_DRAFTS):
            return []  # a kiosk never lists drafts: other residents' visits stay out of sight
        return [d for d in self.service.list_drafts() if self.knows(d)]

    def knows(self, draft: DraftSummary) -> bool:
        """True when the catalog still has everything the draft was started from."""
        if draft.life_event_id:
            return draft.life_event_id in self._catalog.life_events
        return bool(draft.procedure_ids) and all(
            p in self._catalog.procedures for p in draft.procedure_ids)

    def answer(self, values: dict[str, Any], *, unknown: bool = False) -> StepOutcome:
        """Answer the current step; accepted answers are saved durably before returning.

        `unknown` records 「わからない／あとで」 where the step allows it.
        """
        interview = self._require()
        before = self._snapshot()
        outcome = interview.answer(values, unknown=unknown)
        if outcome.accepted:
            self._save_or_restore(before)
        return outcome

    def back(self) -> None:
        """Go one step back and remember the position."""
        before = self._snapshot()
        self._require().back()
        self._save_or_restore(before)

    def change(self, key: str) -> None:
        """From the check page, go to one screen; answering it returns to the check page."""
        self._require().change(key)

    def finalize(self, payload: dict[str, Any]) -> DraftSummary:
        """Freeze the application and queue it for delivery (one transaction)."""
        draft = self._require_draft()
        self.draft = self.service.submit(draft.id, payload)
        return self.draft

    def refresh(self) -> DraftSummary:
        """Re-read the draft's metadata (status, 受付番号) from the store."""
        self.draft = self.service.summary(self._require_draft().id)
        return self.draft

    def end(self) -> None:
        """Forget the resident's answers in memory (the sealed draft stays in the store)."""
        self.interview = None
        self.draft = None

    def discard(self) -> None:
        """Shred the open draft (the resident or volunteer chose to start over)."""
        draft = self._require_draft()
        self.service.delete(draft.id)
        self.end()

    def _snapshot(self) -> tuple[dict[str, Any], str, bool]:
        interview = self._require()
        return (copy.deepcopy(interview.answers), interview.position,
                interview.returning_to_review)

    def _save_or_restore(self, before: tuple[dict[str, Any], str, bool]) -> None:
        """Save; if that fails, put the interview back so screen and store agree."""
        try:
            self._save()
        except Exception:
            interview = self._require()
            interview.answers, interview.position, interview.returning_to_review = before
            raise

    def _save(self) -> None:
        interview = self._require()
        self.draft = self.service.save(self._require_draft().id, interview.answers,
                                       interview.position, [p.id for p in interview.procedures])

    def _require(self) -> Interview:
        if self.interview is None:
            raise RuntimeError("no interview running")
        return self.interview

    def _require_draft(self) -> DraftSummary:
        if self.draft is None:
            raise RuntimeError("no draft open")
        return self.draft


__all__ = ["CHECKLIST", "REVIEW", "VisitSession"]
