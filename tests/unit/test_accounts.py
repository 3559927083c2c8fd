"""Staff and volunteer sign-ins: hashed PINs, lockout, disable, reset, and what the audit keeps."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.policy import Role
from desk.store.accounts import LOCKOUT, MAX_FAILURES, AccountError, AccountStore
from desk.store.audit import AuditLog
from desk.store.crypto import KdfParams
from desk.store.database import open_store_engine

CHEAP = KdfParams.new("scrypt", {"n": 1024, "r": 8, "p": 1})
PIN = "2580"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "drafts.sqlite3"


@pytest.fixture
def accounts(path: Path) -> Iterator[AccountStore]:
    engine = open_store_engine(path)
    store = AccountStore(engine, CHEAP)
    store.add("Staff-01", Role.STAFF, PIN, actor="super-01")
    yield store
    engine.dispose()


def _code(error: pytest.ExceptionInfo[AccountError]) -> str:
    return error.value.message_id


def test_sign_in_with_the_right_pin(accounts: AccountStore) -> None:
    account = accounts.authenticate("staff-01", PIN)
    assert (account.login, account.role, account.must_change) == ("staff-01", Role.STAFF, False)
    assert accounts.authenticate("ｓｔａｆｆ－０１", "２５８０").login == "staff-01"  # full-width


def test_pin_is_stored_hashed_never_in_clear(accounts: AccountStore, path: Path) -> None:
    with sqlite3.connect(path) as plain:
        stored = plain.execute("SELECT secret_hash FROM accounts").fetchone()[0]
    assert PIN not in stored and stored.startswith("scrypt$")
    assert PIN.encode() not in path.read_bytes()


def test_unknown_login_and_wrong_pin_get_the_same_answer(accounts: AccountStore) -> None:
    with pytest.raises(AccountError) as unknown:
        accounts.authenticate("nobody", PIN)
    with pytest.raises(AccountError) as wrong:
        accounts.authenticate("staff-01", "9999")
    assert _code(unknown) == _code(wrong) == "account.signin_failed"


def test_lockout_after_repeated_failures_then_it_lifts(accounts: AccountStore) -> None:
    now = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
    for _ in range(MAX_FAILURES):
        with pytest.raises(AccountError):
            accounts.authenticate("staff-01", "9999", now=now)
    with pytest.raises(AccountError) as locked:
        accounts.authenticate("staff-01", PIN, now=now)  # even the right PIN
    assert _code(locked) == "account.locked" and locked.value.params["minutes"] == 15
    later = now + LOCKOUT + dt.timedelta(seconds=1)
    assert accounts.authenticate("staff-01", PIN, now=later).login == "staff-01"


def test_disabled_account_cannot_sign_in(accounts: AccountStore) -> None:
    accounts.disable("staff-01", actor="super-01")
    with pytest.raises(AccountError) as refused:
        accounts.authenticate("staff-01", PIN)
    assert _code(refused) == "account.signin_failed"
    assert accounts.list()[0].disabled


def test_reset_pin_unlocks_and_asks_for_a_change(accounts: AccountStore) -> None:
    for _ in range(MAX_FAILURES):
        with pytest.raises(AccountError):
            accounts.authenticate("staff-01", "9999")
    accounts.reset_pin("staff-01", "7391", actor="super-01")
    account = accounts.authenticate("staff-01", "7391")
    assert account.must_change
    accounts.change_own_pin("staff-01", "7391", "4826")
    assert not accounts.authenticate("staff-01", "4826").must_change


@pytest.mark.parametrize("pin", ["123", "0000", "1234", "9876", "７７７７"])
def test_weak_pins_are_refused(accounts: AccountStore, pin: str) -> None:
    with pytest.raises(AccountError) as weak:
        accounts.add("vol-02", Role.VOLUNTEER, pin, actor="super-01")
    assert _code(weak) == "account.secret_weak"


@pytest.mark.parametrize(("login", "role", "code"), [
    ("窓口", Role.STAFF, "account.login_invalid"),
    ("a", Role.STAFF, "account.login_invalid"),
    ("staff-01", Role.STAFF, "account.exists"),
    ("resident-1", Role.RESIDENT, "account.role_invalid"),
])
def test_bad_accounts_are_refused(accounts: AccountStore, login: str, role: Role,
                                  code: str) -> None:
    with pytest.raises(AccountError) as refused:
        accounts.add(login, role, "2580", actor="super-01")
    assert _code(refused) == code


def test_audit_records_sign_ins_and_changes_without_secrets(
    accounts: AccountStore, path: Path
) -> None:
    with pytest.raises(AccountError):
        accounts.authenticate("staff-01", "9999")
    accounts.authenticate("staff-01", PIN)
    engine = open_store_engine(path)
    try:
        entries = AuditLog(engine).entries(subject="staff-01")
    finally:
        engine.dispose()
    assert [e.action for e in entries] == ["account.added", "signin.failed", "signin.ok"]
    assert all(PIN not in str(e.detail) for e in entries)
