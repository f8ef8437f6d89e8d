"""7. Soak: hostile connections mixed with well-behaved subscribers, on one Daphne process.

Loopback only, and it stops by itself: ``soak_cycles`` connections each open, abuse the
server one of five ways (an oversize frame, too-deep JSON, a binary frame, a flood, or
simply vanish without a close) and go, ``soak_concurrency`` at a time, while
``soak_subscribers`` well-behaved subscribers receive ``soak_messages`` messages
published meanwhile. Reports the server's asyncio tasks, hub groups, resident memory and
(on Redis) our pub/sub subscriptions before and after, and the well-behaved subscribers'
losses. Anything not back to its baseline, or any loss, is a failure.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets

from benchmarks.context import Context
from benchmarks.params import OURS
from benchmarks.runner import compare, log
from benchmarks.servers import ServerGroup

ABUSES = ("oversize", "deep", "binary", "flood", "vanish")


async def _abuse(url: str, how: str) -> None:
    try:
        async with websockets.connect(url, max_size=None, open_timeout=60) as ws:
            if how == "oversize":
                await ws.send("x" * (70 * 1024))
            elif how == "deep":
                await ws.send("[" * 30_000 + "]" * 30_000)
            elif how == "binary":
                await ws.send(b"\x00" * 16)
            elif how == "flood":
                for _ in range(200):
                    await ws.send('{"kind":"pong"}')
            else:  # vanish: drop the TCP connection without a closing handshake
                ws.transport.abort()
                return
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed:
                pass
    except (OSError, websockets.WebSocketException, TimeoutError):
        pass


async def _subscriber(url: str, expected: int, got: list[int], ready: asyncio.Event) -> None:
    async with websockets.connect(url, open_timeout=60) as ws:
        ready.set()
        seen: set[int] = set()
        while len(seen) < expected:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame.get("kind") == "data":
                seen.add(frame["data"]["i"])
        got.append(len(seen))


async def _state(servers: ServerGroup) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        state = (await client.get(f"{servers.servers[0].url}/bench/state")).json()
    state["rss_mb"] = servers.rss_bytes()[0] / 2**20
    return dict(state)


async def _soak(ctx: Context, servers: ServerGroup) -> dict[str, Any]:
    p = ctx.params
    channel = ctx.channel("soak")
    url = servers.subscriber_url(0, channel, ctx.token(channel))
    await _abuse(url, "binary")  # warm-up: imports, the hub's feed
    before = await _state(servers)
    got: list[int] = []
    readies = [asyncio.Event() for _ in range(p.soak_subscribers)]
    subscribers = [
        asyncio.create_task(_subscriber(url, p.soak_messages, got, ready)) for ready in readies
    ]
    await asyncio.gather(*(ready.wait() for ready in readies))
    limit = asyncio.Semaphore(p.soak_concurrency)
    stuck: dict[str, int] = {}

    async def cycle(i: int) -> None:
        how = ABUSES[i % len(ABUSES)]
        async with limit:
            try:
                await asyncio.wait_for(_abuse(url, how), 60)
            except TimeoutError:  # not closed within 60 s (reported; leaks are judged after)
                stuck[how] = stuck.get(how, 0) + 1

    started = time.monotonic()
    abusers = asyncio.gather(*(cycle(i) for i in range(p.soak_cycles)))
    async with httpx.AsyncClient(timeout=300) as client:
        body = {"channel": channel, "count": p.soak_messages, "rate": 20.0}
        (await client.post(servers.publish_url, json=body)).raise_for_status()
    await abusers
    await asyncio.wait_for(asyncio.gather(*subscribers), 120)
    seconds = time.monotonic() - started
    after = before
    for _ in range(1200):  # disconnects are handled asynchronously (a busy machine: 2 min)
        after = await _state(servers)
        if after["tasks"] <= before["tasks"] and after["groups"] == 0:
            break
        await asyncio.sleep(0.1)
    return {
        "cycles": p.soak_cycles,
        "seconds": seconds,
        "tasks_before": before["tasks"],
        "tasks_after": after["tasks"],
        "groups_after": after["groups"],
        "redis_subscriptions_before": before["redis_subscriptions"],
        "redis_subscriptions_after": after["redis_subscriptions"],
        "rss_before_mb": before["rss_mb"],
        "rss_after_mb": after["rss_mb"],
        "lost": sum(p.soak_messages - n for n in got) + p.soak_messages * (len(readies) - len(got)),
        "not_closed_in_60s": stuck,
    }


def run(ctx: Context) -> dict[str, Any]:
    def one(servers: ServerGroup) -> dict[str, Any]:
        result = asyncio.run(_soak(ctx, servers))
        label = f"soak/{servers.layer}"
        if result["tasks_after"] > result["tasks_before"] or result["groups_after"]:
            ctx.fail(f"{label}: not back to baseline: {result}")
        if result["redis_subscriptions_after"] > result["redis_subscriptions_before"]:
            ctx.fail(f"{label}: Redis subscriptions grew: {result}")
        log(f"{label}: {result}")
        return result

    return compare(ctx, "soak", (OURS,), one, processes={"memory": 1, "redis": 1})
