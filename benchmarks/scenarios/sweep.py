"""13. Sweep: costs as curves, against the number of subscribers and of connections.

*Delivery*: at each subscriber count of ``sweep_subscribers``, one channel's subscribers
receive a steady ``sweep_deliveries`` deliveries/s (messages/s = that / subscribers: the
same load at every count, spread over fewer or more connections) for ``sweep_seconds``,
on the in-memory layer and one Daphne process, for our WebSocket endpoint, a bare
Channels consumer and django-eventstream (SSE). Reports server CPU per delivery, latency
p50 / p99 and loss per count. The three servers run side by side for the whole sweep
and each repetition visits every count and system in turn, so the machine's drift is
shared by all three. The bare consumer delivers ~2,000 messages/s here: it is asked for
at most ``sweep_bare_deliveries`` deliveries/s (the rate each point ran at is in the
results), otherwise its points would measure a backlog, not a delivery.

*Memory*: one fresh Daphne process per system (our WebSocket and SSE subscriptions, the
bare consumer, and Daphne's floor: a no-op application holding each WebSocket or SSE
connection), opened up to each count of ``sweep_connections`` in turn, connections kept
open between counts. Reports (RSS at the count - RSS before the first) / connections.
One repetition: the capacity scenario shows the figure moves by under 1 % between
repetitions.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from benchmarks.clients import ClientPool, ClientSpec
from benchmarks.context import Context
from benchmarks.delivery import measure
from benchmarks.params import BARE, EVENTSTREAM, FLOOR, OURS
from benchmarks.runner import log
from benchmarks.scenarios.capacity import FLOOR_SSE, OURS_SSE
from benchmarks.scenarios.fanout import warm_up
from benchmarks.servers import ServerGroup, serving
from benchmarks.stats import summarize

SYSTEMS = (OURS, BARE, EVENTSTREAM)
MEMORY_SYSTEMS = (OURS, OURS_SSE, BARE, FLOOR, FLOOR_SSE)
LAYER = "memory"


def rate_for(ctx: Context, system: str, subscribers: int) -> float:
    """Messages/s for ``system`` at ``subscribers``: ``sweep_deliveries`` deliveries/s,
    the bare consumer's capped at ``sweep_bare_deliveries``."""
    deliveries = ctx.params.sweep_deliveries
    if system == BARE:
        deliveries = min(deliveries, ctx.params.sweep_bare_deliveries)
    return deliveries / subscribers


def _delivery(ctx: Context) -> dict[str, Any]:
    """``{subscribers: {system: {rate, reps, summary, error}}}``."""
    p = ctx.params
    out: dict[str, Any] = {
        str(n): {s: {"rate": rate_for(ctx, s, n), "reps": [], "error": None} for s in SYSTEMS}
        for n in p.sweep_subscribers
    }
    with contextlib.ExitStack() as stack:
        groups: dict[str, ServerGroup] = {}
        for system in SYSTEMS:
            groups[system] = stack.enter_context(serving(system, LAYER, 1, ctx.prefix))
            warm_up(ctx, groups[system])
        for _ in range(p.repetitions):
            for n in p.sweep_subscribers:
                for system in SYSTEMS:
                    point = out[str(n)][system]
                    if point["error"]:
                        continue
                    label = f"sweep/{n}/{system}"
                    rate = point["rate"]
                    try:
                        rep = measure(
                            ctx,
                            groups[system],
                            subscribers=n,
                            messages=max(1, round(rate * p.sweep_seconds)),
                            rate=rate,
                            deadline=p.sweep_seconds * 10 + 60,
                        )
                    except Exception as exc:
                        point["error"] = f"{type(exc).__name__}: {exc}"
                        ctx.fail(f"{label} crashed: {point['error']}")
                        continue
                    point["reps"].append(rep)
                    log(
                        f"{label}: {rate:g} msg/s, "
                        f"{rep['server_cpu_us_per_delivery']:.1f} µs/delivery, "
                        f"p99 {rep['latency_p99_ms']:.1f} ms, lost {rep['lost']}"
                    )
                    if system == OURS and rep["lost"]:
                        ctx.fail(f"{label} lost {rep['lost']} messages")
    for systems in out.values():
        for point in systems.values():
            point["summary"] = summarize(point["reps"])
    return out


def _memory_curve(ctx: Context, servers: ServerGroup) -> list[dict[str, Any]]:
    """Open connections up to each count in turn; the RSS per connection at each."""
    p = ctx.params
    channel = ctx.channel(f"sweep-idle-{servers.kind}")
    token = ctx.token(channel) if servers.kind == OURS else ""
    transport = servers.transport()
    workers = p.client_processes
    per_worker = max(1, p.capacity_concurrency // workers)
    pools: list[ClientPool] = []
    points: list[dict[str, Any]] = []
    try:
        rss_before = servers.rss_bytes()[0]
        opened = failed = 0
        for count in p.sweep_connections:
            urls = [servers.subscriber_url(i, channel, token) for i in range(opened, count)]
            specs = [
                ClientSpec(transport, urls[w::workers], 0, connect_concurrency=per_worker)
                for w in range(workers)
                if urls[w::workers]
            ]
            pool = ClientPool(specs)
            pools.append(pool)
            connected = sum(r["connected"] for r in pool.ready(timeout=300))
            failed += count - opened - connected
            opened = count
            time.sleep(2.0)  # as in capacity: handshakes done, buffers released
            rss = servers.rss_bytes()[0]
            connections = count - failed
            points.append(
                {
                    "count": count,
                    "connections": connections,
                    "failed": failed,
                    "rss_mb": rss / 2**20,
                    "rss_kb_per_connection": (rss - rss_before) / max(connections, 1) / 1024,
                }
            )
        if failed:
            ctx.fail(f"sweep/memory/{servers.system}: {failed} of {opened} refused")
        for pool in pools:
            pool.send("go")
        lost = sum(
            1
            for pool in pools
            for r in pool.results(timeout=60)
            for e in r.errors
            if e.startswith("connection lost")
        )
        for pool in pools:
            pool.close(timeout=120)
    finally:
        for pool in pools:
            pool.stop()
    if lost:
        ctx.fail(f"sweep/memory/{servers.system}: {lost} connections lost while idle")
    return points


def _memory(ctx: Context) -> dict[str, Any]:
    """``{system: {"points": [...], "error": ...}}``."""
    out: dict[str, Any] = {}
    # The smoke run, to stay well under a minute, runs ours only: the other systems' memory
    # is in the capacity scenario's smoke run.
    for system in MEMORY_SYSTEMS[:1] if ctx.quick else MEMORY_SYSTEMS:
        try:
            with serving(system, LAYER, 1, ctx.prefix) as servers:
                _warm_connections(ctx, servers)
                points = _memory_curve(ctx, servers)
            out[system] = {"points": points, "error": None}
            brief = ", ".join(
                f"{pt['connections']:,}: {pt['rss_kb_per_connection']:.1f} KB" for pt in points
            )
            log(f"sweep/memory/{system}: {brief}")
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            ctx.fail(f"sweep/memory/{system} crashed: {error}")
            out[system] = {"points": [], "error": error}
    return out


def _warm_connections(ctx: Context, servers: ServerGroup) -> None:
    """A few connections opened and closed first, so one-off work is not counted."""
    channel = ctx.channel(f"sweep-warm-{servers.kind}")
    token = ctx.token(channel) if servers.kind == OURS else ""
    urls = [servers.subscriber_url(i, channel, token) for i in range(10)]
    pool = ClientPool([ClientSpec(servers.transport(), urls, 0, connect_concurrency=10)])
    try:
        pool.ready(timeout=60)
        pool.send("go")
        pool.results(timeout=60)
        pool.close()
    finally:
        pool.stop()
    time.sleep(1.0)


def run(ctx: Context) -> dict[str, Any]:
    return {"delivery": _delivery(ctx), "memory": _memory(ctx)}
