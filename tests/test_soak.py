"""A bounded soak: subscribers come and go while publishers publish (loopback only)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path

import httpx
import pytest
import websockets

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish, start_server

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db

#: Messages each of the two publishers sends; the soak lasts as long as that takes, so it
#: asserts counts, not rates (a busy machine just takes longer).
MESSAGES = int(os.environ.get("SOAK_MESSAGES", "60"))
CHANNELS = [f"live:soak{i}" for i in range(5)]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def subscriber(server: DaphneServer, done: asyncio.Event, counts: dict[str, int]) -> None:
    rng = random.Random()
    while not done.is_set():
        name = rng.choice(CHANNELS)
        key = get_subscription_token(name, topics=["logs"])["key"]
        async with websockets.connect(f"{server.ws_url}/v1/realtime/connect?token={key}") as ws:
            counts["connections"] += 1
            until = time.monotonic() + rng.uniform(0.05, 0.6)
            while time.monotonic() < until:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 0.1))
                except TimeoutError:
                    continue
                assert frame["channel"] == name
                counts["received"] += 1


async def publisher(server: DaphneServer, counts: dict[str, int]) -> None:
    rng = random.Random()
    for _ in range(MESSAGES):
        await post_publish(server, rng.choice(CHANNELS), [f"m{counts['sent']}"])
        counts["sent"] += 1
        await asyncio.sleep(0.005)


async def test_soak(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory)
    assert server.process is not None and server.log_path is not None
    try:
        counts = {"sent": 0, "received": 0, "connections": 0}
        warm = asyncio.Event()
        warming = [asyncio.create_task(subscriber(server, warm, counts)) for _ in range(10)]
        await post_publish(server, CHANNELS[0], ["warm-up"])
        warm.set()
        await asyncio.gather(*warming)
        baseline = rss_kb(server.process.pid)
        done = asyncio.Event()
        subscribers = [asyncio.create_task(subscriber(server, done, counts)) for _ in range(20)]
        await asyncio.gather(publisher(server, counts), publisher(server, counts))
        done.set()
        await asyncio.gather(*subscribers)
        print(f"soak: {counts}")
        assert counts["sent"] == 2 * MESSAGES and counts["received"] > 0, counts
        async with httpx.AsyncClient() as client:
            for _ in range(50):  # disconnects are processed asynchronously
                state = (await client.get(f"{server.url}/test-hub")).json()
                if state == {"groups": 0, "subscribers": 0, "direct": 0, "through_send": 0}:
                    break
                await asyncio.sleep(0.1)
        assert state == {"groups": 0, "subscribers": 0, "direct": 0, "through_send": 0}, (
            "group memberships leaked"
        )
        grown = rss_kb(server.process.pid) - baseline
        assert grown < 30_000, f"server memory grew by {grown} KB"
    finally:
        server.stop()
    log = await asyncio.to_thread(Path(server.log_path).read_text)
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
