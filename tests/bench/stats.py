"""Small statistics over timing samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def median(samples: Sequence[float]) -> float:
    """The median of the samples."""
    return statistics.median(samples)


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile (the 19th of the 20-quantile cut points, inclusive method)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]
