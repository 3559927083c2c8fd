"""Fixtures shared by every suite: the offscreen Qt platform and a real gateway on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/gui as `gui` (qutebrowser's habit), so `-m 'not gui'` works."""
    for item in items:
        if "tests/gui/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    """A real gateway (uvicorn + FastAPI + SQLite file) on a free loopback port."""
    running = start_in_thread(f"sqlite:///{tmp_path / 'gateway.db'}")
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
