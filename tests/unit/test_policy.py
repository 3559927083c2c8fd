"""The policy table run whole at the service layer (acceptance test 14).

Every mode × role × action is tried through `DeskService` on a real store: allowed pairs work,
forbidden pairs raise PolicyError and leave the store exactly as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desk.config import MODES
from desk.errors import DeskError
from desk.policy import TABLE, Action, PolicyError, Role, allowed
from desk.service import Actor, DeskService
from desk.store.crypto import KdfParams
from desk.store.drafts import DraftStore, DraftSummary
from desk.store.keys import MemoryKeyStore

MY_NUMBER = "621498320257"
CHEAP = KdfParams.new("scrypt", {"n": 1024, "r": 8, "p": 1})
Operation = Callable[[DeskService, DraftSummary, DraftSummary], object]

# Each action's operation, and every action that operation needs (the action itself first).
OPERATIONS: dict[Action, tuple[Operation, tuple[Action, ...]]] = {
    Action.VIEW_DRAFT: (lambda s, own, other: s.open(own.id), (Action.VIEW_DRAFT,)),
    Action.LIST_DRAFTS: (lambda s, own, other: s.list_drafts(), (Action.LIST_DRAFTS,)),
    Action.LIST_OTHER_DESKS: (lambda s, own, other: s.list_drafts(all_desks=True),
                              (Action.LIST_OTHER_DESKS,)),
    Action.ENTER_MYNUMBER: (
        lambda s, own, other: s.save(own.id, {"kojin_bango": MY_NUMBER}, "kojin_bango"),
        (Action.ENTER_MYNUMBER, Action.VIEW_DRAFT)),
    Action.REVEAL_MYNUMBER: (lambda s, own, other: s.reveal_mynumber(own.id),
                             (Action.REVEAL_MYNUMBER,)),
    Action.SUBMIT: (lambda s, own, other: s.submit(own.id, {"application_id": own.id}),
                    (Action.SUBMIT,)),
    Action.TAKE_OVER: (lambda s, own, other: s.take_over(other.reference_code),
                       (Action.TAKE_OVER, Action.VIEW_DRAFT)),
    Action.EXPORT: (lambda s, own, other: s.require_export(), (Action.EXPORT,)),
    Action.DELETE: (lambda s, own, other: s.delete(own.id), (Action.DELETE,)),
    Action.PRINT: (lambda s, own, other: s.print_draft(own.id, "form"), (Action.PRINT,)),
    Action.MANAGE_ACCOUNTS: (
        lambda s, own, other: s.add_account("helper-02", Role.VOLUNTEER, "2580"),
        (Action.MANAGE_ACCOUNTS,)),
}
CELLS = list(itertools.product(MODES, Role, Action))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


def _setup(store: DraftStore, mode: str, role: Role) -> tuple[DeskService, DraftSummary,
                                                               DraftSummary]:
    login = None if role is Role.RESIDENT else "staff-01"
    service = DeskService(store, Actor(mode, "desk-a", role, login), ["kojin_bango"], kdf=CHEAP)
    if service.may(Action.VIEW_DRAFT):
        own = service.start(["juminhyo-utsushi"], position="shimei")
    else:  # a draft of this desk, made before this person signed in
        own = store.create(["juminhyo-utsushi"], mode=mode, desk_id="desk-a", position="a")
    other = store.create(["juminhyo-utsushi"], mode="kiosk", desk_id="kiosk-lobby",
                         position="a")
    return service, own, other


def _snapshot(store: DraftStore) -> tuple[object, ...]:
    drafts = store.list_drafts(statuses=("DRAFT", "READY", "DISCARDED"))
    return (store.audit_log().head(), sorted((d.id, d.status, d.desk_id) for d in drafts))


def test_every_action_has_an_operation_that_needs_it() -> None:
    assert set(OPERATIONS) == set(Action)
    for action, (_operation, needs) in OPERATIONS.items():
        assert needs[0] is action


def test_table_covers_every_mode_and_role() -> None:
    assert set(TABLE) == set(MODES)
    for roles in TABLE.values():
        assert set(roles) == set(Role)


@pytest.mark.parametrize(("mode", "role", "action"), CELLS,
                         ids=[f"{m}-{r.value}-{a.value}" for m, r, a in CELLS])
def test_table_cell_is_enforced_by_the_service(store: DraftStore, mode: str, role: Role,
                                               action: Action) -> None:
    service, own, other = _setup(store, mode, role)
    operation, needs = OPERATIONS[action]
    expected = all(allowed(mode, role, need) for need in needs)
    before = _snapshot(store)
    if expected:
        operation(service, own, other)
        return
    with pytest.raises(PolicyError) as refused:
        operation(service, own, other)
    assert refused.value.params["mode"] == mode
    assert _snapshot(store) == before  # refused before anything was written


def test_mynumber_never_allowed_outside_counter() -> None:
    for mode, role in itertools.product(("kiosk", "desk"), Role):
        assert not allowed(mode, role, Action.ENTER_MYNUMBER)
        assert not allowed(mode, role, Action.REVEAL_MYNUMBER)


def test_resident_reaches_only_their_own_visit(store: DraftStore) -> None:
    resident = DeskService(store, Actor("kiosk", "lobby", Role.RESIDENT))
    mine = resident.start(["juminhyo-utsushi"], position="a")
    earlier = store.create(["juminhyo-utsushi"], mode="kiosk", desk_id="lobby", position="a")
    assert resident.open(mine.id).summary.id == mine.id
    with pytest.raises(PolicyError):
        resident.open(earlier.id)  # same kiosk, another resident's visit
    with pytest.raises(PolicyError):
        resident.list_drafts()
    # Walking back with the slip: the code reopens it.
    assert resident.find_by_code(earlier.reference_code.lower().replace("-", "")).id == (
        earlier.id)
    assert resident.open(earlier.id).summary.id == earlier.id
    resident.forget_session()
    with pytest.raises(PolicyError):
        resident.open(mine.id)


def test_wrong_codes_pause_lookups(store: DraftStore) -> None:
    resident = DeskService(store, Actor("kiosk", "lobby", Role.RESIDENT))
    real = store.create(["juminhyo-utsushi"], mode="kiosk", desk_id="lobby", position="a")
    for _ in range(5):
        with pytest.raises(DeskError, match=r"draft\.code_unknown"):
            resident.find_by_code("ZZZZ-ZZZZ")
    with pytest.raises(DeskError, match=r"draft\.code_paused"):
        resident.find_by_code(real.reference_code)


def test_volunteer_cannot_reach_another_desk_but_counter_staff_take_it_over(
    store: DraftStore,
) -> None:
    kiosk_draft = store.create(["juminhyo-utsushi"], mode="kiosk", desk_id="lobby",
                               position="a")
    volunteer = DeskService(store, Actor("desk", "desk-7", Role.VOLUNTEER, "vol-01"))
    with pytest.raises(PolicyError):
        volunteer.open(kiosk_draft.id)
    with pytest.raises(PolicyError):
        volunteer.find_by_code(kiosk_draft.reference_code)
    staff = DeskService(store, Actor("counter", "counter-3", Role.STAFF, "staff-01"))
    moved = staff.take_over(kiosk_draft.reference_code)
    assert (moved.desk_id, moved.mode) == ("counter-3", "counter")
    actions = [e.action for e in store.audit_log().entries(subject=kiosk_draft.id)]
    assert actions == ["draft.created", "draft.taken_over"]


def test_offer_the_existing_draft_instead_of_a_duplicate(store: DraftStore) -> None:
    volunteer = DeskService(store, Actor("desk", "desk-7", Role.VOLUNTEER, "vol-01"))
    first = volunteer.start(["juminhyo-utsushi"], position="a")
    assert volunteer.same_visit(["juminhyo-utsushi"], None) == first
    assert volunteer.same_visit(["tennyu"], None) is None
    resident = DeskService(store, Actor("desk", "desk-7", Role.RESIDENT))
    assert resident.same_visit(["juminhyo-utsushi"], None) is None  # never another's draft
