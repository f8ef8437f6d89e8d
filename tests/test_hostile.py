"""Hostile clients against a real server: every abuse ends in a documented close code,
with an ``error`` frame saying why first, and every connection's clean-up runs: the
server's task count, its hub and Redis's subscriptions return to their baseline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from django.conf import settings

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer
from tests.asgi_servers import UvicornServer, start_uvicorn
from tests.conftest import start_server

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db

SOCKETS = 100
TOO_BIG = "x" * (70 * 1024)  # over MAX_FRAME_BYTES (64 KB), under the servers' own limits
TOO_DEEP = "[" * 30_000 + "]" * 30_000  # under MAX_FRAME_BYTES, past Python's recursion limit
ABUSES: dict[str, tuple[Any, int]] = {
    "oversize": (TOO_BIG, 1009),
    "deep": (TOO_DEEP, 4400),
    "nested": ('{"kind": "sub", "data": ' + "[" * 40 + "]" * 40 + "}", 4400),
    "binary": (b"\x00\x01", 4400),
    "garbage": ("{not json", 4400),
    "unknown": ('{"kind": "nope"}', 4400),
    "flood": (None, 4429),
}


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def abused_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, django_db_setup: None
) -> Iterator[DaphneServer]:
    server = (
        start_server(tmp_path_factory)
        if request.param == "daphne"
        else start_uvicorn(tmp_path_factory)
    )
    yield server
    server.stop()


async def abuse(url: str, kind: str) -> tuple[str, int, str, dict[str, Any] | None]:
    frame, _ = ABUSES[kind]
    error = None
    async with websockets.connect(url, max_size=None) as ws:
        try:
            if kind == "flood":
                for _ in range(500):
                    await ws.send('{"kind": "pong"}')
            else:
                await ws.send(frame)
            while True:
                got = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if got.get("kind") == "error":
                    error = got
        except websockets.ConnectionClosed:
            pass
    assert ws.close_code is not None
    return kind, ws.close_code, ws.close_reason or "", error


async def state(server: DaphneServer) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        hub = (await client.get("/test-hub")).json()
        tasks = (await client.get("/test-tasks")).json()["tasks"]
    return {"groups": hub["groups"], "subscribers": hub["subscribers"], "tasks": tasks}


def redis_subscriptions() -> int:
    """Our pub/sub channels in Redis (the scaled run's redis broker), else 0."""
    if not getattr(settings, "SCALED", False):
        return 0
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return len(client.pubsub_channels(f"{settings.PREFIX}:bus:*"))


async def test_abuse_closes_with_a_reason_and_leaks_nothing(abused_server: DaphneServer) -> None:
    server = abused_server
    key = get_subscription_token("live:hostile", topics=["logs"])["key"]
    url = f"{server.ws_url}/v1/realtime/connect?token={key}"
    async with websockets.connect(url):  # warm up: the hub's feed and the loop's tasks
        pass
    baseline = await state(server)
    before_redis = redis_subscriptions()
    kinds = list(ABUSES)
    results = await asyncio.gather(*(abuse(url, kinds[i % len(kinds)]) for i in range(SOCKETS)))
    for kind, code, reason, error in results:
        expected = ABUSES[kind][1]
        # The reason always arrives first, in the error frame. The close code too, unless the
        # client, busy, does not answer the close within the server's handshake timeout
        # (autobahn's: 1 s) and the server drops the connection (1006, "abnormal").
        assert error is not None and error["code"] == expected and error["reason"], (kind, error)
        assert code in (expected, 1006), (kind, code, error)
        if code != 1006 and isinstance(server, UvicornServer):  # Daphne drops close reasons
            assert reason == error["reason"], (kind, reason, error)
    for _ in range(200):  # disconnects are handled asynchronously
        now = await state(server)
        if now["groups"] == now["subscribers"] == 0 and now["tasks"] <= baseline["tasks"]:
            break
        await asyncio.sleep(0.1)
    assert now["groups"] == now["subscribers"] == 0, now
    assert now["tasks"] <= baseline["tasks"], (baseline, now)
    assert redis_subscriptions() <= before_redis
    log = server.log_path and Path(server.log_path).read_text()  # noqa: ASYNC240
    assert log is not None and "Traceback" not in log, log[-3000:]
