"""The service layer between screens and the store: every operation checks the policy first.

One `DeskService` serves one signed-in person (or the kiosk's anonymous resident). It is
what the UI and the command line call; the policy table in `desk.policy` is enforced here,
not only by hiding buttons, and each sensitive operation leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desk.errors import DeskError
from desk.policy import Action, PolicyError, Role, allowed, require
from desk.store.accounts import Account, AccountStore
from desk.store.crypto import KdfParams
from desk.store.drafts import DRAFT, DraftStore, DraftSummary, LoadedDraft

KIOSK_ACTOR = "kiosk"
CODE_ATTEMPTS = 5  # wrong reference codes in a row before code look-ups pause
CODE_PAUSE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Actor:
    """Who is acting: the device's mode and desk, the role, and the login id if signed in."""

    mode: str
    desk_id: str
    role: Role
    login: str | None = None

    @property
    def audit_name(self) -> str:
        """How the audit log names this actor (never a person's name)."""
        return self.login or KIOSK_ACTOR


@dataclass
class _CodeThrottle:
    failures: int = 0
    paused_until: dt.datetime | None = None


class DeskService:
    """Drafts as one actor may handle them.

    A resident at a kiosk only reaches drafts of their own visit (started in this session or
    reopened with its reference code); volunteers and staff reach their desk's drafts; counter
    staff reach every desk's. 個人番号 items are refused in answers unless the policy allows
    entering them.
    """

    def __init__(self, store: DraftStore, actor: Actor,
                 mynumber_items: Collection[str] = (), *,
                 kdf: KdfParams | None = None) -> None:
        self.store = store
        self._kdf = kdf  # cost of new PIN hashes (None: the default)
        self.actor = actor
        self._mynumber_items = frozenset(mynumber_items)
        self._own: set[str] = set()  # drafts of this session (what a resident may reopen)
        self._codes = _CodeThrottle()

    # -- checks -----------------------------------------------------------------------------

    def may(self, action: Action) -> bool:
        """True when the policy allows `action` (for the UI to show or hide controls)."""
        return allowed(self.actor.mode, self.actor.role, action)

    def _require(self, action: Action) -> None:
        require(self.actor.mode, self.actor.role, action)

    def _require_reach_id(self, draft_id: str) -> None:
        """As `_require_reach`; drafts of this session need no read (autosave is a hot path)."""
        if draft_id not in self._own:
            self._require_reach(self.store.summary(draft_id))

    def _require_reach(self, draft: DraftSummary) -> None:
        """The draft must be within this actor's reach, besides the action being allowed."""
        if draft.id in self._own:
            return
        if self.actor.role is Role.RESIDENT:
            raise PolicyError(action="other_visit", role=self.actor.role.value,
                              mode=self.actor.mode)
        if draft.desk_id != self.actor.desk_id:
            self._require(Action.LIST_OTHER_DESKS)

    def _check_answers(self, answers: Mapping[str, Any]) -> None:
        if self._mynumber_items and not self.may(Action.ENTER_MYNUMBER) and _holds_any(
            answers, self._mynumber_items
        ):
            self._require(Action.ENTER_MYNUMBER)

    # -- drafts -----------------------------------------------------------------------------

    def start(self, procedure_ids: Sequence[str], *, life_event_id: str | None = None,
              position: str) -> DraftSummary:
        """Begin a new draft at this desk."""
        self._require(Action.VIEW_DRAFT)
        draft = self.store.create(procedure_ids, life_event_id=life_event_id,
                                  mode=self.actor.mode, desk_id=self.actor.desk_id,
                                  position=position, actor=self.actor.audit_name)
        self._own.add(draft.id)
        return draft

    def save(self, draft_id: str, answers: dict[str, Any], position: str,
             procedure_ids: Sequence[str] | None = None) -> DraftSummary:
        """Autosave a draft within reach."""
        self._require(Action.VIEW_DRAFT)
        self._require_reach_id(draft_id)
        self._check_answers(answers)
        return self.store.save(draft_id, answers, position, procedure_ids)

    def open(self, draft_id: str) -> LoadedDraft:
        """Open a draft within reach, with its answers."""
        self._require(Action.VIEW_DRAFT)
        self._require_reach_id(draft_id)
        loaded = self.store.load(draft_id)
        self._own.add(draft_id)
        return loaded

    def summary(self, draft_id: str) -> DraftSummary:
        """A draft's metadata (no personal data), within reach."""
        self._require(Action.VIEW_DRAFT)
        draft = self.store.summary(draft_id)
        self._require_reach(draft)
        return draft

    def list_drafts(self, *, all_desks: bool = False) -> list[DraftSummary]:
        """Unfinished drafts of this desk, or of every desk where the policy allows it."""
        if all_desks:
            self._require(Action.LIST_OTHER_DESKS)
            return self.store.list_drafts(statuses=(DRAFT,))
        self._require(Action.LIST_DRAFTS)
        return self.store.list_drafts(mode=self.actor.mode, desk_id=self.actor.desk_id)

    def same_visit(self, procedure_ids: Sequence[str],
                   life_event_id: str | None) -> DraftSummary | None:
        """An unfinished draft reachable here for the same event or procedures, if any.

        Offered instead of starting a duplicate. A resident is only offered their own
        visit's drafts: other residents' drafts are never shown on a kiosk.
        """
        if self.actor.role is Role.RESIDENT:
            candidates = [self.store.summary(d) for d in sorted(self._own)]
            candidates = [d for d in candidates if d.status == DRAFT]
        elif self.may(Action.LIST_DRAFTS):
            candidates = self.list_drafts()
        else:
            return None
        wanted = tuple(procedure_ids)
        for draft in sorted(candidates, key=lambda d: d.updated_at, reverse=True):
            if life_event_id is not None and draft.life_event_id == life_event_id:
                return draft
            if life_event_id is None and draft.life_event_id is None and (
                    draft.procedure_ids == wanted):
                return draft
        return None

    def find_by_code(self, code: str, *, now: dt.datetime | None = None) -> DraftSummary:
        """Reopen a draft by the reference code on its slip.

        A resident or volunteer reaches drafts started at this desk; a draft from another
        desk or kiosk needs `take_over`. Wrong codes in a row pause look-ups briefly, so
        codes cannot be guessed at a kiosk.

        Raises:
            DeskError: ``draft.code_unknown`` or ``draft.code_paused``.
            PolicyError: the draft belongs to another desk and this role may not take it over.
        """
        self._require(Action.VIEW_DRAFT)
        moment = now or dt.datetime.now(dt.UTC)
        throttle = self._codes
        if throttle.paused_until is not None and throttle.paused_until > moment:
            raise DeskError("draft.code_paused")
        draft = self.store.find_by_reference(code)
        if draft is None or draft.status != DRAFT:
            throttle.failures += 1
            if throttle.failures >= CODE_ATTEMPTS:
                throttle.failures, throttle.paused_until = 0, moment + CODE_PAUSE
            raise DeskError("draft.code_unknown")
        throttle.failures = 0
        if draft.desk_id != self.actor.desk_id:
            self._require(Action.TAKE_OVER)
        self._own.add(draft.id)
        return draft

    def take_over(self, code: str) -> DraftSummary:
        """Move a kiosk or desk draft to this desk by its reference code (audited)."""
        self._require(Action.TAKE_OVER)
        draft = self.find_by_code(code)
        if draft.desk_id == self.actor.desk_id:
            return draft
        moved = self.store.move_to_desk(draft.id, mode=self.actor.mode,
                                        desk_id=self.actor.desk_id,
                                        actor=self.actor.audit_name)
        self._own.add(moved.id)
        return moved

    def adopt_handoff(self, procedure_ids: Sequence[str], answers: dict[str, Any], *,
                      position: str, source_device: str, source_draft: str) -> DraftSummary:
        """Take over a visit a kiosk or desk handed off through the gateway (by its code).

        The answers become a new draft at this desk (the kiosk's draft stays there, so its
        application id is never reused), audited as a take-over naming the source by ids.
        """
        self._require(Action.TAKE_OVER)
        self._check_answers(answers)
        draft = self.store.create(procedure_ids, mode=self.actor.mode,
                                  desk_id=self.actor.desk_id, position=position,
                                  actor=self.actor.audit_name)
        self._own.add(draft.id)
        saved = self.store.save(draft.id, answers, position, procedure_ids)
        self.store.audit_log().append(
            actor=self.actor.audit_name, action="draft.taken_over", subject=draft.id,
            detail={"from_device": source_device, "from_draft": source_draft})
        return saved

    def reveal_mynumber(self, draft_id: str) -> None:
        """Record that a staff member revealed a stored 個人番号 (the UI then unmasks it)."""
        self._require(Action.REVEAL_MYNUMBER)
        self._require_reach_id(draft_id)
        self.store.audit_log().append(actor=self.actor.audit_name, action="mynumber.revealed",
                                      subject=draft_id)

    def submit(self, draft_id: str, payload: dict[str, Any]) -> DraftSummary:
        """Finalize an application: status, outbox row and audit entry in one transaction."""
        self._require(Action.SUBMIT)
        self._require_reach_id(draft_id)
        self.store.finalize(draft_id, payload, actor=self.actor.audit_name)
        return self.store.summary(draft_id)

    def print_draft(self, draft_id: str, document: str) -> LoadedDraft:
        """Open a draft for printing `document` (a form or slip id) and record it."""
        self._require(Action.PRINT)
        self._require_reach_id(draft_id)
        loaded = self.store.load(draft_id)
        self.store.audit_log().append(actor=self.actor.audit_name, action="draft.printed",
                                      subject=draft_id, detail={"document": document})
        return loaded

    def delete(self, draft_id: str) -> None:
        """Shred a draft within reach."""
        self._require(Action.DELETE)
        self._require_reach_id(draft_id)
        self.store.discard(draft_id, actor=self.actor.audit_name)
        self._own.discard(draft_id)

    def require_export(self) -> None:
        """Check before a backup or any copy of the store leaves the device."""
        self._require(Action.EXPORT)

    def add_account(self, login: str, role: Role, secret: str) -> Account:
        """Create a staff or volunteer sign-in (supervisors only)."""
        self._require(Action.MANAGE_ACCOUNTS)
        return self._accounts().add(login, role, secret, actor=self.actor.audit_name)

    def disable_account(self, login: str) -> None:
        """Stop an account from signing in (supervisors only)."""
        self._require(Action.MANAGE_ACCOUNTS)
        self._accounts().disable(login, actor=self.actor.audit_name)

    def reset_pin(self, login: str, secret: str) -> None:
        """Give an account a new PIN, to be changed at the next sign-in (supervisors only)."""
        self._require(Action.MANAGE_ACCOUNTS)
        self._accounts().reset_pin(login, secret, actor=self.actor.audit_name)

    def _accounts(self) -> AccountStore:
        return AccountStore(self.store.engine, self._kdf)

    def forget_session(self) -> None:
        """End of a resident's visit: this session no longer reaches its drafts."""
        self._own.clear()


def _holds_any(value: Any, keys: frozenset[str]) -> bool:
    """True when any of `keys` holds a non-empty value anywhere in a nested answers dict."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in keys and inner not in (None, "", {}):
                return True
            if _holds_any(inner, keys):
                return True
    elif isinstance(value, list):
        return any(_holds_any(item, keys) for item in value)
    return False
