"""Several gateway worker processes: uvicorn imports an app factory, settings by environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from sync.gateway.app import create_app
from sync.gateway.context import GatewaySettings
from sync.gateway.models import make_engine

DB_URL_ENV = "MADOGUCHI_GATEWAY_DB"
CATALOG_ENV = "MADOGUCHI_GATEWAY_CATALOG"
CSV_DIR_ENV = "MADOGUCHI_GATEWAY_CSV_DIR"
FACTORY = "sync.gateway.asgi:app_from_environment"
"""The import string uvicorn gives each worker process."""


class MissingDatabaseError(RuntimeError):
    """The worker was started without ``MADOGUCHI_GATEWAY_DB``."""


def settings_environment(db_url: str, settings: GatewaySettings) -> dict[str, str]:
    """The environment variables that carry a deployment to worker processes.

    Args:
        db_url: SQLAlchemy URL of the gateway database.
        settings: The deployment settings (catalog bundle, CSV folder).

    Returns:
        Variables to set before the workers start; unset settings are left out.
    """
    variables = {DB_URL_ENV: db_url}
    if settings.catalog_path is not None:
        variables[CATALOG_ENV] = str(settings.catalog_path)
    if settings.csv_dir is not None:
        variables[CSV_DIR_ENV] = str(settings.csv_dir)
    return variables


def app_from_environment(environ: Mapping[str, str] | None = None) -> FastAPI:
    """Build a worker's app from the environment (uvicorn calls this in each process).

    Args:
        environ: The variables to read; ``os.environ`` when None.

    Returns:
        The gateway application.

    Raises:
        MissingDatabaseError: ``MADOGUCHI_GATEWAY_DB`` is not set.
    """
    source = os.environ if environ is None else environ
    db_url = source.get(DB_URL_ENV)
    if not db_url:
        raise MissingDatabaseError(f"{DB_URL_ENV} is not set")
    catalog = source.get(CATALOG_ENV)
    csv_dir = source.get(CSV_DIR_ENV)
    settings = GatewaySettings(
        catalog_path=Path(catalog) if catalog else None,
        csv_dir=Path(csv_dir) if csv_dir else None,
    )
    return create_app(db_url, settings=settings)


def serve_workers(
    host: str, port: int, db_url: str, *, workers: int, settings: GatewaySettings | None = None
) -> None:
    """Serve the gateway from several worker processes until interrupted.

    The database is migrated once here, before any worker starts, so a schema problem is
    reported once and workers only find the current schema. Everything that lasts is in the
    database (tokens, idempotency keys, counters), so any worker can answer any request.

    Args:
        host: Interface to bind.
        port: TCP port, shared by the workers.
        db_url: SQLAlchemy URL of the gateway database (a file or server every worker reaches).
        workers: Number of worker processes (2 or more).
        settings: Deployment settings; defaults when None.

    Raises:
        GatewaySchemaError: The database is from a newer release or cannot be upgraded.
    """
    make_engine(db_url).dispose()
    os.environ.update(settings_environment(db_url, settings or GatewaySettings()))
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # As the single-process server: quiet, no access log (paths carry application ids).
        log_level="warning",
        access_log=False,
        ws="none",
        lifespan="on",
    )
