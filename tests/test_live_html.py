"""Live HTML over real sockets (Daphne in a child process): one render per message, however
many viewers."""

from __future__ import annotations

import asyncio
import html
import json
import re
from typing import Any

import httpx
import pytest
import websockets

from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish
from tests.keys import token_for
from tests.node_runner import CLIENTS, NodeClient, needs_node

VIEWERS = 100
MESSAGES = 5

# Live-server modules ask for the test database (the server shares it).
pytestmark = pytest.mark.django_db


async def renders(client: httpx.AsyncClient, server: DaphneServer) -> int:
    return int((await client.get(f"{server.url}/test-renders")).json().get("item", 0))


async def publish_items(
    client: httpx.AsyncClient, server: DaphneServer, name: str, numbers: range
) -> None:
    items = [
        {
            "action": "append",
            "target": "items",
            "template": "html_item.html",
            "context": {"n": n, "text": f"message {n}"},
        }
        for n in numbers
    ]
    res = await client.post(f"{server.url}/test-publish-html/{name}", json=items)
    res.raise_for_status()


def feed_token(page: str) -> tuple[dict[str, Any], str]:
    """The feed widget's embedded token and the position it was rendered at."""
    widget = re.search(r'data-inngest-realtime="feed"[^>]*data-since="(\d+)"', page)
    token = re.search(r'<script type="application/json">(.*?)</script>', page)
    assert widget and token, page
    return json.loads(html.unescape(token.group(1))), widget.group(1)


async def receive_data(ws: Any, count: int) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while len(frames) < count:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame.get("kind") == "data":
            frames.append(frame)
    return frames


async def test_a_hundred_viewers_cost_one_render_per_message(server: DaphneServer) -> None:
    name = "hundred"
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=20)) as client:
        await publish_items(client, server, name, range(0, 1))  # in history before the pages
        before = await renders(client, server)
        pages = await asyncio.gather(
            *[client.get(f"{server.url}/html-page/{name}") for _ in range(VIEWERS)]
        )
        # Showing the history rendered nothing again: every page holds the stored fragment.
        assert await renders(client, server) == before
        for page in pages:
            assert '<li id="item-0" class="item">message 0</li>' in page.text
        sockets = []
        try:
            for page in pages:
                token, since = feed_token(page.text)
                url = f"{server.ws_url}/v1/realtime/connect?token={token['key']}&since={since}"
                sockets.append(await websockets.connect(url))
            await publish_items(client, server, name, range(1, 1 + MESSAGES))
            received = await asyncio.gather(*[receive_data(ws, MESSAGES) for ws in sockets])
        finally:
            await asyncio.gather(*[ws.close() for ws in sockets])
        assert await renders(client, server) == before + MESSAGES
    expected = [
        {
            "action": "append",
            "target": "items",
            "html": f'<li id="item-{n}" class="item">message {n}</li>\n',
        }
        for n in range(1, 1 + MESSAGES)
    ]
    assert all([f["data"] for f in frames] == expected for frames in received)
    assert len(received) == VIEWERS


@needs_node
@pytest.mark.parametrize("client", CLIENTS)
async def test_inngest_clients_read_live_html_as_plain_data(
    server: DaphneServer, client: str
) -> None:
    """Inngest's own clients (inngest@4 and @inngest/realtime 0.4.7) do not choke on a
    live-HTML message: it is an ordinary ``data`` message with an object."""
    name = f"node-{client.replace('.', '')}"
    token = token_for(server, f"page:{name}", topics=["logs", "html"])
    async with NodeClient(client, server.url, token=token, count=2) as node:
        assert await node.line() == {"ready": True}
        async with httpx.AsyncClient(timeout=30) as http:
            await publish_items(http, server, name, range(1, 2))
        await post_publish(server, f"page:{name}", ["after the fragment"])
        got = [await node.line(), await node.line()]
    assert [(m["kind"], m["topic"], m["data"]) for m in got] == [
        (
            "data",
            "html",
            {
                "action": "append",
                "target": "items",
                "html": '<li id="item-1" class="item">message 1</li>\n',
            },
        ),
        ("data", "logs", "after the fragment"),
    ]
