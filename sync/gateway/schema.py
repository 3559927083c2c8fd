"""Bring the gateway database to the current schema with Alembic, forward only, worker-safe."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in sync/gateway/migrations/versions; a test keeps the two equal.
HEAD_REVISION = "0002"
FIRST_REVISION = "0001"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# pg_advisory_xact_lock key held while one worker upgrades ("madoguchi" in ASCII hex, as a
# fixed signed 64-bit value): other workers starting at the same moment wait, then find HEAD.
ADVISORY_LOCK_KEY = 0x6D61646F67756368


class GatewaySchemaError(Exception):
    """The database cannot be brought to this release's schema.

    Attributes:
        reason: ``newer_schema`` (written by a newer release; left untouched),
            ``unknown_schema`` (tables this release did not write) or ``migration_failed``
            (the upgrade failed and was rolled back).
        revision: The revision found in the database (``none`` for an empty one).
    """

    _MESSAGES: ClassVar[dict[str, str]] = {
        "newer_schema": "The gateway database was written by a newer release (schema {rev}); "
                        "this release does not change it. Run the newer release, or restore a "
                        "backup made by this one.",
        "unknown_schema": "The gateway database holds tables this release did not write "
                          "and no schema revision; it was left as it is.",
        "migration_failed": "Upgrading the gateway database from schema {rev} failed; it was "
                            "rolled back and is unchanged.",
    }

    def __init__(self, reason: str, revision: str | None) -> None:
        """Name the reason and the revision found (no table contents ever appear here)."""
        self.reason = reason
        self.revision = revision or "none"
        super().__init__(self._MESSAGES[reason].format(rev=self.revision))


def revision_of(connection: Connection) -> str | None:
    """The schema revision of a gateway database.

    Args:
        connection: An open connection.

    Returns:
        None for an empty database; the revision in ``alembic_version``; FIRST_REVISION for a
        database of the release before migrations (its two tables, unstamped).

    Raises:
        GatewaySchemaError: ``unknown_schema`` for unstamped tables that are not that release's.
    """
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables:
        value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(value) if value is not None else None
    if not tables:
        return None
    # The release before migrations made exactly these two tables with create_all.
    if tables == {"received_applications", "receipt_counters"}:
        return FIRST_REVISION
    raise GatewaySchemaError("unknown_schema", None)


def known_revisions() -> list[str]:
    """Every revision of the migration scripts, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _lock(connection: Connection) -> None:
    # SQLite: the gateway engine already began this transaction with BEGIN IMMEDIATE, which
    # holds the database's write lock until commit. PostgreSQL: an advisory lock released at
    # the end of the transaction serialises workers that start together.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def migrate(engine: Engine) -> str | None:
    """Upgrade the gateway database to HEAD_REVISION in one transaction.

    Safe when several workers start at once: the check for a current database reads one row
    without Alembic; otherwise the upgrade runs under a lock (SQLite ``BEGIN IMMEDIATE`` through
    the gateway engine, PostgreSQL ``pg_advisory_xact_lock``) and looks again once it holds it.

    Args:
        engine: The gateway engine (``models.make_engine`` builds one).

    Returns:
        The revision the database had before (None when it was empty).

    Raises:
        GatewaySchemaError: ``newer_schema`` for a database of a newer release (never
            written), ``unknown_schema``, or ``migration_failed`` (rolled back).
    """
    with engine.connect() as connection:
        found = revision_of(connection)
        connection.rollback()
    if found == HEAD_REVISION:
        return found
    if found is not None and found not in known_revisions():
        raise GatewaySchemaError("newer_schema", found)
    from alembic import command

    try:
        with engine.begin() as connection:
            _lock(connection)
            found = revision_of(connection)
            if found == HEAD_REVISION:  # another worker upgraded while this one waited
                return found
            if found is not None and found not in known_revisions():
                raise GatewaySchemaError("newer_schema", found)
            config = _alembic_config(connection)
            if found is not None and "alembic_version" not in inspect(connection).get_table_names():
                command.stamp(config, found)
            command.upgrade(config, "head")
    except GatewaySchemaError:
        raise
    except Exception as exc:
        raise GatewaySchemaError("migration_failed", found) from exc
    return found


def ensure_schema(engine: Engine) -> None:
    """Migrate the engine's database (see ``migrate``); dispose of the engine if that fails.

    Raises:
        GatewaySchemaError: As ``migrate``.
    """
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
