"""Child process of the PII hygiene test: full flows with canary data, DEBUG logs, forced errors.

Run as ``python -m tests.reliability.pii_child --profile DIR --log FILE --server DIR``. It
prints one ``step <name>`` line per finished stage (never data), and ends with an unhandled
exception whose message holds the canaries, so it exits non-zero by design.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import logging
import os
import socket
import sqlite3
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event

from desk.catalog.loader import load_catalog
from desk.catalog.model import Item
from desk.config import STORE_FILE, DeviceConfig
from desk.errors import DeskError
from desk.fields import email, mynumber, phone, wareki
from desk.interview.validation import validate_step
from desk.pii import install_logging
from desk.policy import Role
from desk.service import Actor, DeskService
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from desk.visit import VisitSession, mynumber_items
from sync.client import LinkageClient
from sync.gateway.admin import add_device
from sync.gateway.server import start_in_thread
from sync.mapping import build_payload, payload_to_json
from sync.outbox import deliver_due
from tests.support.auto_answer import TARO, TARO_KANA, candidates

NAME = f"{TARO['family']} {TARO['given']}"  # 窓口 太郎
MY_NUMBER = "621498320257"
BIRTH_DATE = "1990-04-01"
PHONE = "03-1234-5678"
EMAIL = "madoguchi@example.jp"
BAD_WAREKI = "平成99年13月1日"

log = logging.getLogger("madoguchi.pii_child")


def step(name: str) -> None:
    """Tell the parent a stage finished (stdout is scanned too: names only)."""
    print(f"step {name}", flush=True)


# -- walking a visit with the canaries ----------------------------------------------------------


def _canary_first(item: Item, today: dt.date, answers: dict[str, Any], *,
                  member: bool) -> Iterator[Any]:
    canary = {"name": TARO, "kana_name": TARO_KANA, "phone": PHONE, "email": EMAIL,
              "mynumber": MY_NUMBER}.get(item.type)
    if item.type == "date" and item.dates != "future" and not member:
        canary = BIRTH_DATE
    if canary is not None:
        yield canary
    yield from candidates(item, today, answers, member=member)


# What a resident types wrong first: a 和暦 date that does not exist, a name in the phone
# field, kanji in the furigana field, a My Number with a wrong check digit.
_WRONG_FIRST = {"date": BAD_WAREKI, "phone": NAME, "kana_name": TARO, "email": NAME,
                "mynumber": "621498320258"}


def walk(visit: VisitSession, wrong_first: set[str]) -> int:
    """Answer every screen (each accepted answer is autosaved); return refused answers."""
    interview = visit.interview
    assert interview is not None
    refused = 0
    for _ in range(300):
        if interview.at_review:
            return refused
        screen = interview.screen
        if screen.kind == "checklist":
            visit.answer({})
            continue
        assert screen.step is not None
        items = screen.step.items
        member = screen.member is not None
        stored = interview.values_for(screen)
        for item in items:
            if item.type in wrong_first:
                wrong_first.discard(item.type)
                outcome = visit.answer({item.id: _WRONG_FIRST[item.type]})
                assert not outcome.accepted
                refused += 1
                # As app code might: the message ids at INFO, the whole issue at DEBUG.
                log.info("answer not accepted: %s", [i.message_id for i in outcome.issues])
                log.debug("issues %r for values %r", outcome.issues,
                          {item.id: _WRONG_FIRST[item.type]})
        if stored and not validate_step(screen.step, stored, today=interview.today):
            outcome = visit.answer(stored)
        else:
            values = {i.id: next(_canary_first(i, interview.today, interview.answers,
                                               member=member), None) for i in items}
            log.debug("answering %s with %r", screen.key, values)
            outcome = visit.answer(values)
            for item in items:
                if outcome.accepted:
                    break
                for value in _canary_first(item, interview.today, interview.answers,
                                           member=member):
                    outcome = visit.answer({**values, item.id: value})
                    if outcome.accepted:
                        break
            if not outcome.accepted and screen.step.unknown_allowed:
                outcome = visit.answer({}, unknown=True)
        assert outcome.accepted, (screen.key, [i.message_id for i in outcome.issues])
    raise AssertionError("the walk did not reach the check page")


def finalize(visit: VisitSession, device: DeviceConfig, **overrides: Any) -> str:
    """Build the payload as the window does (plus a 個人番号), and freeze the application."""
    interview, draft = visit.interview, visit.draft
    assert interview is not None and draft is not None
    data = interview.procedure_data()
    payload = payload_to_json(build_payload(
        application_id=draft.id,
        procedures=[(p.id, p.form_version, {**d, "kojin_bango": MY_NUMBER}) for p, d in data],
        device=device, captured_at=dt.datetime.now(dt.UTC),
        consent_purpose="上記のとおり届け出ます。",
    ))
    payload["metadata"].update(overrides)
    visit.finalize(payload)
    log.debug("finalized %s with payload %r", draft.id, payload)
    return draft.id


# -- the stages ----------------------------------------------------------------------------------


def field_errors() -> None:
    """Field parsers refuse canary input; the failures are logged with their tracebacks."""
    checks = ((wareki.parse_wareki, BAD_WAREKI), (mynumber.parse, "621498320258"),
              (phone.validate_phone, NAME), (email.validate_email, f"{NAME}@example"))
    for parse, value in checks:
        try:
            parse(value)
        except DeskError:
            log.exception("input refused by %s", parse.__name__)
        else:
            raise AssertionError(f"{parse.__name__} accepted a wrong value")


def disk_full(visit: VisitSession, store: DraftStore) -> None:
    """Autosave with the database unable to grow: SQLITE_FULL becomes StoreError, logged."""

    def cap_size(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    visit.start("juminhyo-utsushi")
    interview = visit.interview
    assert interview is not None
    # A long household form: far more than the pages the file has left.
    interview.answers["x_biko"] = f"{NAME} {MY_NUMBER} " * 4000
    event.listen(store.engine, "connect", cap_size)
    store.engine.dispose()
    try:
        visit.answer({"shimei": TARO})
    except DeskError as error:
        log.exception("autosave failed: %s", error.message_id)
    else:
        raise AssertionError("the autosave did not fail")
    finally:
        event.remove(store.engine, "connect", cap_size)
        store.engine.dispose()
    assert "x_biko" in interview.answers  # the form stays in memory


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def qt_window(profile: Path, keys: MemoryKeyStore, gateway_url: str, other_draft: str) -> None:
    """Build the real (kiosk) main window on the same store and show canary answers in it."""
    from ui.app import build_services, create_application
    from ui.main_window import MainWindow

    device = DeviceConfig(mode="kiosk", tenant_code="131016", device_id="PII-KIOSK",
                          desk_id="lobby", gateway_url=gateway_url)
    app, theme = create_application([sys.argv[0]])
    window = MainWindow(build_services(profile, device, keys), theme)
    window.show()
    app.processEvents()
    window.visit.start("juminhyo-utsushi")
    walk(window.visit, wrong_first=set())
    own = window.visit.draft
    assert own is not None
    window.show_home()
    for draft_id in (own.id, other_draft):  # the second one is refused by the policy
        window.home.resume_clicked.emit(draft_id)  # as a click on a draft in the list
        app.processEvents()
    window.close()
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--server", type=Path, required=True)
    args = parser.parse_args()

    install_logging(logging.DEBUG, stream=sys.stderr, log_file=args.log)
    # A developer chasing a bug turns SQL logging on: statements, parameters and rows.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    args.server.mkdir(parents=True, exist_ok=True)
    gateway = start_in_thread(f"sqlite:///{args.server / 'gateway.sqlite3'}")
    catalog = load_catalog()
    keys = MemoryKeyStore()
    device = DeviceConfig(mode="counter", tenant_code="131016", device_id="PII-TEST",
                          desk_id="counter-1", gateway_url=gateway.url)
    credentials = add_device(gateway.db_url, tenant_code=device.tenant_code, mode=device.mode,
                             device_id=device.device_id)
    device.save(args.profile)
    store = DraftStore(args.profile / STORE_FILE, keys)
    staff = Actor(device.mode, device.desk_id, Role.STAFF, "staff-01")
    visit = VisitSession(DeskService(store, staff, mynumber_items(catalog)), catalog)
    step("open")

    visit.start("tennyu")
    refused = walk(visit, wrong_first=set(_WRONG_FIRST))
    assert refused >= 3, refused
    field_errors()
    step("validation")
    delivered = finalize(visit, device)
    with LinkageClient(gateway.url, credentials=credentials) as client:
        assert delivered in deliver_due(store, client).received
    step("http-received")

    visit.start("juminhyo-utsushi")
    walk(visit, wrong_first=set())
    refused_id = finalize(visit, device, schemaVersion="madoguchi-app/999")
    with LinkageClient(gateway.url, credentials=credentials) as client:
        assert deliver_due(store, client).needs_attention == [refused_id]
    step("http-refused")

    visit.start("juminhyo-utsushi")
    walk(visit, wrong_first=set())
    waiting = finalize(visit, device)
    with LinkageClient(f"http://127.0.0.1:{closed_port()}", credentials=credentials,
                       timeout=2) as client:
        assert deliver_due(store, client).retrying == [waiting]
    step("http-down")

    disk_full(visit, store)
    step("store-full")

    qt_window(args.profile, keys, gateway.url, waiting)
    step("qt")

    # Fresh autosaves just before the crash: they are still in the WAL when it is scanned.
    visit.start("tennyu")
    walk(visit, wrong_first=set())

    worker = threading.Thread(target=_fail_in_thread, name="pii-worker")
    worker.start()
    worker.join()
    warnings.warn(f"odd answer for {NAME}", UserWarning, stacklevel=1)
    gateway.stop()
    step("crash")
    atexit.register(_exit_without_closing)
    raise RuntimeError(f"unhandled error for {NAME} born {BIRTH_DATE} number {MY_NUMBER}")


def _exit_without_closing() -> None:
    # Runs after the excepthook has reported the crash. Like a crashed app, the stores are
    # never closed, so SQLite leaves -wal and -shm behind for the parent to scan (a clean
    # close would fold the WAL into the file and delete both).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _fail_in_thread() -> None:
    raise ValueError(f"worker failed for {NAME} ({PHONE}, {EMAIL})")


if __name__ == "__main__":
    main()
