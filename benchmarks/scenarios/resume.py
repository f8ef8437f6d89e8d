"""5. Resume: a client that missed messages reconnects with ``&since=N``.

Messages are published while nobody listens; the client then connects (to the other
process on Redis) with the position before them. Reports the time from the start of
its connect until it holds every missed message, in order of arrival.
"""

from __future__ import annotations

from typing import Any

import httpx

from benchmarks.clients import ClientPool, ClientSpec
from benchmarks.context import Context
from benchmarks.params import OURS
from benchmarks.runner import compare
from benchmarks.servers import ServerGroup


def run(ctx: Context) -> dict[str, Any]:
    missed = ctx.params.resume_missed

    def one(servers: ServerGroup) -> dict[str, Any]:
        channel = ctx.channel("resume")
        body = {"channel": channel, "count": missed, "rate": 0}
        published = httpx.post(servers.publish_url, json=body, timeout=120).json()
        since = int(published["seqs"][0]) - 1
        url = servers.subscriber_url(1, channel, ctx.token(channel)) + f"&since={since}"
        pool = ClientPool([ClientSpec("ws", [url], missed, idle_timeout=10, deadline=60)])
        try:
            pool.ready(timeout=60)
            pool.send("go")
            (result,) = pool.results(timeout=120)
            pool.close()
        finally:
            pool.stop()
        received = sum(result.received)
        return {
            "missed": missed,
            "received": received,
            "lost": missed - received,
            "duplicates": result.duplicates,
            "seconds_to_all": result.last_receipt - result.connect_started,
            "messages_per_s": received / max(result.last_receipt - result.connect_started, 1e-9),
            "errors": result.errors[:5],
        }

    return compare(ctx, "resume", (OURS,), one)
