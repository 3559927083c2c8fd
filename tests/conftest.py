"""Fixtures shared by every suite: the offscreen Qt platform and a real gateway on loopback."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from tests.postgres import PostgresCluster, PostgresUnavailableError, start_cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/gui as `gui` (qutebrowser's habit), so `-m 'not gui'` works."""
    for item in items:
        if "tests/gui/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def gateway(gateway_db_url: str) -> Iterator[RunningGateway]:
    """A real gateway (uvicorn + FastAPI + SQLite file or PostgreSQL) on a free loopback port."""
    running = start_in_thread(gateway_db_url)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def gateway_store(gateway: RunningGateway) -> Iterator[GatewayStore]:
    """The gateway's database, opened separately, to assert exactly what the gateway holds."""
    store = GatewayStore(gateway.db_url)
    try:
        yield store
    finally:
        store.close()


# -- PostgreSQL -----------------------------------------------------------------------------

# Gateway API tests (tests/sync/test_gateway_*.py) run on both databases; everything else keeps
# SQLite only. A test that looks inside the SQLite file itself is marked `sqlite_only`. Their
# PostgreSQL runs are `slow` (they would double the gateway tests' time);
# tests/sync/test_gateway_postgres.py runs the core scenarios on PostgreSQL by default.
_BOTH_DATABASES = re.compile(r"tests/sync/test_gateway_[^/]*\.py$")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `sqlite_only` marker (strict markers are on)."""
    config.addinivalue_line(
        "markers", "sqlite_only: a gateway test that inspects the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the gateway API tests against SQLite and PostgreSQL (skipped, with the reason,
    where PostgreSQL is not installed)."""
    if "gateway_db_url" not in metafunc.fixturenames:
        return
    path = str(metafunc.definition.path).replace(os.sep, "/")
    if _BOTH_DATABASES.search(path) and not metafunc.definition.get_closest_marker("sqlite_only"):
        postgres = pytest.param("postgresql", marks=pytest.mark.slow)
        metafunc.parametrize("gateway_db_url", ["sqlite", postgres], indirect=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the session; skips when none can run here."""
    try:
        cluster = start_cluster()
    except PostgresUnavailableError as reason:
        pytest.skip(str(reason))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: PostgresCluster) -> str:
    """A database migrated to the current gateway schema, copied for each test (fast)."""
    from sync.gateway.models import make_engine

    name = postgres_cluster.create_database()
    make_engine(postgres_cluster.url(name)).dispose()
    return name


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """URL of an empty PostgreSQL database for the session (skips without PostgreSQL)."""
    return postgres_cluster.url(postgres_cluster.create_database())


@pytest.fixture
def fresh_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture
def gateway_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database of the `gateway` fixture: an SQLite file, or a migrated PostgreSQL copy."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database(template=request.getfixturevalue("postgres_template"))
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)
