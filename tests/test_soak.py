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

SECONDS = float(os.environ.get("SOAK_SECONDS", "8"))
CHANNELS = [f"live:soak{i}" for i in range(5)]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def subscriber(server: DaphneServer, stop: float, counts: dict[str, int]) -> None:
    rng = random.Random()
    while time.monotonic() < stop:
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


async def publisher(server: DaphneServer, stop: float, counts: dict[str, int]) -> None:
    rng = random.Random()
    while time.monotonic() < stop:
        await post_publish(server, rng.choice(CHANNELS), [f"m{counts['sent']}"])
        counts["sent"] += 1
        await asyncio.sleep(0.005)


async def test_soak(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory)
    assert server.process is not None and server.log_path is not None
    try:
        counts = {"sent": 0, "received": 0, "connections": 0}
        stop = time.monotonic() + 1.0
        await asyncio.gather(*(subscriber(server, stop, counts) for _ in range(10)))
        baseline = rss_kb(server.process.pid)
        stop = time.monotonic() + SECONDS
        await asyncio.gather(
            publisher(server, stop, counts),
            publisher(server, stop, counts),
            *(subscriber(server, stop, counts) for _ in range(40)),
        )
        print(f"soak: {counts}")
        assert counts["sent"] > 50 and counts["received"] > 0, counts
        async with httpx.AsyncClient() as client:
            for _ in range(50):  # disconnects are processed asynchronously
                state = (await client.get(f"{server.url}/test-hub")).json()
                if state == {"groups": 0, "subscribers": 0, "direct": 0}:
                    break
                await asyncio.sleep(0.1)
        assert state == {"groups": 0, "subscribers": 0, "direct": 0}, "group memberships leaked"
        grown = rss_kb(server.process.pid) - baseline
        assert grown < 30_000, f"server memory grew by {grown} KB"
    finally:
        server.stop()
    log = await asyncio.to_thread(Path(server.log_path).read_text)
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
