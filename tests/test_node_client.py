"""Inngest's own JavaScript client (npm @inngest/realtime) subscribing to a Django server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish

NODE_DIR = Path(__file__).parent / "node"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@inngest").is_dir(),
    reason="needs Node.js and `npm install --prefix tests/node` (.ci/run does both)",
)


async def test_official_client_receives_typed_messages(server: DaphneServer) -> None:
    token = get_subscription_token("live:node", topics=["logs", "votes"])
    env = {
        **os.environ,
        "TOKEN": json.dumps(token),
        "COUNT": "3",
        "INNGEST_BASE_URL": server.url,
        "INNGEST_DEV": "1",
    }
    node = await asyncio.create_subprocess_exec(
        "node",
        "--experimental-websocket",
        "subscribe.mjs",
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        ready = await asyncio.wait_for(node.stdout.readline(), 30)
        assert json.loads(ready) == {"ready": True}
        await post_publish(server, "live:node", ["hello from Django"])
        await post_publish(server, "live:node", [{"id": "p1", "likes": 3}], topic="votes")
        await post_publish(server, "live:node", ["bye"])
        lines = [json.loads(await asyncio.wait_for(node.stdout.readline(), 30)) for _ in range(3)]
        assert await asyncio.wait_for(node.wait(), 30) == 0
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
    assert lines == [
        {
            "kind": "data",
            "channel": "live:node",
            "topic": "logs",
            "data": "hello from Django",
            "runId": None,
            "createdAt": True,
        },
        {
            "kind": "data",
            "channel": "live:node",
            "topic": "votes",
            "data": {"id": "p1", "likes": 3},
            "runId": None,
            "createdAt": True,
        },
        {
            "kind": "data",
            "channel": "live:node",
            "topic": "logs",
            "data": "bye",
            "runId": None,
            "createdAt": True,
        },
    ]
