"""Small statistics helpers: percentiles of samples, and summaries over repetitions."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` (0-100) percentile of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return float(sorted_values[rank])


def summarize(reps: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median, min and max over repetitions of every numeric metric they share."""
    reps = list(reps)
    out: dict[str, dict[str, float]] = {}
    if not reps:
        return out
    for key, first in reps[0].items():
        if isinstance(first, bool) or not isinstance(first, int | float):
            continue
        values = [float(r[key]) for r in reps if isinstance(r.get(key), int | float)]
        if values:
            out[key] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return out
