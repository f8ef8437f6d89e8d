"""One delivery measurement: subscribers connect, the server publishes, clients count.

Shared by the fan-out burst (scenario 1) and the steady rate (scenario 2): the publisher
runs inside the first server (``POST /bench/publish``), subscribers are spread over the
servers, and the servers' CPU time is read before the publish starts and after the last
client has reported, before any connection closes (and, apart, while the subscribers
connect). ``meters`` read more counters at the same two moments (a Redis server's CPU,
each server process's own), and the result carries their differences; with
``idle_seconds``, also over that many seconds with every subscriber connected and
nothing published, just before (as ``idle_<name>``).
"""

from __future__ import annotations

import array
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from benchmarks.clients import ClientPool, ClientResult, ClientSpec
from benchmarks.context import Context
from benchmarks.params import OURS
from benchmarks.servers import ServerGroup
from benchmarks.stats import percentile

#: Cumulative counters by name (CPU seconds...), read before and after the messages.
Meter = Callable[[], dict[str, float]]


def measure(
    ctx: Context,
    servers: ServerGroup,
    *,
    subscribers: int,
    messages: int,
    rate: float = 0.0,
    deadline: float = 300.0,
    transport: str | None = None,
    meters: Sequence[Meter] = (),
    idle_seconds: float = 0.0,
    refused_ok: bool = False,
) -> dict[str, Any]:
    """Publish ``messages`` (at ``rate`` per second; 0: back to back) to ``subscribers``,
    connected over ``transport`` (``ws`` or ``sse``; the server kind's own by default).

    A refused connection raises, unless ``refused_ok``: then the result counts it
    (``refused``) and the others are measured.
    """
    channel = ctx.channel(servers.kind)
    token = ctx.token(channel) if servers.kind == OURS else ""
    kind = transport or servers.transport()
    urls = [servers.subscriber_url(i, channel, token, kind) for i in range(subscribers)]
    workers = min(ctx.params.client_processes, subscribers)
    specs = [
        ClientSpec(
            kind,
            urls[w::workers],
            messages,
            # channels_redis's pool (100 connections, failing fast) refuses bare consumers'
            # group_add beyond that many at once: handshakes stay within it.
            connect_concurrency=max(1, ctx.params.capacity_concurrency // workers),
            idle_timeout=ctx.params.idle_timeout,
            deadline=deadline,
        )
        for w in range(workers)
    ]
    connect_cpu = servers.cpu_seconds()
    pool = ClientPool(specs)
    try:
        ready = pool.ready(timeout=180 + subscribers / 20)
        failed = sum(r["failed"] for r in ready)
        if failed and not refused_ok:
            raise RuntimeError(f"{failed} of {subscribers} subscribers could not connect")
        connect_cpu = servers.cpu_seconds() - connect_cpu
        idle = [meter() for meter in meters]
        if idle_seconds:
            time.sleep(idle_seconds)
        cpu0, started = servers.cpu_seconds(), time.time()
        before = [meter() for meter in meters]
        pool.send("go")
        body = {"channel": channel, "count": messages, "rate": rate}
        published = httpx.post(servers.publish_url, json=body, timeout=deadline).json()
        results = pool.results(timeout=deadline + 60)
        cpu = servers.cpu_seconds() - cpu0
        after = [meter() for meter in meters]
        pool.close()
    finally:
        pool.stop()
    out = _metrics(results, (subscribers - failed) * messages, started, cpu, published)
    window = max(r.connect_ended for r in results) - min(r.connect_started for r in results)
    out.update(
        refused=failed,
        connect_seconds=window,
        server_cpu_connect_s=connect_cpu,
        client_cpu_connect_s=sum(r["cpu_seconds"] for r in ready),
    )
    for first, old, new in zip(idle, before, after, strict=True):
        out.update({key: new[key] - old[key] for key in new})
        if idle_seconds:
            out.update({f"idle_{key}": old[key] - first[key] for key in old})
    return out


def _metrics(
    results: list[ClientResult],
    expected: int,
    started: float,
    server_cpu: float,
    published: dict[str, Any],
) -> dict[str, Any]:
    latencies = array.array("d")
    for result in results:
        latencies.frombytes(result.latencies)
    ordered = sorted(latencies)
    delivered = sum(sum(r.received) for r in results)
    window = max((r.last_receipt for r in results), default=started) - started
    client_cpu = sum(r.cpu_seconds for r in results)
    errors = [e for r in results for e in r.errors]
    return {
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "duplicates": sum(r.duplicates for r in results),
        "seconds": window,
        "deliveries_per_s": delivered / window if window > 0 else 0.0,
        "publish_rate": published["sent"] / published["seconds"] if published["seconds"] else 0.0,
        "latency_p50_ms": percentile(ordered, 50) * 1000,
        "latency_p99_ms": percentile(ordered, 99) * 1000,
        "latency_max_ms": (ordered[-1] if ordered else float("nan")) * 1000,
        "server_cpu_us_per_delivery": server_cpu / delivered * 1e6 if delivered else 0.0,
        "client_cpu_us_per_delivery": client_cpu / delivered * 1e6 if delivered else 0.0,
        # Share of one core each client process used while receiving: near 1.0 would mean
        # the load generator, not the server, set the pace.
        "client_cpu_share": client_cpu / len(results) / window if window > 0 else 0.0,
        "server_cpu_s": server_cpu,
        "client_cpu_s": client_cpu,
        "errors": errors[:5],
    }
