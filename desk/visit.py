"""One resident's visit: the interview plus durable autosave of every answered screen."""

from __future__ import annotations

import copy
from typing import Any

from desk.catalog.model import Catalog
from desk.config import DeviceConfig
from desk.interview.engine import CHECKLIST, REVIEW, Interview, StepOutcome
from desk.store.drafts import DraftStore, DraftSummary


class VisitSession:
    """Drives an interview and seals every accepted answer into the store before moving on.

    If saving fails (disk full, I/O error) the interview goes back to where it was, so the
    screen still shows what was typed and nothing already saved is lost; the StoreError
    reaches the caller to be shown.
    """

    def __init__(self, store: DraftStore, catalog: Catalog, device: DeviceConfig) -> None:
        self._store = store
        self._catalog = catalog
        self._device = device
        self.interview: Interview | None = None
        self.draft: DraftSummary | None = None

    def start(self, procedure_id: str) -> Interview:
        """Begin a new draft of one procedure; its application id is fixed now."""
        return self._begin(Interview(self._catalog, procedure_ids=(procedure_id,)))

    def start_event(self, event_id: str) -> Interview:
        """Begin a new draft from a life event: its questions first, then its procedures."""
        return self._begin(Interview(self._catalog, event_id=event_id))

    def _begin(self, interview: Interview) -> Interview:
        self.draft = self._store.create(
            [p.id for p in interview.procedures],
            life_event_id=interview.event.id if interview.event else None,
            mode=self._device.mode, desk_id=self._device.desk_id, position=interview.position,
        )
        self.interview = interview
        return interview

    def resume(self, draft_id: str) -> Interview:
        """Open a saved draft on the screen where it was left, with its answers."""
        loaded = self._store.load(draft_id)
        summary = loaded.summary
        self.interview = Interview(
            self._catalog, event_id=summary.life_event_id,
            procedure_ids=() if summary.life_event_id else summary.procedure_ids,
            answers=loaded.answers, position=summary.position,
        )
        self.draft = summary
        return self.interview

    def resumable(self) -> list[DraftSummary]:
        """Unfinished drafts of this desk whose procedures and event the catalog still has."""
        return [
            d for d in self._store.resumable(mode=self._device.mode, desk_id=self._device.desk_id)
            if self.knows(d)
        ]

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
        self._store.finalize(draft.id, payload)
        self.draft = self._store.summary(draft.id)
        return self.draft

    def refresh(self) -> DraftSummary:
        """Re-read the draft's metadata (status, 受付番号) from the store."""
        self.draft = self._store.summary(self._require_draft().id)
        return self.draft

    def end(self) -> None:
        """Forget the resident's answers in memory (the sealed draft stays in the store)."""
        self.interview = None
        self.draft = None

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
        self.draft = self._store.save(self._require_draft().id, interview.answers,
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
