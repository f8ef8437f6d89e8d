"""1. Fan-out burst: one publisher, many subscribers of one channel, messages back to back.

Reports deliveries per second, publish-to-receipt latency and server CPU per delivery.
"""

from __future__ import annotations

from typing import Any

from benchmarks.context import Context
from benchmarks.delivery import measure
from benchmarks.params import BARE, EVENTSTREAM, OURS
from benchmarks.runner import compare
from benchmarks.servers import ServerGroup

SYSTEMS = (OURS, BARE, EVENTSTREAM)


def warm_up(ctx: Context, servers: ServerGroup, transport: str | None = None) -> None:
    """A small round first, so imports and first-connection work are not measured."""
    measure(ctx, servers, subscribers=4, messages=5, deadline=60, transport=transport)


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params

    def one(servers: ServerGroup) -> dict[str, Any]:
        messages = p.fanout_messages[servers.kind]
        return measure(ctx, servers, subscribers=p.fanout_subscribers, messages=messages)

    return compare(ctx, "fanout", SYSTEMS, one, warm_up=lambda s: warm_up(ctx, s))
