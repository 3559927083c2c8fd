"""What each device mode and signed-in role may do: one table, checked by the service layer.

The mode is fixed at enrolment (kiosk, desk, counter); the role comes from signing in
(volunteer, staff, supervisor), or is the kiosk's anonymous resident. The table below is the
whole policy: the UI only hides what the service layer refuses anyway.
"""

from __future__ import annotations

from enum import StrEnum

from desk.errors import DeskError


class Role(StrEnum):
    """Who is using the device."""

    RESIDENT = "resident"  # the kiosk's anonymous resident: no sign-in
    VOLUNTEER = "volunteer"
    STAFF = "staff"
    SUPERVISOR = "supervisor"


class Action(StrEnum):
    """Everything the policy decides."""

    VIEW_DRAFT = "view_draft"  # start, open, continue and save a draft of one's own desk
    LIST_DRAFTS = "list_drafts"  # the list of this desk's unfinished drafts
    LIST_OTHER_DESKS = "list_other_desks"  # drafts started at other desks and kiosks
    ENTER_MYNUMBER = "enter_mynumber"  # type a 個人番号 into a form
    REVEAL_MYNUMBER = "reveal_mynumber"  # show a stored 個人番号 unmasked (audited)
    SUBMIT = "submit"  # finalize an application and queue it for delivery
    TAKE_OVER = "take_over"  # pick up a kiosk or desk draft by its reference code
    EXPORT = "export"  # backups and any copy of the store leaving the device
    DELETE = "delete"  # shred a draft
    PRINT = "print"  # print a filled form or slip
    MANAGE_ACCOUNTS = "manage_accounts"  # add, disable and reset staff and volunteer sign-ins


class PolicyError(DeskError):
    """The signed-in role may not do this on this device; nothing was done."""

    message_id = "policy.denied"


A = Action
_RESIDENT = {A.VIEW_DRAFT, A.SUBMIT, A.PRINT, A.DELETE}  # own visit only (see DeskService)
_VOLUNTEER = {A.VIEW_DRAFT, A.LIST_DRAFTS, A.SUBMIT, A.PRINT, A.DELETE}
_COUNTER_STAFF = {A.VIEW_DRAFT, A.LIST_DRAFTS, A.LIST_OTHER_DESKS, A.ENTER_MYNUMBER,
                  A.REVEAL_MYNUMBER, A.SUBMIT, A.TAKE_OVER, A.PRINT, A.DELETE}

# mode → role → allowed actions. Anything not listed is refused.
TABLE: dict[str, dict[Role, frozenset[Action]]] = {
    # A lobby kiosk serves one anonymous resident at a time: their own visit, nothing else.
    # Staff only come to a kiosk to maintain it.
    "kiosk": {
        Role.RESIDENT: frozenset(_RESIDENT),
        Role.VOLUNTEER: frozenset(),
        Role.STAFF: frozenset(),
        Role.SUPERVISOR: frozenset({A.EXPORT, A.MANAGE_ACCOUNTS}),
    },
    # A volunteer's laptop: the desk's own drafts; never a 個人番号, never other desks.
    "desk": {
        Role.RESIDENT: frozenset(),
        Role.VOLUNTEER: frozenset(_VOLUNTEER),
        Role.STAFF: frozenset(_VOLUNTEER),
        Role.SUPERVISOR: frozenset(_VOLUNTEER | {A.EXPORT, A.MANAGE_ACCOUNTS}),
    },
    # The municipal counter: staff see every desk's drafts, take over hand-offs, and are
    # the only ones who handle 個人番号. Volunteers helping at a counter only view and print.
    "counter": {
        Role.RESIDENT: frozenset(),
        Role.VOLUNTEER: frozenset({A.VIEW_DRAFT, A.LIST_DRAFTS, A.PRINT}),
        Role.STAFF: frozenset(_COUNTER_STAFF),
        Role.SUPERVISOR: frozenset(_COUNTER_STAFF | {A.EXPORT, A.MANAGE_ACCOUNTS}),
    },
}


def allowed(mode: str, role: Role, action: Action) -> bool:
    """True when the table allows `action` for `role` on a device in `mode`."""
    return action in TABLE.get(mode, {}).get(role, frozenset())


def require(mode: str, role: Role, action: Action) -> None:
    """Refuse a forbidden action.

    Raises:
        PolicyError: with the action as parameter (no personal data).
    """
    if not allowed(mode, role, action):
        raise PolicyError(action=action.value, role=role.value, mode=mode)
