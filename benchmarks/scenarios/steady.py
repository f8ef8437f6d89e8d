"""2. Steady rate: subscribers of one channel, the publisher on a fixed schedule.

Reports latency p50 / p99 / max, loss (which must be zero) and server CPU per delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.context import Context
from benchmarks.delivery import measure
from benchmarks.params import LAYERS
from benchmarks.runner import compare
from benchmarks.scenarios.fanout import SYSTEMS, warm_up
from benchmarks.servers import ServerGroup


def at_rate(
    ctx: Context,
    scenario: str,
    systems: Sequence[str],
    *,
    subscribers: int,
    rate: float,
    seconds: float,
    transport: str | None = None,
    layers: Sequence[str] = LAYERS,
    server: str = "daphne",
) -> dict[str, Any]:
    """``rate`` messages/s for ``seconds`` to ``subscribers`` over ``transport``, on each
    system and layer, under ``server``."""
    messages = round(rate * seconds)

    def one(servers: ServerGroup) -> dict[str, Any]:
        return measure(
            ctx,
            servers,
            subscribers=subscribers,
            messages=messages,
            rate=rate,
            deadline=seconds * 10 + 60,
            transport=transport,
        )

    def warm(servers: ServerGroup) -> None:
        warm_up(ctx, servers, transport)

    return compare(ctx, scenario, systems, one, warm_up=warm, layers=layers, server=server)


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    return at_rate(
        ctx,
        "steady",
        SYSTEMS,
        subscribers=p.steady_subscribers,
        rate=p.steady_rate,
        seconds=p.steady_seconds,
    )
