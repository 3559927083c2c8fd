"""What every gateway route needs: the database engines, the clock and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from sync.gateway.models import READ_ONLY_OPTION, make_engine
from sync.protocol import ACCESS_TOKEN_TTL_SECONDS, HANDOFF_TTL_SECONDS

Clock = Callable[[], datetime]
"""Source of server time; always aware."""


def utc_now() -> datetime:
    """The real clock: the current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class GatewaySettings:
    """How one gateway deployment is configured.

    Attributes:
        catalog_path: The signed catalog bundle served at ``GET /catalog`` (None: not served).
        csv_dir: Folder for CSV file linkage batches (None: no CSV output).
        handoff_ttl_s: How long a handoff waits for a counter to pick it up.
        token_ttl_s: Lifetime of a bearer token.
    """

    catalog_path: Path | None = None
    csv_dir: Path | None = None
    handoff_ttl_s: int = HANDOFF_TTL_SECONDS
    token_ttl_s: int = ACCESS_TOKEN_TTL_SECONDS


@dataclass(frozen=True)
class GatewayContext:
    """The shared state of one gateway process; everything that lasts lives in the database.

    Attributes:
        engine: Engine for work that writes (SQLite: ``BEGIN IMMEDIATE``).
        read_engine: The same pool, beginning deferred read-only transactions on SQLite, so
            reads never queue behind the write lock.
        clock: Server time (aware).
        settings: Deployment settings.
    """

    engine: Engine
    read_engine: Engine
    clock: Clock = field(default=utc_now)
    settings: GatewaySettings = field(default_factory=GatewaySettings)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_context(
    db_url: str, *, settings: GatewaySettings | None = None, clock: Clock | None = None
) -> GatewayContext:
    """Open (and if needed create) the gateway database and build the context on it.

    Args:
        db_url: SQLAlchemy URL of the gateway database.
        settings: Deployment settings; defaults when None.
        clock: Source of server time; the real UTC clock when None.

    Returns:
        The context; call ``close()`` when done.
    """
    engine = make_engine(db_url)
    return GatewayContext(
        engine=engine,
        read_engine=engine.execution_options(**{READ_ONLY_OPTION: True}),
        clock=clock or utc_now,
        settings=settings or GatewaySettings(),
    )
