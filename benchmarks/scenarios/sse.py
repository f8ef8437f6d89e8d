"""8. SSE: our SSE endpoint against django-eventstream's, at a steady rate.

Subscribers of one channel over Server-Sent Events (both systems), the publisher on a
fixed schedule; reports server CPU per delivery, latency p50 / p99 / max and loss.
"""

from __future__ import annotations

from typing import Any

from benchmarks.context import Context
from benchmarks.params import EVENTSTREAM, OURS
from benchmarks.scenarios.steady import at_rate

SYSTEMS = (OURS, EVENTSTREAM)


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    return at_rate(
        ctx,
        "sse",
        SYSTEMS,
        subscribers=p.sse_subscribers,
        rate=p.sse_rate,
        seconds=p.sse_seconds,
        transport="sse",
    )
