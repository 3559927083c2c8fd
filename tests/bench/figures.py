"""The measured figures. Every figure's baseline is measured in the same run, interleaved.

Each function returns ``{name: (value, unit, baseline)}``; ``baseline`` may be ``None``.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.stats import NS_PER_MS, NS_PER_S, median, p95

Figure = tuple[float, str, float | None]

PROCEDURE_ID = "juminhyo-utsushi"
FORM_VERSION = "1"
POSITION = "x_tsusu"

# A complete answer set of 住民票の写し with fake data (the resident is fictitious).
ANSWERS = {
    "shimei": {"family": "窓口", "given": "太郎"},
    "shimei_furigana": {"family": "マドグチ", "given": "タロウ"},
    "seinengappi": "1990-04-01",
    "jusho_yubinbango": "1000014",
    "jusho": {
        "postal_code": "1000014", "prefecture": "東京都", "city": "千代田区",
        "town": "永田町", "jis_code": "131016",
    },
    "jusho_banchigohyoki": "1-7-1",
    "jusho_katagaki": "まどぐちハイツ101",
    "x_tsusu": 2,
    "x_shiyo_mokuteki": "kinyu",
}

# The pragmas of desk.store.database, so the plain baseline runs under the same durability
# and the same secure-delete cost as the real store.
STORE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA secure_delete=ON",
)


def _headless_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _wall_ns(argv: list[str], env: dict[str, str]) -> int:
    start = time.perf_counter_ns()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter_ns() - start


def cold_start(runs: int = 5) -> dict[str, Figure]:
    """`madoguchi self-test` in a fresh interpreter vs. a bare `import PySide6.QtWidgets`."""
    env = _headless_env()
    bare = [sys.executable, "-c", "import PySide6.QtWidgets"]
    ours: list[int] = []
    base: list[int] = []
    for _ in range(runs):  # alternate, so machine noise hits both equally
        with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as data_dir:
            argv = [sys.executable, "-m", "ui.cli", "self-test", "--data-dir", data_dir]
            ours.append(_wall_ns(argv, env))
        base.append(_wall_ns(bare, env))
    return {"self_test_cold_start": (median(ours) / NS_PER_S, "s", median(base) / NS_PER_S)}


def _plain_db(path: Path, row_id: str, blob: bytes) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in STORE_PRAGMAS:
        conn.execute(pragma)
    conn.execute(
        "CREATE TABLE drafts (id TEXT PRIMARY KEY, version INTEGER, position TEXT,"
        " updated_at TEXT, answers BLOB)"
    )
    conn.execute(
        "INSERT INTO drafts VALUES (?, 0, ?, ?, ?)",
        (row_id, POSITION, dt.datetime.now(dt.UTC).isoformat(), blob),
    )
    return conn


def _plain_save(conn: sqlite3.Connection, row_id: str, blob: bytes) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "UPDATE drafts SET answers=?, version=version+1, position=?, updated_at=? WHERE id=?",
        (blob, POSITION, dt.datetime.now(dt.UTC).isoformat(), row_id),
    )
    conn.execute("COMMIT")


def _plain_load(conn: sqlite3.Connection, row_id: str) -> tuple[object, ...]:
    row = conn.execute(
        "SELECT id, version, position, updated_at, answers FROM drafts WHERE id=?", (row_id,)
    ).fetchone()
    assert row is not None
    return tuple(row)


def draft_store(iterations: int = 300, warmup: int = 20) -> dict[str, Figure]:
    """Encrypted autosave and resume through DraftStore vs. plain SQLite of the same size."""
    from desk.store.drafts import DraftStore
    from desk.store.keys import MemoryKeyStore

    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        folder = Path(tmp)
        store_path = folder / "store.sqlite3"
        store = DraftStore(store_path, MemoryKeyStore())
        try:
            draft = store.create((PROCEDURE_ID,), mode="kiosk", desk_id="bench",
                                 position="shimei")
            for _ in range(warmup):
                store.save(draft.id, ANSWERS, POSITION)
                store.load(draft.id)
            with sqlite3.connect(store_path) as probe:
                (blob_len,) = probe.execute("SELECT length(answers) FROM drafts").fetchone()
            probe.close()

            blobs = [os.urandom(blob_len) for _ in range(warmup + iterations)]
            plain = _plain_db(folder / "plain.sqlite3", draft.id, blobs[0])
            try:
                for blob in blobs[:warmup]:
                    _plain_save(plain, draft.id, blob)
                    _plain_load(plain, draft.id)

                save_ns: list[int] = []
                plain_save_ns: list[int] = []
                load_ns: list[int] = []
                plain_load_ns: list[int] = []
                clock = time.perf_counter_ns
                for blob in blobs[warmup:]:  # interleaved: noise hits both sides equally
                    t0 = clock()
                    store.save(draft.id, ANSWERS, POSITION)
                    t1 = clock()
                    _plain_save(plain, draft.id, blob)
                    t2 = clock()
                    store.load(draft.id)
                    t3 = clock()
                    _plain_load(plain, draft.id)
                    t4 = clock()
                    save_ns.append(t1 - t0)
                    plain_save_ns.append(t2 - t1)
                    load_ns.append(t3 - t2)
                    plain_load_ns.append(t4 - t3)
            finally:
                plain.close()
        finally:
            store.close()

    def ms(value: float) -> float:
        return value / NS_PER_MS

    return {
        "autosave_encrypted_median": (ms(median(save_ns)), "ms", ms(median(plain_save_ns))),
        "autosave_encrypted_p95": (ms(p95(save_ns)), "ms", ms(p95(plain_save_ns))),
        "draft_resume_load_median": (ms(median(load_ns)), "ms", ms(median(plain_load_ns))),
        "autosave_blob_bytes": (float(blob_len), "bytes", None),
    }


def catalog(runs: int = 30) -> dict[str, Figure]:
    """Loading the whole catalog (rules parsed afresh) vs. PyYAML (LibYAML) parsing the files."""
    import yaml

    from desk.catalog.loader import default_catalog_dir, load_catalog
    from desk.rules.parser import _parse_cached

    files = sorted(default_catalog_dir().rglob("*.yaml"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    loads, parses = [], []
    for _ in range(runs):
        _parse_cached.cache_clear()
        start = time.perf_counter_ns()
        load_catalog()
        loads.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        for text in texts:
            yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
        parses.append(time.perf_counter_ns() - start)
    return {"catalog_load_median": (median(loads) / NS_PER_MS, "ms",
                                    median(parses) / NS_PER_MS)}


def next_step(rounds: int = 5) -> dict[str, Figure]:
    """Answering a screen of the largest visit (validation, rules, next screen) vs. validation.

    Every life event is walked with fake answers; the visit with the most screens is timed:
    each question screen is re-answered with its stored values, which recomputes the visit.
    """
    from desk.catalog.loader import load_catalog
    from desk.interview.engine import Interview
    from desk.interview.validation import validate_step
    from tests.support.auto_answer import walk

    catalog = load_catalog()
    today = dt.date(2026, 11, 21)
    visits = []
    for event in catalog.life_events.values():
        visit = Interview(catalog, event_id=event.id, today=today)
        walk(visit)
        visits.append(visit)
    largest = max(visits, key=lambda v: len(v.screens()))
    questions = [s for s in largest.screens() if s.kind == "step"]
    answers, baseline = [], []
    for _ in range(rounds):
        for screen in questions:
            assert screen.step is not None
            values = largest.values_for(screen)
            largest.change(screen.key)
            start = time.perf_counter_ns()
            largest.answer(values, unknown=largest.is_unknown(screen))
            answers.append(time.perf_counter_ns() - start)
            start = time.perf_counter_ns()
            validate_step(screen.step, values, today=today)
            baseline.append(time.perf_counter_ns() - start)
    return {
        "next_step_largest_visit_p95": (p95(answers) / NS_PER_MS, "ms",
                                        p95(baseline) / NS_PER_MS),
        "largest_visit_screens": (float(len(questions)), "screens", None),
    }
