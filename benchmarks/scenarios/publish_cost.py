"""4. Publish cost: microseconds per ``publish()`` against a bare ``group_send``.

In one process per layer (the in-memory layer with the ``local`` broker, Redis with the
``redis`` broker, and channels_rabbitmq with the ``channels`` broker and its history in
PostgreSQL), with a subscriber of each present and drained: ``publish()``
(validation, envelope, history, group send, to the fan-out hub) against
``channel_layer.group_send`` of the same data as a JSON text to a group with one
channel-layer channel (what a bare consumer app does). Both loops yield to the event
loop once per call, so the subscribers' work is inside both timings. Blocks of calls
alternate between the two; the result is the median block.

Run by the harness as ``python -m benchmarks.scenarios.publish_cost LAYER CALLS BLOCKS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.context import Context
from benchmarks.params import LAYERS
from benchmarks.runner import log, own_database, run_child


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    out: dict[str, Any] = {}
    # And the channels broker: fan-out through channels_rabbitmq, history in PostgreSQL.
    for layer in (*LAYERS, "rabbitmq"):
        env = {
            "DJANGO_SETTINGS_MODULE": "benchmarks.server.settings",
            "BENCH_SERVER": "ours",
            "BENCH_LAYER": layer,
            "BENCH_PREFIX": ctx.prefix,
        }
        if layer == "rabbitmq":
            env["BENCH_DB"] = "postgres"
        args = [str(p.publish_calls), str(p.publish_blocks)]
        try:
            out[layer] = run_child("benchmarks.scenarios.publish_cost", args, env, timeout=600)
            log(f"publish_cost/{layer}: {out[layer]['summary']}")
        except Exception as exc:
            ctx.fail(f"publish_cost/{layer} crashed: {exc}")
            out[layer] = {"error": str(exc)}
    return out


async def _measure(calls: int, blocks: int) -> dict[str, Any]:
    from channels.layers import get_channel_layer
    from django.conf import settings

    from benchmarks.server.bare import MESSAGE_TYPE, bare_group
    from benchmarks.server.channels import TOPIC, bench
    from django_inngest_realtime import publish, subscribe
    from django_inngest_realtime.brokers import get_broker

    layer: Any = get_channel_layer()
    ref = bench(id=f"{settings.PREFIX}-cost")
    tick = ref.topic(TOPIC)
    subscription = await subscribe(ref, topics=[TOPIC])
    group = bare_group(settings.PREFIX, ref.name)
    bare_channel = await layer.new_channel()
    await layer.group_add(group, bare_channel)

    async def drain_ours() -> None:
        while True:
            await subscription.next_frame()

    async def drain_bare() -> None:
        while True:
            await layer.receive(bare_channel)

    async def ours(i: int) -> None:
        await publish(tick({"i": i, "t": time.time(), "p": ""}))

    async def bare(i: int) -> None:
        text = json.dumps({"i": i, "t": time.time(), "p": ""}, separators=(",", ":"))
        await layer.group_send(group, {"type": MESSAGE_TYPE, "text": text})
        await asyncio.sleep(0)

    async def block(fn: Callable[[int], Awaitable[None]], n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            await fn(i)
        return (time.perf_counter() - started) / n * 1e6

    drains = [asyncio.create_task(drain_ours()), asyncio.create_task(drain_bare())]
    try:
        await block(ours, min(calls, 200))
        await block(bare, min(calls, 200))
        times: dict[str, list[float]] = {"publish_us": [], "group_send_us": []}
        for b in range(blocks):
            order = [("publish_us", ours), ("group_send_us", bare)]
            for name, fn in order if b % 2 == 0 else order[::-1]:
                times[name].append(await block(fn, calls))
                await asyncio.sleep(0.2)  # let the subscribers catch up between blocks
    finally:
        for task in drains:
            task.cancel()
        await subscription.close()
        await get_broker().aclose()
        if hasattr(layer, "close"):  # channels_rabbitmq's connection, before the loop ends
            await layer.close()
    summary = {
        name: {"median": statistics.median(v), "min": min(v), "max": max(v)}
        for name, v in times.items()
    }
    ratio = summary["publish_us"]["median"] / summary["group_send_us"]["median"]
    return {"blocks": times, "summary": summary, "ratio": ratio, "calls": calls}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.server.settings")
    import django

    django.setup()
    from django.db import connection

    calls, blocks = int(sys.argv[1]), int(sys.argv[2])
    # The channels broker keeps history in the database: a database of its own, dropped after.
    with own_database() if connection.vendor == "postgresql" else contextlib.nullcontext():
        result = asyncio.run(_measure(calls, blocks))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
