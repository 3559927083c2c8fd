"""Staff and volunteer sign-ins: hashed PINs or passwords, roles, lockout after failures."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from desk.errors import DeskError
from desk.policy import Role
from desk.store import audit, crypto
from desk.store.database import read_unit, write_unit
from desk.store.models import AccountRow

MAX_FAILURES = 5  # wrong PINs in a row before the account locks
LOCKOUT = dt.timedelta(minutes=15)  # long enough to stop guessing, short enough for a shift
MIN_SECRET_LENGTH = 4
STAFF_ROLES = (Role.VOLUNTEER, Role.STAFF, Role.SUPERVISOR)
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
# Hashing a throwaway secret for unknown logins makes them take as long as known ones, so
# timing does not tell which login ids exist.
_DUMMY_HASH: str | None = None


class AccountError(DeskError):
    """An account operation that cannot be done; message ids below, no secrets in params."""

    message_id = "account.failed"


@dataclass(frozen=True)
class Account:
    """A signed-in person as the rest of the app sees them: login id and role, no secret."""

    login: str
    role: Role
    must_change: bool = False


@dataclass(frozen=True)
class AccountInfo:
    """One row of `madoguchi accounts list`."""

    login: str
    role: Role
    disabled: bool
    locked_until: dt.datetime | None
    failed_attempts: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalize_login(login: str) -> str:
    """Login ids are ASCII lower case (full-width letters typed by habit are accepted)."""
    # Login ids are ASCII only (see _LOGIN); NFKC folds full-width letters typed with the IME
    # on. Never used on residents' names or addresses.
    return unicodedata.normalize("NFKC", login).strip().lower()


def check_secret(secret: str) -> None:
    """Refuse PINs that are too short or trivially guessed (one digit repeated, 1234, 4321).

    Raises:
        AccountError: ``account.secret_weak``.
    """
    text = unicodedata.normalize("NFKC", secret)  # as crypto.hash_secret sees it
    if len(text) < MIN_SECRET_LENGTH:
        raise AccountError("account.secret_weak", min=MIN_SECRET_LENGTH)
    if text.isdigit():
        steps = {int(b) - int(a) for a, b in itertools.pairwise(text)}
        if len(set(text)) == 1 or steps in ({1}, {-1}):
            raise AccountError("account.secret_weak", min=MIN_SECRET_LENGTH)


class AccountStore:
    """The accounts of one device store; every change leaves an audit entry."""

    def __init__(self, engine: Engine, params: crypto.KdfParams | None = None) -> None:
        self._engine = engine
        self._params = params  # cost of new hashes (tests pass cheap ones); None = default

    def add(self, login: str, role: Role, secret: str, *, actor: str) -> Account:
        """Create an account.

        Raises:
            AccountError: ``account.login_invalid``, ``account.role_invalid``,
                ``account.exists`` or ``account.secret_weak``.
        """
        name = normalize_login(login)
        if not _LOGIN.fullmatch(name):
            raise AccountError("account.login_invalid")
        if role not in STAFF_ROLES:
            raise AccountError("account.role_invalid", role=str(role))
        check_secret(secret)
        hashed = crypto.hash_secret(secret, self._params)
        with write_unit(self._engine) as session:
            if session.get(AccountRow, name) is not None:
                raise AccountError("account.exists")
            now = _now()
            session.add(AccountRow(login=name, role=role.value, secret_hash=hashed,
                                   disabled=False, must_change=False, failed_attempts=0,
                                   locked_until=None, created_at=now, updated_at=now))
            audit.append(session, actor=actor, action="account.added", subject=name,
                         detail={"role": role.value})
        return Account(name, role)

    def disable(self, login: str, *, actor: str) -> None:
        """Stop an account from signing in (kept for the audit trail, never deleted)."""
        with write_unit(self._engine) as session:
            row = self._get(session, login)
            row.disabled = True
            row.updated_at = _now()
            audit.append(session, actor=actor, action="account.disabled", subject=row.login)

    def reset_pin(self, login: str, secret: str, *, actor: str) -> None:
        """Set a new PIN chosen by a supervisor; unlocks, and asks for a change at sign-in."""
        check_secret(secret)
        hashed = crypto.hash_secret(secret, self._params)
        with write_unit(self._engine) as session:
            row = self._get(session, login)
            row.secret_hash = hashed
            row.failed_attempts = 0
            row.locked_until = None
            row.must_change = actor != row.login
            row.updated_at = _now()
            audit.append(session, actor=actor, action="account.pin_reset", subject=row.login)

    def authenticate(self, login: str, secret: str, *, now: dt.datetime | None = None) -> Account:
        """Check a sign-in.

        Raises:
            AccountError: ``account.signin_failed`` (unknown login, wrong PIN or disabled:
                one message, so it does not tell which) or ``account.locked`` with the
                minutes left.
        """
        moment = now or _now()
        name = normalize_login(login)
        with write_unit(self._engine) as session:
            row = session.get(AccountRow, name)
            if row is None:
                crypto.verify_secret(secret, self._dummy_hash())
                raise AccountError("account.signin_failed")
            if row.locked_until is not None and row.locked_until > moment:
                minutes = -(-(row.locked_until - moment) // dt.timedelta(minutes=1))
                raise AccountError("account.locked", minutes=minutes)
            ok = crypto.verify_secret(secret, row.secret_hash)
            if ok and not row.disabled:
                row.failed_attempts = 0
                row.locked_until = None
                if crypto.needs_rehash(row.secret_hash, self._params):
                    row.secret_hash = crypto.hash_secret(secret, self._params)
                audit.append(session, actor=row.login, action="signin.ok", subject=row.login)
                return Account(row.login, Role(row.role), row.must_change)
            row.failed_attempts += 1
            audit.append(session, actor=row.login, action="signin.failed", subject=row.login)
            if row.failed_attempts >= MAX_FAILURES:
                row.failed_attempts = 0
                row.locked_until = moment + LOCKOUT
                audit.append(session, actor="system", action="account.locked",
                             subject=row.login)
        # Raised after the commit, so the counted failure is kept.
        raise AccountError("account.signin_failed")

    def change_own_pin(self, login: str, old: str, new: str) -> None:
        """The person changes their own PIN (required after a reset)."""
        account = self.authenticate(login, old)
        check_secret(new)
        hashed = crypto.hash_secret(new, self._params)
        with write_unit(self._engine) as session:
            row = self._get(session, account.login)
            row.secret_hash = hashed
            row.must_change = False
            row.updated_at = _now()
            audit.append(session, actor=row.login, action="account.pin_changed",
                         subject=row.login)

    def list(self) -> list[AccountInfo]:
        """Every account, by login id."""

        def work(session: Session) -> list[AccountInfo]:
            rows = session.scalars(select(AccountRow).order_by(AccountRow.login))
            return [AccountInfo(r.login, Role(r.role), r.disabled, r.locked_until,
                                r.failed_attempts) for r in rows]

        return read_unit(self._engine, work)

    def count(self) -> int:
        """How many accounts exist (a device with none cannot be signed into)."""
        return read_unit(self._engine, lambda session: session.scalar(
            select(func.count()).select_from(AccountRow)) or 0)

    def _dummy_hash(self) -> str:
        global _DUMMY_HASH
        if _DUMMY_HASH is None:
            _DUMMY_HASH = crypto.hash_secret("not-a-real-secret", self._params)
        return _DUMMY_HASH

    @staticmethod
    def _get(session: Session, login: str) -> AccountRow:
        row = session.get(AccountRow, normalize_login(login))
        if row is None:
            raise AccountError("account.unknown")
        return row
