"""Acceptance test 10: every answer of the status matrix leads to its documented outbox action.

Each case queues two applications and scripts the gateway's answer to the first over real
loopback HTTP; the second shows whether the pass goes on (retry, attention), waits (pause)
or ends (stop). Documented actions: linkage-api.md "Delivery semantics", sync/outbox.py.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

import pytest

from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.client import LinkageClient
from sync.outbox import StopReason, deliver_due
from tests.sync.scripted_server import (
    FAKE_CREDENTIALS,
    Canned,
    ScriptedServer,
    envelope,
    error_envelope,
)
from tests.sync.test_outbox import finalized

SERVER_TIME = "2026-05-12T10:15:00+09:00"


def receipt(application_id: str, status: int = 201) -> Canned:
    return Canned(status, envelope([{"applicationId": application_id,
                                     "uketsukeBango": "20260512-000042",
                                     "receivedAt": SERVER_TIME, "status": "RECEIVED"}]))


@dataclass(frozen=True)
class Case:
    """An answer to the first item and what must follow."""

    answers: Callable[[str], list[Canned]]  # given the first item's id
    state: str  # the first item's outbox state afterwards
    attempts: int
    error: str | None
    bucket: str  # "received", "needs_attention", "retrying" or "" (stopped)
    stopped: StopReason | None = None
    second_sent: bool = True  # did the pass go on to the second item
    wait_s: tuple[float, float] | None = None  # next attempt of the first item, from now
    tokens: int = 1
    timeout: float = 5.0


FIELD = "/procedures/0/data/shimei"
RETRY_DATE_S = 300


def _retry_date() -> Canned:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    then = now + dt.timedelta(seconds=RETRY_DATE_S)
    return Canned(503, error_envelope(), {"Date": format_datetime(now, usegmt=True),
                                          "Retry-After": format_datetime(then, usegmt=True)})


CASES: dict[str, Case] = {
    "201": Case(lambda a: [receipt(a)], "done", 1, None, "received"),
    "200-replayed": Case(lambda a: [receipt(a, 200)], "done", 1, None, "received"),
    "400": Case(lambda a: [Canned(400, error_envelope("E0001", field_=FIELD))], "attention", 1,
                f"400 E0001@{FIELD}", "needs_attention"),
    "401-then-201": Case(lambda a: [Canned(401, error_envelope("E1008")), receipt(a)], "done", 1,
                         None, "received", tokens=2),
    "401-twice": Case(lambda a: [Canned(401, error_envelope("E1008"))] * 2, "pending", 0,
                      "credentials_refused", "", StopReason.CREDENTIALS_REFUSED,
                      second_sent=False, tokens=2),
    "403": Case(lambda a: [Canned(403, error_envelope("E1007"))], "pending", 0,
                "device_forbidden", "", StopReason.DEVICE_FORBIDDEN, second_sent=False),
    "404": Case(lambda a: [Canned(404, error_envelope())], "attention", 1, "404",
                "needs_attention"),
    "408": Case(lambda a: [Canned(408, b"")], "pending", 1, "408", "retrying",
                wait_s=(0, 2)),
    "409": Case(lambda a: [Canned(409, error_envelope("E1009", field_="/metadata/applicationId"))],
                "attention", 1, "409 E1009@/metadata/applicationId", "needs_attention"),
    "413": Case(lambda a: [Canned(413, "<html>Request Entity Too Large</html>")], "attention",
                1, "413", "needs_attention"),
    "422": Case(lambda a: [Canned(422, {"detail": [{"loc": ["body"], "msg": "x"}]})],
                "attention", 1, "422", "needs_attention"),
    "429-retry-after": Case(lambda a: [Canned(429, error_envelope(), {"Retry-After": "120"})],
                            "pending", 1, "429", "retrying", second_sent=False,
                            wait_s=(120, 120)),
    "500": Case(lambda a: [Canned(500, error_envelope())], "pending", 1, "500", "retrying",
                wait_s=(0, 2)),
    "503-retry-after-date": Case(lambda a: [_retry_date()], "pending", 1, "503", "retrying",
                                 second_sent=False, wait_s=(RETRY_DATE_S - 2, RETRY_DATE_S)),
    "503-json": Case(lambda a: [Canned(503, error_envelope())], "pending", 1, "503", "retrying",
                     wait_s=(0, 2)),
    "502-not-json": Case(lambda a: [Canned(502, "<html><h1>502 Bad Gateway</h1></html>")],
                         "pending", 1, "502", "retrying", wait_s=(0, 2)),
    "reset-after-request": Case(lambda a: [Canned(201, drop=True)], "pending", 1, "network",
                                "retrying", wait_s=(0, 2)),
    "stalled-past-timeout": Case(lambda a: [Canned(201, b"", delay_s=1.0)], "pending", 1,
                                 "network", "retrying", wait_s=(0, 2), timeout=0.5),
    "201-unreadable": Case(lambda a: [Canned(201, "<html>portal</html>")], "pending", 1, "201",
                           "retrying", wait_s=(0, 2)),
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


@pytest.mark.parametrize("name", list(CASES))
def test_status_matrix(name: str, store: DraftStore) -> None:
    case = CASES[name]
    first, second = finalized(store), finalized(store)
    now = dt.datetime.now(dt.UTC)
    with ScriptedServer() as server:
        server.script(*case.answers(first), receipt(second))
        with LinkageClient(server.url, credentials=FAKE_CREDENTIALS,
                           timeout=case.timeout) as client:
            report = deliver_due(store, client, now=now, rng=random.Random(3))
        sent = [r.headers.get("Idempotency-Key") for r in server.api_requests()]

    assert store.outbox_state(first) == (case.state, case.attempts, case.error)
    if case.bucket:
        assert first in getattr(report, case.bucket)
    assert report.stopped is case.stopped
    assert server.tokens_issued == case.tokens
    # The second item: sent when the pass goes on, untouched (attempts 0) otherwise.
    assert (second in sent) is case.second_sent
    assert store.outbox_state(second)[:2] == (("done", 1) if case.second_sent else ("pending", 0))

    summary = store.summary(first)
    with sqlite3.connect(store.path) as plain:
        payload, next_at = plain.execute(
            "SELECT payload, next_attempt_at FROM outbox WHERE application_id = ?", (first,)
        ).fetchone()
    if case.state == "done":
        assert summary.status == "RECEIVED"
        assert summary.uketsuke_bango == "20260512-000042"
        assert summary.received_at == dt.datetime.fromisoformat(SERVER_TIME)  # server time
        assert payload is None  # purged with the receipt
    else:
        assert payload is not None  # kept until a receipt
        assert summary.uketsuke_bango is None
        assert summary.status == ("ATTENTION" if case.state == "attention" else "READY")
    if case.wait_s is not None:
        waits = (dt.datetime.fromisoformat(next_at).replace(tzinfo=dt.UTC) - now)
        low, high = case.wait_s
        assert low <= waits.total_seconds() <= high
        if not case.second_sent:  # the rest of the batch waits as long
            assert store.claim_due(now + waits - dt.timedelta(seconds=1)) == []
