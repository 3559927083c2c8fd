"""Retention runs when the app starts, off the GUI thread: an old kiosk visit is shredded."""

from __future__ import annotations

import datetime as dt

from pytestqt.qtbot import QtBot

from desk.store.drafts import EXPIRED
from tests.gui.conftest import WindowFactory
from ui import demo_walk as walk
from ui.user_input import click, type_text


def test_a_kiosk_visit_left_for_two_days_is_gone_after_the_next_start(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    first = make_window()
    click(first.home.procedure_buttons["juminhyo-utsushi"])
    walk.answer_name(first)
    assert first.visit.draft is not None
    draft_id, code = first.visit.draft.id, first.visit.draft.reference_code
    first.close()

    def two_days_later() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=2)

    second = make_window(clock=two_days_later)
    store = second.store
    assert store is not None
    schedule = second.retention
    assert schedule is not None
    qtbot.waitUntil(lambda: schedule.last_run is not None, timeout=15_000)
    assert store.summary(draft_id).status == EXPIRED
    assert second.retention_timer.isActive()  # the next run is scheduled (hourly)
    assert second.retention_timer.remainingTime() > 3000 * 1000

    click(second.home.code_button)
    type_text(second.resume_code.field, code)
    click(second.resume_code.next_button)
    assert "見つかりません" in second.resume_code.message.text()
