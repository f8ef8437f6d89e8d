"""End to end over real sockets: Daphne in a child process, real WebSocket and HTTP clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from django.conf import settings

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.testing.daphne import DaphneServer
from tests.conftest import post_publish, start_server

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db

cross_process_only = pytest.mark.skipif(
    not getattr(settings, "CROSS_PROCESS", False),
    reason="needs a cross-process broker (INNGEST_REALTIME_TEST_CONFIG=scaled or channels)",
)


def key(name: str, **kwargs: Any) -> str:
    return str(get_subscription_token(name, **kwargs)["key"])


async def test_websocket_receives_what_the_server_publishes(server: DaphneServer) -> None:
    url = f"{server.ws_url}/v1/realtime/connect?token={key('live:w1', topics=['logs'])}"
    async with websockets.connect(url) as ws:
        await post_publish(server, "live:w1", ["a", "b", "c"])
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
    assert [f["data"] for f in frames] == ["a", "b", "c"]
    assert {f["kind"] for f in frames} == {"data"} and all("run_id" not in f for f in frames)


async def test_sse_resumes_with_last_event_id(server: DaphneServer) -> None:
    seqs = await post_publish(server, "live:s1", ["one", "two", "three"])
    url = f"{server.url}/v1/realtime/sse"
    params = {"token": key("live:s1"), "since": "0"}
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", url, params=params) as res:
            assert res.status_code == 200
            assert res.headers["content-type"].startswith("text/event-stream")
            events = await read_sse(res, 3)
        assert [e["id"] for e in events] == [str(s) for s in seqs]
        later = await post_publish(server, "live:s1", ["four", "five"])
        headers = {"Last-Event-ID": str(seqs[-1])}
        async with client.stream("GET", url, params=params, headers=headers) as res:
            events = await read_sse(res, 2)
    assert [(e["id"], json.loads(e["data"])["data"]) for e in events] == [
        (str(later[0]), "four"),
        (str(later[1]), "five"),
    ]


async def test_sse_takes_the_key_from_an_authorization_header(server: DaphneServer) -> None:
    url = f"{server.url}/v1/realtime/sse"
    token = key("live:s-hdr", topics=["logs"])
    async with httpx.AsyncClient(timeout=10) as client:
        forged = {"Authorization": f"Bearer {token[:-3]}xyz"}
        assert (await client.get(url, headers=forged)).status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        async with client.stream("GET", url, params={"since": "0"}, headers=headers) as res:
            assert res.status_code == 200
            await post_publish(server, "live:s-hdr", ["by header"])
            events = await read_sse(res, 1)
    assert json.loads(events[0]["data"])["data"] == "by header"


async def read_sse(res: httpx.Response, count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    lines = res.aiter_lines()
    while len(events) < count:
        line = await asyncio.wait_for(lines.__anext__(), 10)
        if not line:
            if "data" in current:
                events.append(current)
            current = {}
        elif not line.startswith(":") and ": " in line:
            field, value = line.split(": ", 1)
            current[field] = value
    return events


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"token": "garbage"}, 400),
        ({"token": "forged:abc:def"}, 401),
        ({"topics": "votes"}, 403),
        ({"since": "-4"}, 400),
        ({}, 400),
    ],
)
async def test_sse_refusals(server: DaphneServer, query: dict[str, str], status: int) -> None:
    params = {"token": key("live:r", topics=["logs"]), **query}
    if not query:
        params = {}
    async with httpx.AsyncClient(timeout=10) as client:
        res = await client.get(f"{server.url}/v1/realtime/sse", params=params)
    assert res.status_code == status
    assert res.json()["error"]


async def test_sse_expired_token(server: DaphneServer) -> None:
    # The server's TTL is its own: make a token signed long ago.
    from django.core import signing

    from django_inngest_realtime.tokens import SALT

    class Past(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(0)

    old = Past(salt=SALT).sign_object({"c": "live:r", "t": ["logs"], "u": None}, compress=True)
    async with httpx.AsyncClient(timeout=10) as client:
        res = await client.get(f"{server.url}/v1/realtime/sse", params={"token": old})
    assert res.status_code == 410


async def test_thousand_clients_connect_at_once(server: DaphneServer) -> None:
    url = f"{server.ws_url}/v1/realtime/connect?token={key('live:many', topics=['logs'])}"
    sockets = await asyncio.gather(
        *(websockets.connect(url, open_timeout=60) for _ in range(1000)), return_exceptions=True
    )
    failures = [s for s in sockets if isinstance(s, BaseException)]
    try:
        assert not failures, failures[:3]
        await post_publish(server, "live:many", ["to all"])
        got = await asyncio.gather(*(asyncio.wait_for(s.recv(), 60) for s in sockets))
        assert {json.loads(g)["data"] for g in got} == {"to all"}
    finally:
        await asyncio.gather(*(s.close() for s in sockets if not isinstance(s, BaseException)))


@cross_process_only
async def test_resume_across_two_servers_after_a_crash(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    a, b = start_server(tmp_path_factory), start_server(tmp_path_factory)
    try:
        token = key("live:failover", topics=["logs"])
        received: list[dict[str, Any]] = []
        async with websockets.connect(f"{a.ws_url}/v1/realtime/connect?token={token}") as ws:
            await post_publish(b, "live:failover", [f"m{i}" for i in range(5)])
            for _ in range(5):
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            a.kill()  # the client's server dies mid-stream
            await post_publish(b, "live:failover", [f"m{i}" for i in range(5, 12)])
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        last = received[-1]["seq"]
        url = f"{b.ws_url}/v1/realtime/connect?token={token}&since={last}"
        async with websockets.connect(url) as ws:
            await post_publish(b, "live:failover", ["m12"])
            for _ in range(8):
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        assert [m["data"] for m in received] == [f"m{i}" for i in range(13)]
        first = received[0]["seq"]
        assert [m["seq"] for m in received] == list(range(first, first + 13))
    finally:
        a.stop()
        b.stop()
