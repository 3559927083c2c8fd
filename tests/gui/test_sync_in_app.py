"""Sending seen from the app: the staff status line, and handoffs from a kiosk to a counter."""

from __future__ import annotations

import re
from pathlib import Path

from desk.config import STORE_FILE
from desk.policy import Role
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.gateway.server import RunningGateway
from sync.worker import SyncState
from tests.gui.conftest import AccountFactory, WindowFactory
from ui import demo_walk as walk
from ui.main_window import MainWindow
from ui.screens.step_views import NameView
from ui.user_input import click, type_text, wait_until

CODE = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}")


def _sign_in(window: MainWindow, login: str, pin: str) -> None:
    type_text(window.sign_in.login, login)
    type_text(window.sign_in.pin, pin)
    click(window.sign_in.next_button)
    assert window.stack.currentWidget() is window.home


def _enter_code(window: MainWindow, code: str) -> None:
    click(window.home.code_button)
    type_text(window.resume_code.field, code)
    click(window.resume_code.next_button)


def test_counter_staff_see_what_waits_and_residents_see_nothing(
    make_window: WindowFactory, add_account: AccountFactory, gateway: RunningGateway,
) -> None:
    kiosk = make_window(gateway)
    wait_until(lambda: kiosk.sync_report is not None)
    assert not kiosk.sync_status.isVisible()
    kiosk.close()

    add_account("tanaka", Role.STAFF, "2580")
    counter = make_window(gateway, mode="counter")
    assert not counter.sync_status.isVisible()  # nobody signed in yet
    _sign_in(counter, "tanaka", "2580")
    wait_until(lambda: counter.sync_state is SyncState.IDLE)
    assert counter.sync_status.isVisible()
    assert counter.sync_status.text() == "送信待ち：0件　要確認：0件"
    click(counter.top_bar.sign_out_button)
    assert not counter.sync_status.isVisible()


def test_an_unregistered_counter_says_sending_is_off(
    make_window: WindowFactory, add_account: AccountFactory,
) -> None:
    add_account("tanaka", Role.STAFF, "2580")
    counter = make_window(None, mode="counter")
    _sign_in(counter, "tanaka", "2580")
    assert counter.sync_worker is None
    assert "送信はオフです" in counter.sync_status.text()


def test_a_kiosk_visit_saved_for_later_is_taken_over_at_another_devices_counter(
    make_window: WindowFactory, add_account: AccountFactory, gateway: RunningGateway,
    tmp_path: Path, device_keys: MemoryKeyStore,
) -> None:
    kiosk = make_window(gateway, profile=tmp_path / "kiosk")
    click(kiosk.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(kiosk)
    click(kiosk.top_bar.later_button)  # 「あとで続ける」: the pre-fill goes to the gateway
    code = kiosk.saved.code.text()
    assert CODE.fullmatch(code)
    assert kiosk.tasks.wait()
    click(kiosk.saved.next_button)
    kiosk.close()

    counter_profile = tmp_path / "counter"
    add_account("tanaka", Role.STAFF, "2580", profile=counter_profile)
    counter = make_window(gateway, mode="counter", profile=counter_profile)
    _sign_in(counter, "tanaka", "2580")
    wait_until(lambda: counter.sync_report is not None)
    _enter_code(counter, code.replace("-", "").lower())
    wait_until(lambda: counter.stack.currentWidget() is counter.question)
    draft = counter.visit.draft
    assert draft is not None and draft.desk_id == "counter-1"
    view = counter.question.view
    assert isinstance(view, NameView)  # the first step, with the resident's answers
    assert (view.family.edit.text(), view.given.edit.text()) == (walk.FAMILY, walk.GIVEN)

    store = DraftStore(counter_profile / STORE_FILE, device_keys)
    try:
        (taken,) = [e for e in store.audit_log().entries() if e.action == "draft.taken_over"]
    finally:
        store.close()
    assert taken.actor == "tanaka" and taken.subject == draft.id
    assert taken.detail["from_device"] == "KIOSK-TEST"


def test_a_code_neither_here_nor_at_the_gateway_is_unknown(
    make_window: WindowFactory, add_account: AccountFactory, gateway: RunningGateway,
) -> None:
    add_account("tanaka", Role.STAFF, "2580")
    counter = make_window(gateway, mode="counter")
    _sign_in(counter, "tanaka", "2580")
    wait_until(lambda: counter.sync_report is not None)
    _enter_code(counter, "ABCD-EFGH")
    wait_until(lambda: counter._picking_up is None)
    assert counter.stack.currentWidget() is counter.resume_code
    assert "見つかりません" in counter.resume_code.message.text() \
        or "ありません" in counter.resume_code.message.text()


def test_a_code_not_here_while_the_gateway_is_down_says_so(
    make_window: WindowFactory, add_account: AccountFactory,
) -> None:
    add_account("tanaka", Role.STAFF, "2580")
    counter = make_window("http://127.0.0.1:9", mode="counter")
    _sign_in(counter, "tanaka", "2580")
    _enter_code(counter, "ABCD-EFGH")
    wait_until(lambda: "接続できません" in counter.resume_code.message.text())
    assert counter.stack.currentWidget() is counter.resume_code
