"""The capacity model of ``docs/scaling.md``, fitted on measured points and checked.

For one publish to a channel whose ``S`` subscribers are spread over ``n`` processes on
the ``redis`` broker:

- server CPU = ``p + n·r + S·d``: ``p`` what the publishing process does beyond
  receiving (``publish()``: validation, envelope, the script's round trip), ``r`` what
  every process with subscribers on the channel does once per publish (read the frame
  from its pub/sub connection, check continuity, prepare the frame to write), ``d`` one
  write to one local subscriber;
- Redis CPU = ``a + n·b``: ``a`` the script (position, history, ``PUBLISH``), ``b`` one
  more pub/sub connection to write the frame to.

Fitted on every process count but the smallest: ``r`` and ``d`` by least squares on the
processes that do not publish (each is ``r + S/n·d``), ``p`` as the publisher's excess
over them, ``a`` and ``b`` by least squares on Redis's CPU. The smallest count (one
process: ``p + r + S·d``) is then a prediction, reported next to its measurement, as
is every fitted count.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

#: Per-process CPU per publish in a process-count summary: ``<PROCESS_CPU><index>``.
PROCESS_CPU = "cpu_us_per_publish_"
REDIS_CPU = "redis_cpu_us_per_publish"


def _median(summary: dict[str, Any], key: str) -> float:
    stats = summary.get(key)
    return float(stats["median"]) if stats else math.nan


def _line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Intercept and slope of the least-squares line through ``points``."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    if len(set(xs)) < 2:
        return math.nan, math.nan
    slope, intercept = statistics.linear_regression(xs, ys)
    return intercept, slope


def fit(summaries: dict[int, dict[str, Any]], subscribers: int) -> dict[str, Any]:
    """The model's terms (µs) from every count but the smallest, and for every count
    measured, its predictions beside the measurements (``{}`` with too few counts)."""
    counts = sorted(summaries)
    fitted = counts[1:]
    others = {n: [_median(summaries[n], f"{PROCESS_CPU}{i}") for i in range(1, n)] for n in counts}
    r, d = _line([(subscribers / n, y) for n in fitted for y in others[n]])
    excess = [_median(summaries[n], PROCESS_CPU + "0") - statistics.mean(others[n]) for n in fitted]
    a, b = _line([(n, _median(summaries[n], REDIS_CPU)) for n in fitted])
    if not fitted or math.isnan(r) or math.isnan(a):
        return {}
    p = statistics.mean(excess)
    checks = []
    for n in counts:
        publisher = _median(summaries[n], PROCESS_CPU + "0")
        checks.append(
            {
                "processes": n,
                "fitted": n in fitted,
                "server_predicted_us": p + n * r + subscribers * d,
                "server_measured_us": publisher + sum(others[n]),
                "other_predicted_us": r + subscribers / n * d if n > 1 else math.nan,
                "other_measured_us": statistics.mean(others[n]) if others[n] else math.nan,
                "redis_predicted_us": a + n * b,
                "redis_measured_us": _median(summaries[n], REDIS_CPU),
                # One Redis core's worth of publishes, at this many processes per channel.
                "redis_publishes_per_s": 1e6 / _median(summaries[n], REDIS_CPU),
            }
        )
    return {
        "subscribers": subscribers,
        "fitted_on": fitted,
        "publisher_us": p,
        "per_process_us": r,
        "per_delivery_us": d,
        "redis_script_us": a,
        "redis_per_process_us": b,
        "checks": checks,
    }
