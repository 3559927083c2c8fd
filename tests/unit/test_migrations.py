"""Store migrations: forward-only, from the first released schema, models and scripts agree."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from desk.errors import StoreError
from desk.store.drafts import DISCARDED, DRAFT, READY, DraftStore
from desk.store.keys import MemoryKeyStore
from desk.store.models import Base
from desk.store.schema import FIRST_REVISION, HEAD_REVISION, known_revisions

FIXTURES = Path(__file__).parents[1] / "fixtures" / "store"
# The fake device key the fixture store was written with (tests only).
FIXTURE_KEY = bytes(range(32))
FIXTURE_KEY_ID = "fixture-1"
FIXTURE_DRAFTS = {
    "01M7ZXQKCGRC4VC7AF8D4HW54S": (DRAFT, {"shimei": {"family": "窓口", "given": "太郎"},
                                           "jusho_yubinbango": "1000014"}),
    "01M7ZXQKCY9HC418HFAN781RRM": (DRAFT, {"seinengappi": "1990-04-01"}),
    "01M7ZXQKD15GZ7VT5X2FSTWV9G": (READY, {"shimei": {"family": "窓口", "given": "花子"}}),
    "01M7ZXQKD96BNJ1FVKMVM8PVYP": (DISCARDED, None),
}


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "drafts.sqlite3"
    shutil.copy(FIXTURES / name, target)
    return target


def test_head_revision_constant_matches_the_scripts() -> None:
    assert known_revisions()[0] == FIRST_REVISION
    assert known_revisions()[-1] == HEAD_REVISION


def test_first_schema_store_upgrades_without_losing_drafts(tmp_path: Path) -> None:
    path = _copy(tmp_path, "schema-0001.sqlite3")
    store = DraftStore(path, MemoryKeyStore(FIXTURE_KEY, FIXTURE_KEY_ID))
    try:
        for draft_id, (status, answers) in FIXTURE_DRAFTS.items():
            assert store.summary(draft_id).status == status
            if answers is not None:
                assert store.load(draft_id).answers == answers
        with pytest.raises(StoreError):
            store.load("01M7ZXQKD96BNJ1FVKMVM8PVYP")  # shredded before the upgrade stays so
        # The upgraded store works as a new one: drafts, finalize with its audit entry.
        new = store.create(("juminhyo-utsushi",), mode="kiosk", desk_id="lobby", position="a")
        store.finalize(new.id, {"application_id": new.id})
        assert store.audit_log().verify().ok
        assert [e.action for e in store.audit_log().entries(subject=new.id)] == [
            "draft.created", "application.finalized"]
    finally:
        store.close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            HEAD_REVISION)
        assert plain.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_fresh_store_schema_equals_the_models(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
    finally:
        store.close()


def test_upgraded_schema_equals_a_fresh_one(tmp_path: Path) -> None:
    old = DraftStore(_copy(tmp_path, "schema-0001.sqlite3"),
                     MemoryKeyStore(FIXTURE_KEY, FIXTURE_KEY_ID))
    (tmp_path / "fresh").mkdir()
    fresh = DraftStore(tmp_path / "fresh" / "drafts.sqlite3", MemoryKeyStore())
    try:
        def schema(store: DraftStore) -> list[tuple[str, str]]:
            with sqlite3.connect(store.path) as plain:
                rows = plain.execute(
                    "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
                ).fetchall()
            return [(n, " ".join(s.split())) for n, s in rows]

        assert schema(old) == schema(fresh)
    finally:
        old.close()
        fresh.close()


def test_store_from_a_newer_release_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "drafts.sqlite3"
    DraftStore(path, MemoryKeyStore()).close()
    with sqlite3.connect(path) as plain:
        plain.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        DraftStore(path, MemoryKeyStore())
    assert caught.value.message_id == "store.newer_schema"
    assert path.read_bytes() == before


def test_downgrade_is_not_offered() -> None:
    from alembic.script import ScriptDirectory

    from desk.store.schema import MIGRATIONS_DIR

    for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions():
        with pytest.raises(NotImplementedError):
            script.module.downgrade()
