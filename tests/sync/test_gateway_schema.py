"""Gateway schema migrations: forward-only, from the released schema, on SQLite and PostgreSQL.

tests/fixtures/gateway/schema-0001.sqlite3 was written by the release before migrations
(commit 85d0d4a, its own gateway over HTTP) with four fake applications: three of tenant
131016 (KIOSK-0001 twice, one with an audit head; DESK-0002) and one of tenant 011002.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text

# Every module with gateway tables, so the metadata holds all of them.
import sync.gateway.csv_linkage
import sync.gateway.handoffs
import sync.gateway.registry  # noqa: F401
from sync.gateway.admin import add_device
from sync.gateway.models import Base, make_engine
from sync.gateway.schema import (
    FIRST_REVISION,
    HEAD_REVISION,
    MIGRATIONS_DIR,
    GatewaySchemaError,
    _alembic_config,
    known_revisions,
)
from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from sync.protocol import DeviceCredentials
from tests.sync.conftest import fetch_token
from ui.cli import main

FIXTURE = Path(__file__).parents[1] / "fixtures" / "gateway" / "schema-0001.sqlite3"
APPLICATIONS = "/madoguchi/v1/applications"
# (application id, tenant, device, channel, audit head) as the old release stored them.
RELEASED = [
    ("01J0000000000000000000A001", "131016", "KIOSK-0001", "kiosk", "ab" * 32),
    ("01J0000000000000000000A002", "131016", "DESK-0002", "desk", None),
    ("01J0000000000000000000A003", "011002", "KIOSK-0001", "kiosk", None),
    ("01J0000000000000000000A004", "131016", "KIOSK-0001", "kiosk", "cd" * 32),
]


def _released_copy(tmp_path: Path) -> Path:
    target = tmp_path / "gateway.sqlite3"
    shutil.copy(FIXTURE, target)
    return target


def _sqlite_schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as plain:
        rows = plain.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return [(name, " ".join(sql.split())) for name, sql in rows]


def _upgrade_plain(url: str, revision: str) -> None:
    """Run the scripts up to ``revision`` outside the gateway (to build old databases)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    finally:
        engine.dispose()


def _schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend (PostgreSQL skips with its reason when absent)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


def test_head_revision_constant_matches_the_scripts() -> None:
    assert known_revisions() == [FIRST_REVISION, HEAD_REVISION]


def test_downgrade_is_not_offered() -> None:
    from alembic.script import ScriptDirectory

    for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions():
        with pytest.raises(NotImplementedError):
            script.module.downgrade()


def test_first_migration_is_exactly_the_released_schema(tmp_path: Path) -> None:
    path = tmp_path / "first.sqlite3"
    _upgrade_plain(f"sqlite:///{path}", FIRST_REVISION)
    with sqlite3.connect(path) as plain:
        plain.execute("DROP TABLE alembic_version")
    assert _sqlite_schema(path) == _sqlite_schema(FIXTURE)


def test_migrated_schema_equals_the_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert _schema_differences(engine) == []
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == HEAD_REVISION
    finally:
        engine.dispose()


def test_released_database_upgrades_to_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{_released_copy(tmp_path)}")
    try:
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()


def _check_upgraded_rows(db_url: str) -> None:
    store = GatewayStore(db_url)
    try:
        stored = {a.application_id: a for a in store.applications()}
    finally:
        store.close()
    assert sorted(stored) == [row[0] for row in RELEASED]
    for application_id, tenant, device, channel, head in RELEASED:
        application = stored[application_id]
        assert (application.tenant_code, application.device_id, application.channel,
                application.audit_head) == (tenant, device, channel, head)
        assert (application.status, application.version) == ("RECEIVED", 1)
        assert application.updated_at == application.received_at
        assert application.payload["metadata"]["applicationId"] == application_id
    # Feed positions in the order of receipt, per tenant.
    assert [stored[r[0]].seq for r in RELEASED] == [1, 2, 1, 3]
    # 受付番号 are kept exactly.
    numbers = [stored[r[0]].uketsuke_bango[-6:] for r in RELEASED]
    assert numbers == ["000001", "000002", "000001", "000003"]


def test_released_database_upgrades_without_losing_applications(tmp_path: Path) -> None:
    path = _released_copy(tmp_path)
    with sqlite3.connect(path) as plain:
        released_responses = dict(
            plain.execute("SELECT application_id, response_json FROM received_applications")
        )
    running = start_in_thread(f"sqlite:///{path}")
    try:
        _check_upgraded_rows(running.db_url)
        kiosk = add_device(running.db_url, tenant_code="131016", mode="kiosk",
                           device_id="KIOSK-0001")
        http = httpx.Client(base_url=running.url, timeout=10.0,
                            headers={"Authorization": f"Bearer {fetch_token(running.url, kiosk)}"})
        with http:
            # The old applications have a history and appear in their device's feed.
            status = http.get(f"{APPLICATIONS}/{RELEASED[0][0]}").json()["result"][0]
            assert (status["status"], status["version"], status["seq"]) == ("RECEIVED", 1, 1)
            assert [event["status"] for event in status["history"]] == ["RECEIVED"]
            feed = http.get(APPLICATIONS, params={"cursor": 0}).json()["result"]
            assert [item["applicationId"] for item in feed] == [RELEASED[0][0], RELEASED[3][0]]
            # A new application takes the next feed position of its tenant.
            body = _old_body(path, RELEASED[0][0])
            body["metadata"]["applicationId"] = "01J0000000000000000000A005"
            created = http.post(APPLICATIONS, json=body,
                                headers={"Idempotency-Key": "01J0000000000000000000A005"})
            assert created.status_code == 201, created.text
            assert http.get(APPLICATIONS, params={"cursor": 3}).json()["result"][0]["seq"] == 4
            # A retry of an application sent before the upgrade replays its stored receipt.
            replay = http.post(APPLICATIONS, json=_old_body(path, RELEASED[3][0]),
                               headers={"Idempotency-Key": RELEASED[3][0]})
            assert replay.status_code == 201
            assert replay.headers["Idempotent-Replayed"] == "true"
            assert replay.text == released_responses[RELEASED[3][0]]
    finally:
        running.stop()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert plain.execute("PRAGMA foreign_key_check").fetchall() == []


def _old_body(path: Path, application_id: str) -> dict[str, Any]:
    import json

    with sqlite3.connect(path) as plain:
        (payload,) = plain.execute(
            "SELECT payload_json FROM received_applications WHERE application_id = ?",
            (application_id,),
        ).fetchone()
    body: dict[str, Any] = json.loads(payload)
    return body


def test_released_schema_upgrades_on_postgresql(fresh_postgres_url: str) -> None:
    # The same released rows, in a PostgreSQL database of the first schema (unstamped, as
    # create_all left it).
    _upgrade_plain(fresh_postgres_url, FIRST_REVISION)
    with sqlite3.connect(FIXTURE) as plain:
        plain.row_factory = sqlite3.Row
        applications = [dict(r) for r in plain.execute("SELECT * FROM received_applications")]
        counters = [dict(r) for r in plain.execute("SELECT * FROM receipt_counters")]
    engine = create_engine(fresh_postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
            for table, rows in (("received_applications", applications),
                                ("receipt_counters", counters)):
                names = list(rows[0])
                connection.execute(
                    text(f"INSERT INTO {table} ({', '.join(names)}) "
                         f"VALUES ({', '.join(':' + n for n in names)})"),
                    rows,
                )
    finally:
        engine.dispose()
    _check_upgraded_rows(fresh_postgres_url)
    upgraded = make_engine(fresh_postgres_url)
    try:
        assert _schema_differences(upgraded) == []
        with upgraded.connect() as connection:
            events = connection.execute(text(
                "SELECT COUNT(*) FROM application_status_events")).scalar_one()
            counters_now = dict(connection.execute(text(
                "SELECT tenant_code, last_seq FROM feed_counters")).all())
        assert events == len(RELEASED)
        assert counters_now == {"131016": 3, "011002": 1}
    finally:
        upgraded.dispose()


def test_database_of_a_newer_release_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    make_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as plain:
        plain.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(GatewaySchemaError) as caught:
        make_engine(f"sqlite:///{path}")
    assert caught.value.reason == "newer_schema"
    assert "newer release" in str(caught.value)
    assert path.read_bytes() == before


def test_unstamped_tables_of_no_release_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    with sqlite3.connect(path) as plain:
        plain.execute("CREATE TABLE something_else (id INTEGER PRIMARY KEY)")
    with pytest.raises(GatewaySchemaError) as caught:
        make_engine(f"sqlite:///{path}")
    assert caught.value.reason == "unknown_schema"


def test_a_failed_upgrade_leaves_the_released_database_as_it_was(tmp_path: Path) -> None:
    path = _released_copy(tmp_path)
    with sqlite3.connect(path) as plain:
        # A stray index with the name the upgrade creates makes it fail half-way through.
        plain.execute("CREATE INDEX ix_received_device_feed ON received_applications (status)")
    before = _sqlite_schema(path)
    with pytest.raises(GatewaySchemaError) as caught:
        make_engine(f"sqlite:///{path}")
    assert (caught.value.reason, caught.value.revision) == ("migration_failed", FIRST_REVISION)
    assert _sqlite_schema(path) == before
    with sqlite3.connect(path) as plain:
        rows = plain.execute("SELECT COUNT(*) FROM received_applications").fetchone()[0]
    assert rows == len(RELEASED)


def _start_together(count: int, work: Callable[[], None]) -> list[BaseException]:
    start = threading.Barrier(count)
    failures: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


@pytest.fixture(params=["empty-sqlite", "released-sqlite", "empty-postgresql"])
def racing_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that several workers open at the same moment."""
    if request.param == "empty-sqlite":
        yield f"sqlite:///{tmp_path / 'race.sqlite3'}"
    elif request.param == "released-sqlite":
        yield f"sqlite:///{_released_copy(tmp_path)}"
    else:
        yield request.getfixturevalue("fresh_postgres_url")


def test_workers_starting_together_migrate_once(racing_db_url: str) -> None:
    assert _start_together(4, lambda: make_engine(racing_db_url).dispose()) == []
    engine = make_engine(racing_db_url)
    try:
        assert _schema_differences(engine) == []
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            events = connection.execute(text(
                "SELECT COUNT(*) FROM application_status_events")).scalar_one()
            applications = connection.execute(text(
                "SELECT COUNT(*) FROM received_applications")).scalar_one()
        assert [v[0] for v in versions] == [HEAD_REVISION]
        assert events == applications  # one history event each, never two
    finally:
        engine.dispose()


def test_cli_takes_a_postgresql_url(
    fresh_postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fresh_postgres_url.startswith("postgresql+psycopg://")
    code = main(["gateway", "add-device", "--db", fresh_postgres_url, "--tenant", "131016",
                 "--mode", "kiosk", "--device-id", "KIOSK-TEST"])
    assert code == 0
    credentials = DeviceCredentials.model_validate_json(capsys.readouterr().out)
    running: RunningGateway = start_in_thread(fresh_postgres_url)
    try:
        meta = httpx.get(f"{running.url}/madoguchi/v1/meta", headers={
            "Authorization": f"Bearer {fetch_token(running.url, credentials)}"})
        assert meta.json()["result"][0]["deviceId"] == "KIOSK-TEST"
    finally:
        running.stop()


def test_cli_explains_a_database_of_a_newer_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.sqlite3"
    make_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as plain:
        plain.execute("UPDATE alembic_version SET version_num = '9999'")
    for command_line in (["add-device", "--tenant", "131016", "--mode", "kiosk"],
                         ["disable-device", "--tenant", "131016", "--device-id", "KIOSK-TEST"],
                         ["serve", "--port", "0"]):
        code = main(["gateway", *command_line, "--db", f"sqlite:///{path}"])
        assert code == 2
        err = capsys.readouterr().err
        assert "newer release (schema 9999)" in err
        assert "(newer_schema)" in err
        assert "Traceback" not in err
