"""9. The ASGI send path: our WebSocket endpoint and a bare Channels consumer under
uvicorn, Hypercorn, and Daphne with direct writes off (every frame through the
application's ``send``), at a steady rate on the in-memory layer; and the server's
floor, a no-op ASGI application that sends each message to every connection itself
(``server/floor.py``): what a frame costs the server alone.

Reports server CPU per delivery, latency p50 / p99 / max and loss, per server.
"""

from __future__ import annotations

from typing import Any

from benchmarks.context import Context
from benchmarks.params import BARE, FLOOR, OURS
from benchmarks.scenarios.steady import at_rate

SYSTEMS = (OURS, BARE, FLOOR)
SERVERS = ("uvicorn", "hypercorn", "daphne-asgi")


def run(ctx: Context) -> dict[str, Any]:
    """``{server: {system: result}}``."""
    p = ctx.params
    out: dict[str, Any] = {}
    # The smoke run: uvicorn only, without the floor.
    for server in SERVERS[:1] if ctx.quick else SERVERS:
        by_layer = at_rate(
            ctx,
            "send_path",
            (OURS, BARE) if ctx.quick else SYSTEMS,
            subscribers=p.sse_subscribers,
            rate=p.sse_rate,
            seconds=p.sse_seconds,
            layers=("memory",),
            server=server,
        )
        out[server] = by_layer["memory"]
    return out
