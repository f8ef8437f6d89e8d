"""The publish endpoint: ``POST /bench/publish`` runs the publisher inside the server.

The body is ``{"channel": "bench:x", "count": N, "rate": R, "size": B}``; ``rate`` 0
publishes back to back (yielding to the event loop once per message), otherwise on a
fixed schedule of ``rate`` messages per second. Each message's data carries its index
``i`` and ``t``, the wall-clock time just before the publish call, so clients measure
publish-to-receipt latency on the machine's shared clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from benchmarks.server.bare import MESSAGE_TYPE, bare_group
from benchmarks.server.channels import TOPIC, bench
from benchmarks.server.schedule import PublishSpec

Sender = Callable[[str, dict[str, Any]], Awaitable[int | None]]


async def _send_ours(channel: str, data: dict[str, Any]) -> int | None:
    from django_inngest_realtime import publish

    ref = bench(id=channel.removeprefix("bench:"))
    return (await publish(ref.topic(TOPIC)(data))).seq


async def _send_bare(channel: str, data: dict[str, Any]) -> int | None:
    from channels.layers import get_channel_layer

    layer: Any = get_channel_layer()
    text = json.dumps(data, separators=(",", ":"))
    await layer.group_send(
        bare_group(settings.PREFIX, channel), {"type": MESSAGE_TYPE, "text": text}
    )
    return None


async def _send_eventstream(channel: str, data: dict[str, Any]) -> int | None:
    from django_eventstream import send_event

    send_event(channel, TOPIC, data)
    return None


SENDERS: dict[str, Sender] = {
    "ours": _send_ours,
    "bare": _send_bare,
    "eventstream": _send_eventstream,
}


async def publish_view(request: HttpRequest) -> JsonResponse:
    spec = PublishSpec.parse(request.body)
    send = SENDERS[settings.SERVER]
    seqs: list[int] = []
    started = time.monotonic()
    async for i, data in spec.messages():
        seq = await send(spec.channel, data)
        if seq is not None and (i == 0 or i == spec.count - 1):
            seqs.append(seq)
    elapsed = time.monotonic() - started
    return JsonResponse({"sent": spec.count, "seconds": elapsed, "seqs": seqs})


async def state_view(request: HttpRequest) -> JsonResponse:
    """``GET /bench/state``: the server loop's tasks, our hub's groups and our Redis
    pub/sub subscriptions (for the soak scenario)."""
    from django_inngest_realtime.hub import get_hub

    tasks = len([t for t in asyncio.all_tasks() if not t.done()])
    subscriptions = 0
    if settings.LAYER == "redis":
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        subscriptions = len(await client.pubsub_channels(f"{settings.PREFIX}:bus:*"))
        await client.aclose()
    hub = get_hub()
    return JsonResponse(
        {"tasks": tasks, "groups": hub.group_count(), "redis_subscriptions": subscriptions}
    )


_marked: list[Any] = []


async def tracemalloc_view(request: HttpRequest) -> JsonResponse:
    """``POST /bench/tracemalloc`` ``{"action": "mark"}`` snapshots what is allocated now;
    ``{"action": "diff", "per": N}`` answers what was allocated since, by file, per
    ``N`` connections (the server runs with ``BENCH_TRACEMALLOC=1``)."""
    import gc
    import tracemalloc

    spec = json.loads(request.body)
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    if spec["action"] == "mark":
        _marked[:] = [snapshot]
        return JsonResponse({"marked": True})
    per = max(1, int(spec["per"]))
    stats = snapshot.compare_to(_marked[0], "filename")
    rows = [
        {
            "file": _short(stat.traceback[0].filename),
            "bytes_per_connection": stat.size_diff / per,
            "blocks_per_connection": stat.count_diff / per,
        }
        for stat in stats[:14]
    ]
    total = sum(stat.size_diff for stat in stats) / per
    return JsonResponse({"total_bytes_per_connection": total, "top": rows})


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", "/work/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
