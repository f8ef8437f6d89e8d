"""2. Steady rate: subscribers of one channel, the publisher on a fixed schedule.

Reports latency p50 / p99 / max, loss (which must be zero) and server CPU per delivery.
"""

from __future__ import annotations

from typing import Any

from benchmarks.context import Context
from benchmarks.delivery import measure
from benchmarks.runner import compare
from benchmarks.scenarios.fanout import SYSTEMS, warm_up
from benchmarks.servers import ServerGroup


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    messages = round(p.steady_rate * p.steady_seconds)

    def one(servers: ServerGroup) -> dict[str, Any]:
        return measure(
            ctx,
            servers,
            subscribers=p.steady_subscribers,
            messages=messages,
            rate=p.steady_rate,
            deadline=p.steady_seconds * 10 + 60,
        )

    return compare(ctx, "steady", SYSTEMS, one, warm_up=lambda s: warm_up(ctx, s))
