"""The capacity model of ``docs/scaling.md``, fitted on measured points and checked.

For one publish to a channel whose ``S`` subscribers are spread over ``n`` processes on
the ``redis`` broker:

- server CPU = ``p + n·r + S·d``: ``p`` what the publishing process does beyond
  receiving (``publish()``: validation, envelope, the script's round trip), ``r`` what
  every process with subscribers on the channel does once per publish (read the frame
  from its pub/sub connection, check continuity, build the frame to write), ``d`` one
  write to one local subscriber;
- Redis CPU = ``a + n·b``: ``a`` the script (position, history, ``PUBLISH``), ``b`` one
  more pub/sub connection to write the frame to.

The three server terms come from the per-process CPU of one and two processes (with one:
``p + r + S·d``; with two, the publisher ``p + r + S/2·d`` and the other ``r + S/2·d``),
Redis's two from its CPU at one and two; every larger count is a prediction, reported
next to its measurement.
"""

from __future__ import annotations

import math
from typing import Any

#: Per-process CPU per publish in a process-count summary: ``<PROCESS_CPU><index>``.
PROCESS_CPU = "cpu_us_per_publish_"
REDIS_CPU = "redis_cpu_us_per_publish"


def _median(summary: dict[str, Any], key: str) -> float:
    stats = summary.get(key)
    return float(stats["median"]) if stats else math.nan


def fit(summaries: dict[int, dict[str, Any]], subscribers: int) -> dict[str, Any]:
    """The model's terms (µs) from the summaries of 1 and 2 processes, and for every
    process count measured, its predictions beside the measurements."""
    if 1 not in summaries or 2 not in summaries:
        return {}
    one, two = summaries[1], summaries[2]
    half = subscribers / 2
    alone = _median(one, PROCESS_CPU + "0")
    publisher, other = _median(two, PROCESS_CPU + "0"), _median(two, PROCESS_CPU + "1")
    d = (alone - publisher) / half
    r = other - half * d
    p = publisher - other
    b = _median(two, REDIS_CPU) - _median(one, REDIS_CPU)
    a = _median(one, REDIS_CPU) - b
    checks = []
    for n, summary in sorted(summaries.items()):
        others = [_median(summary, f"{PROCESS_CPU}{i}") for i in range(1, n)]
        checks.append(
            {
                "processes": n,
                "server_predicted_us": p + n * r + subscribers * d,
                "server_measured_us": sum(others) + _median(summary, PROCESS_CPU + "0"),
                "other_predicted_us": r + subscribers / n * d if n > 1 else math.nan,
                "other_measured_us": sum(others) / len(others) if others else math.nan,
                "redis_predicted_us": a + n * b,
                "redis_measured_us": _median(summary, REDIS_CPU),
                # One Redis core's worth of publishes, at this many processes per channel.
                "redis_publishes_per_s": 1e6 / _median(summary, REDIS_CPU),
            }
        )
    return {
        "subscribers": subscribers,
        "publisher_us": p,
        "per_process_us": r,
        "per_delivery_us": d,
        "redis_script_us": a,
        "redis_per_process_us": b,
        "checks": checks,
    }
