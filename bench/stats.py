"""Small statistics helpers: nearest-rank percentiles and a summary dict for latency samples."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); p99 of fewer than 100 samples is the maximum."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples: Sequence[float], scale: float = 1.0) -> dict[str, float | int]:
    """p50/p99/min/max/mean of ``samples`` multiplied by ``scale`` (e.g. 1000 for s → ms)."""
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50": percentile(samples, 50) * scale,
        "p99": percentile(samples, 99) * scale,
        "min": min(samples) * scale,
        "max": max(samples) * scale,
        "mean": sum(samples) / len(samples) * scale,
    }
