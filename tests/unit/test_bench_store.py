"""The store benchmarks run end to end at tiny sizes, so they cannot rot between bench runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from tests.bench import store_figures


def test_bench_draft_has_fifty_items() -> None:
    assert len(store_figures.ANSWERS_50) == 50


def test_bench_autosave_reports_both_sides() -> None:
    figures = store_figures.autosave(iterations=3, warmup=1)

    assert set(figures) == {"store_autosave_50_items_median", "store_autosave_50_items_p95",
                            "store_autosave_50_items_bytes"}
    for value, unit, baseline in figures.values():
        assert unit in {"ms", "bytes"}
        assert value > 0
        assert baseline is not None and baseline > 0
    sealed, _, plain = figures["store_autosave_50_items_bytes"]
    assert plain is not None and sealed > plain  # the baseline wrote the same JSON, unencrypted


def test_bench_store_build_is_readable_by_the_store(tmp_path: Path) -> None:
    keys = MemoryKeyStore()
    path = tmp_path / "store.sqlite3"

    store_figures.build_store(path, keys, drafts=25)

    store = DraftStore(path, keys)
    try:
        listed = store.list_drafts(statuses=("DRAFT",))
        assert len(listed) == 25
        assert len({d.reference_code for d in listed}) == 25
        assert all(store.load(d.id).answers for d in listed)
        assert store.audit_log().verify().ok
    finally:
        store.close()
    raw = sqlite3.connect(path)
    try:
        assert len(store_figures._select_summaries(raw)) == 25
    finally:
        raw.close()


def test_bench_large_store_reports_listing_and_open() -> None:
    figures = store_figures.large_store(drafts=20, list_rounds=2, open_rounds=1)

    assert figures["store_list_10k_drafts_count"] == (20.0, "drafts", None)
    for name in ("store_list_10k_drafts_median", "store_open_10k_drafts_median"):
        value, unit, baseline = figures[name]
        assert unit == "ms" and value > 0 and baseline is not None and baseline > 0
