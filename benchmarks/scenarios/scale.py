"""11. Scale in one process: many idle WebSocket subscriptions on one Daphne process.

``scale_subscriptions`` subscribers of one channel connect to our endpoint on one Daphne
process (in-memory layer, the ``local`` broker), spread over the client processes; a
refused connection is counted, not raised. Then ``scale_publishes`` publishes, one
second apart, each go to all of them. Reports the connections and refusals, the connect
rate, publish-to-receipt latency p50 / p99 / max over every delivery (max: the last
subscriber's frame of the slowest publish, measured from just before ``publish()``), and
CPU apart: the Daphne process's and the client processes' (which share the machine's
cores with it), while connecting and while delivering. Only one round of connections:
they are what takes the time (the publishes are the repetitions).
"""

from __future__ import annotations

import resource
from typing import Any

from benchmarks.context import Context
from benchmarks.delivery import measure
from benchmarks.params import OURS
from benchmarks.runner import compare, log
from benchmarks.scenarios.fanout import warm_up
from benchmarks.servers import ServerGroup

#: The goal: every publish reaches every subscriber within this many seconds.
WITHIN_S = 1.0


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)  # raised to the hard limit
    if limit < p.scale_subscriptions + 100:
        log(f"scale: the file limit ({limit}) is below {p.scale_subscriptions} connections")

    def one(servers: ServerGroup) -> dict[str, Any]:
        result = measure(
            ctx,
            servers,
            subscribers=p.scale_subscriptions,
            messages=p.scale_publishes,
            rate=1.0,
            refused_ok=True,
        )
        connected = p.scale_subscriptions - result["refused"]
        result.update(
            subscriptions=connected,
            connects_per_s=connected / result["connect_seconds"],
            server_cpu_ms_per_publish=result["server_cpu_s"] / p.scale_publishes * 1000,
            client_cpu_ms_per_publish=result["client_cpu_s"] / p.scale_publishes * 1000,
            file_limit=limit,
        )
        if result["refused"]:
            ctx.fail(f"scale: {result['refused']} of {p.scale_subscriptions} connections refused")
        return result

    return compare(
        ctx,
        "scale",
        (OURS,),
        one,
        processes={"memory": 1},
        warm_up=lambda servers: warm_up(ctx, servers),
        layers=("memory",),
        repetitions=1,
    )
