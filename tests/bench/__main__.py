"""`python -m tests.bench --out build/bench/report.json`: run the benchmarks, write the report.

The report is ``{"figures": {name: {"value", "unit", "baseline", "ratio"}}, "machine": ...,
"generated_at": ...}``; ``baseline`` and ``ratio`` appear only where a figure has a baseline,
and every baseline is measured in the same run. Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from tests.bench import figures, store_figures, sync_figures


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _entry(value: float, unit: str, baseline: float | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value, "unit": unit}
    if baseline is not None:
        entry["baseline"] = baseline
        entry["ratio"] = value / baseline if baseline else None
    return entry


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.1f}"
    return f"{value:.4g}"


def _table(results: dict[str, dict[str, Any]]) -> str:
    header = ("figure", "value", "unit", "baseline", "ratio")
    rows = [header] + [
        (name, _fmt(f["value"]), f["unit"], _fmt(f.get("baseline")), _fmt(f.get("ratio")))
        for name, f in results.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                      strict=True)]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every figure, print the summary table, write the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/bench/report.json"))
    parser.add_argument("--cold-runs", type=int, default=5,
                        help="cold-start runs per side (median)")
    parser.add_argument("--iterations", type=int, default=300,
                        help="timed autosave/load iterations")
    parser.add_argument("--warmup", type=int, default=20, help="untimed warm-up iterations")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    measured: dict[str, figures.Figure] = {}
    print("cold start …", file=sys.stderr, flush=True)
    measured.update(figures.cold_start(runs=args.cold_runs))
    print("draft store …", file=sys.stderr, flush=True)
    measured.update(figures.draft_store(iterations=args.iterations, warmup=args.warmup))
    print("store: autosave, 10,000 drafts …", file=sys.stderr, flush=True)
    measured.update(store_figures.autosave())
    measured.update(store_figures.large_store())

    print("sync: outbox drain, gateway under load …", file=sys.stderr, flush=True)
    measured.update(sync_figures.drain())  # sizes: $MADOGUCHI_BENCH_DRAIN, $MADOGUCHI_BENCH_LOAD
    measured.update(sync_figures.gateway_load())

    print("catalog …", file=sys.stderr, flush=True)
    measured.update(figures.catalog())
    print("next step …", file=sys.stderr, flush=True)
    measured.update(figures.next_step())

    results = {name: _entry(*fig) for name, fig in measured.items()}
    report = {
        "figures": results,
        "machine": _machine(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(_table(results))
    print(f"\nreport: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
