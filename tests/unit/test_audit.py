"""The audit chain (acceptance test 16): append-only, and every kind of tampering found in place."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desk.ids import new_ulid
from desk.store.audit import AuditLog, AuditValueError, ChainHead
from desk.store.database import open_store_engine

ENTRIES = 12


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    engine = open_store_engine(tmp_path / "drafts.sqlite3")
    chain = AuditLog(engine)
    for number in range(ENTRIES):
        chain.append(actor="staff-01", action="draft.printed",
                     subject=new_ulid(), detail={"copies": number})
    yield chain
    engine.dispose()


def _tamper(log: AuditLog, *statements: str) -> None:
    """Change the file as someone with the file (not the app) could: triggers dropped first."""
    path = log._engine.url.database
    assert path is not None
    with sqlite3.connect(path) as plain:
        plain.execute("DROP TRIGGER audit_no_update")
        plain.execute("DROP TRIGGER audit_no_delete")
        for statement in statements:
            plain.execute(statement)


def test_intact_chain_verifies(log: AuditLog) -> None:
    check = log.verify()
    assert check.ok and check.entries == ENTRIES
    assert log.head().seq == ENTRIES


def test_update_and_delete_are_refused_by_the_database(log: AuditLog) -> None:
    path = log._engine.url.database
    assert path is not None
    with sqlite3.connect(path) as plain:
        for statement in ("UPDATE audit SET actor = 'x' WHERE seq = 3",
                          "DELETE FROM audit WHERE seq = 3"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                plain.execute(statement)
    assert log.verify().ok


TAMPERING: dict[str, tuple[Callable[[int], list[str]], Callable[[int], int]]] = {
    # name: (statements for entry n, the seq verify must name)
    "edit action": (lambda n: [f"UPDATE audit SET action = 'draft.viewed' WHERE seq = {n}"],
                    lambda n: n),
    "edit detail": (lambda n: [f"UPDATE audit SET detail = '{{}}' WHERE seq = {n}"],
                    lambda n: n),
    "edit time": (lambda n: [f"UPDATE audit SET at = '2020-01-01 00:00:00' WHERE seq = {n}"],
                  lambda n: n),
    "delete": (lambda n: [f"DELETE FROM audit WHERE seq = {n}"], lambda n: n),
    "insert": (lambda n: [
        f"UPDATE audit SET seq = seq + 1000 WHERE seq >= {n}",
        f"INSERT INTO audit SELECT {n}, at, actor, action, subject, detail, prev_hash, "
        f"entry_hash FROM audit WHERE seq = {n - 1}",
        f"UPDATE audit SET seq = seq - 999 WHERE seq >= {n + 1000}",
    ], lambda n: n),
    "swap two": (lambda n: [
        f"UPDATE audit SET seq = -1 WHERE seq = {n}",
        f"UPDATE audit SET seq = {n} WHERE seq = {n + 1}",
        f"UPDATE audit SET seq = {n + 1} WHERE seq = -1",
    ], lambda n: n),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
@pytest.mark.parametrize("index", [2, 6, ENTRIES - 1])
def test_tampering_is_found_at_the_right_entry(log: AuditLog, kind: str, index: int) -> None:
    statements, expected = TAMPERING[kind]
    _tamper(log, *statements(index))
    check = log.verify()
    assert not check.ok
    assert check.first_broken == expected(index), check


def test_removed_tail_is_found_against_the_anchor(log: AuditLog) -> None:
    anchor = log.head()
    _tamper(log, f"DELETE FROM audit WHERE seq >= {ENTRIES - 1}")
    assert log.verify().ok  # the chain alone cannot show a cut end
    check = log.verify(anchor)
    assert not check.ok and check.first_broken == ENTRIES - 1


def test_anchor_of_a_rewritten_chain_does_not_match(log: AuditLog) -> None:
    forged = ChainHead(ENTRIES, "f" * 64)
    assert not log.verify(forged).ok


@pytest.mark.parametrize("value", ["窓口 太郎", "621498320257", "madoguchi taro", "a" * 65,
                                   "1990-04-01 窓口"])
def test_values_that_could_be_personal_data_are_refused(log: AuditLog, value: str) -> None:
    with pytest.raises(AuditValueError):
        log.append(actor="staff-01", action="draft.viewed", subject=value)
    with pytest.raises(AuditValueError):
        log.append(actor="staff-01", action="draft.viewed", detail={"note": value})
    assert log.head().seq == ENTRIES  # nothing written


def test_application_ids_are_accepted_even_with_digit_runs(log: AuditLog) -> None:
    head = log.append(actor="kiosk", action="draft.created", subject="01234567890123456789ABCDEF")
    assert head.seq == ENTRIES + 1 and log.verify().ok
