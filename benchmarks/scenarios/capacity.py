"""3. Capacity: many idle WebSocket subscriptions on one Daphne process.

Reports the server's resident memory per connection (RSS after all are open, minus RSS
before, over the number of connections) and the connect rate. Every repetition uses a
fresh server, after a few warm-up connections, so the first connection's one-off work
(imports, the fan-out hub) and memory freed by an earlier repetition do not count.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.clients import ClientPool, ClientSpec
from benchmarks.context import Context
from benchmarks.params import BARE, OURS
from benchmarks.runner import compare
from benchmarks.servers import ServerGroup

SYSTEMS = (OURS, BARE)
ONE_PROCESS = {"memory": 1, "redis": 1}


def _connect(ctx: Context, servers: ServerGroup, count: int, concurrency: int) -> dict[str, Any]:
    channel = ctx.channel(f"idle-{servers.kind}")
    token = ctx.token(channel) if servers.kind == OURS else ""
    urls = [servers.subscriber_url(i, channel, token) for i in range(count)]
    workers = min(ctx.params.client_processes, count)
    per_worker = max(1, concurrency // workers)
    specs = [
        ClientSpec("ws", urls[w::workers], 0, connect_concurrency=per_worker)
        for w in range(workers)
    ]
    rss_before = servers.rss_bytes()[0]
    pool = ClientPool(specs)
    try:
        ready = pool.ready(timeout=300)
        time.sleep(2.0)  # let the server settle: handshakes done, buffers released
        rss_after = servers.rss_bytes()[0]
        pool.send("go")
        results = pool.results(timeout=60)
        pool.close(timeout=120)
    finally:
        pool.stop()
    connected = sum(r["connected"] for r in ready)
    window = max(r.connect_ended for r in results) - min(r.connect_started for r in results)
    lost = sum(1 for r in results for e in r.errors if e.startswith("connection lost"))
    return {
        "connections": connected,
        "failed": count - connected,
        "lost": lost,
        "rss_before_mb": rss_before / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "rss_kb_per_connection": (rss_after - rss_before) / max(connected, 1) / 1024,
        "connects_per_s": connected / window if window > 0 else 0.0,
        "errors": [e for r in results for e in r.errors][:5],
    }


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params

    def one(servers: ServerGroup) -> dict[str, Any]:
        result = _connect(ctx, servers, p.capacity_connections, p.capacity_concurrency)
        if result["failed"]:
            ctx.fail(f"capacity/{servers.layer}/{servers.kind}: {result['failed']} refused")
        return result

    def warm_up(servers: ServerGroup) -> None:
        _connect(ctx, servers, 10, 10)
        time.sleep(1.0)

    return compare(
        ctx, "capacity", SYSTEMS, one, processes=ONE_PROCESS, fresh_servers=True, warm_up=warm_up
    )
