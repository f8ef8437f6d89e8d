"""3. Capacity: many idle subscriptions on one Daphne process.

Reports the server's resident memory per connection (RSS after all are open, minus RSS
before, over the number of connections) and the connect rate, for our WebSocket and SSE
subscriptions, a bare Channels consumer, and Daphne's own floor (a no-op ASGI
application holding each WebSocket or SSE connection), all in the same run. Every
repetition uses a fresh server, after a few warm-up connections, so the first
connection's one-off work (imports, the fan-out hub) and memory freed by an earlier
repetition do not count.

Then, once per transport of ours, a server under ``tracemalloc`` says where the Python
bytes of a connection go, by file (``tracemalloc`` sees Python's allocations only, not
the kernel's or the allocator's overhead, so its total is below the RSS figure).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from benchmarks.clients import ClientPool, ClientSpec
from benchmarks.context import Context
from benchmarks.params import BARE, FLOOR, OURS
from benchmarks.runner import compare, log
from benchmarks.servers import ServerGroup, serving

OURS_SSE, FLOOR_SSE = "ours-sse", "floor-sse"
SYSTEMS = (OURS, OURS_SSE, BARE, FLOOR, FLOOR_SSE)
ONE_PROCESS = {"memory": 1, "redis": 1}


def _connect(
    ctx: Context, servers: ServerGroup, count: int, concurrency: int, probe: bool = False
) -> dict[str, Any]:
    channel = ctx.channel(f"idle-{servers.kind}")
    token = ctx.token(channel) if servers.kind == OURS else ""
    transport = servers.transport()
    urls = [servers.subscriber_url(i, channel, token) for i in range(count)]
    workers = min(ctx.params.client_processes, count)
    per_worker = max(1, concurrency // workers)
    specs = [
        ClientSpec(transport, urls[w::workers], 0, connect_concurrency=per_worker)
        for w in range(workers)
    ]
    probe_url = servers.publish_url.replace("/bench/publish", "/bench/tracemalloc")
    if probe:
        httpx.post(probe_url, json={"action": "mark"}, timeout=60).raise_for_status()
    rss_before = servers.rss_bytes()[0]
    pool = ClientPool(specs)
    try:
        ready = pool.ready(timeout=300)
        time.sleep(2.0)  # let the server settle: handshakes done, buffers released
        rss_after = servers.rss_bytes()[0]
        connected = sum(r["connected"] for r in ready)
        allocated = None
        if probe:
            body = {"action": "diff", "per": connected}
            allocated = httpx.post(probe_url, json=body, timeout=120).json()
        pool.send("go")
        results = pool.results(timeout=60)
        pool.close(timeout=120)
    finally:
        pool.stop()
    window = max(r.connect_ended for r in results) - min(r.connect_started for r in results)
    lost = sum(1 for r in results for e in r.errors if e.startswith("connection lost"))
    out = {
        "connections": connected,
        "failed": count - connected,
        "lost": lost,
        "rss_before_mb": rss_before / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "rss_kb_per_connection": (rss_after - rss_before) / max(connected, 1) / 1024,
        "connects_per_s": connected / window if window > 0 else 0.0,
        "errors": [e for r in results for e in r.errors][:5],
    }
    if allocated is not None:
        out["tracemalloc"] = allocated
    return out


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params

    def one(servers: ServerGroup) -> dict[str, Any]:
        result = _connect(ctx, servers, p.capacity_connections, p.capacity_concurrency)
        if result["failed"]:
            ctx.fail(f"capacity/{servers.layer}/{servers.system}: {result['failed']} refused")
        return result

    def warm_up(servers: ServerGroup) -> None:
        _connect(ctx, servers, 10, 10)
        time.sleep(1.0)

    out = compare(
        ctx,
        "capacity",
        SYSTEMS,
        one,
        processes=ONE_PROCESS,
        fresh_servers=True,
        warm_up=warm_up,
        layers=("memory",),
    )
    # Where our bytes go: fewer connections, tracemalloc slows everything down (not in
    # the smoke run).
    count = min(p.capacity_connections, 1000)
    out["tracemalloc"] = {}
    for system in () if ctx.quick else (OURS, OURS_SSE):
        env = {"BENCH_TRACEMALLOC": "1"}
        with serving(system, "memory", 1, ctx.prefix, env=env) as servers:
            warm_up(servers)
            probed = _connect(ctx, servers, count, p.capacity_concurrency, probe=True)
        out["tracemalloc"][system] = {"connections": probed["connections"], **probed["tracemalloc"]}
        total = probed["tracemalloc"]["total_bytes_per_connection"]
        log(f"capacity/tracemalloc/{system}: {total:.0f} B per connection")
    return out
