"""Bring a store file to the current schema with the Alembic migrations, forward only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from desk.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in desk/store/migrations/versions; a test keeps the two equal.
HEAD_REVISION = "0003"
FIRST_REVISION = "0001"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def revision_of(connection: Connection) -> str | None:
    """The schema revision of a store: None for an empty file, the first one before Alembic."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables:
        value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(value) if value is not None else None
    # Stores written before migrations existed hold the first schema, unstamped.
    return FIRST_REVISION if "drafts" in tables else None


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def known_revisions() -> list[str]:
    """Every revision of the migration scripts, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def migrate(engine: Engine) -> str | None:
    """Upgrade the store to HEAD_REVISION in one transaction; return the revision it had.

    The check for a current store reads one row and does not import Alembic, so opening an
    up-to-date store stays fast.

    Raises:
        StoreError: ``store.newer_schema`` when the file was written by a newer release
            (migrations only go forward, so this release must not write to it), or
            ``store.migration_failed`` when an upgrade fails (the old schema stays intact).
    """
    with engine.connect() as connection:
        found = revision_of(connection)
        connection.rollback()
    if found == HEAD_REVISION:
        return found
    if found is not None and found not in known_revisions():
        raise StoreError("store.newer_schema", revision=found)
    from alembic import command

    try:
        with engine.begin() as connection:
            config = _alembic_config(connection)
            if found is not None and "alembic_version" not in inspect(connection).get_table_names():
                command.stamp(config, found)
            command.upgrade(config, "head")
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError("store.migration_failed", revision=found or "none") from exc
    return found
