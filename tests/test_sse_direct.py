"""Server-Sent Events written straight to Daphne's transport (``transports/daphne.py``,
``SSE_DIRECT_WRITES``), keep-alive pings from one timer (``keepalive.py``), and the
normal path wherever the direct one cannot be used."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from django_inngest_realtime import get_subscription_token
from django_inngest_realtime.keepalive import KeepAlive
from django_inngest_realtime.subscriber import PING, Frame, Subscriber
from django_inngest_realtime.subscriptions import json_sse_event
from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.transports.wire import http_chunk
from tests.conftest import post_publish, start_server

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db


def key(name: str, **kwargs: Any) -> str:
    return str(get_subscription_token(name, **kwargs)["key"])


async def hub_state(server: DaphneServer) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"{server.url}/test-hub")).json())


async def until_direct(server: DaphneServer, count: int) -> dict[str, int]:
    """Poll the server's hub until ``count`` subscribers are written to directly."""
    for _ in range(100):
        state = await hub_state(server)
        if state["direct"] == count:
            return state
        await asyncio.sleep(0.05)
    return state


class Events:
    """One stream's lines, read through a single iterator (httpx closes the response
    when an abandoned line iterator is collected)."""

    def __init__(self, res: httpx.Response) -> None:
        self.lines = res.aiter_lines()
        self.comments: list[str] = []

    async def line(self) -> str:
        return await asyncio.wait_for(self.lines.__anext__(), 10)

    async def read(self, count: int) -> list[dict[str, str]]:
        events: list[dict[str, str]] = []
        current: dict[str, str] = {}
        while len(events) < count:
            line = await self.line()
            if not line:
                if "data" in current:
                    events.append(current)
                current = {}
            elif line.startswith(":"):
                self.comments.append(line)
            elif ": " in line:
                field, value = line.split(": ", 1)
                current[field] = value
        return events


#: The SSE endpoint in front of Django (``routing.http_application``), and Django's view.
ENDPOINTS = {"asgi": "/v1/realtime/sse", "view": "/django-view/v1/realtime/sse"}


def sse_url(server: DaphneServer, name: str, via: str = "asgi", **query: str) -> str:
    params = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{server.url}{ENDPOINTS[via]}?token={key(name, topics=['logs'])}{params}"


both = pytest.mark.parametrize("via", list(ENDPOINTS))


@pytest.mark.parametrize(("seq", "text"), [(7, '{"a":1}'), (None, '{"kind":"gap"}')])
def test_a_frame_encodes_as_the_default_sse_encoder_does(seq: int | None, text: str) -> None:
    frame = Frame(seq, text)
    event = json_sse_event(seq, text).encode()
    assert frame.sse() == event
    assert frame.sse_chunk() == b"%x\r\n" % len(event) + event + b"\r\n"
    assert frame.sse_chunk() is frame.sse_chunk()  # built once, shared by every subscriber


def test_http_chunk() -> None:
    assert http_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"


async def test_one_timer_pings_only_the_idle_subscribers() -> None:
    timer = KeepAlive(asyncio.get_running_loop(), 0.05)
    busy, idle = Subscriber({"g"}, 10), Subscriber({"g"}, 10)
    timer.add(busy)
    timer.add(idle)

    async def keep_busy() -> None:
        for i in range(100):
            busy.push(Frame(i, "{}"))
            await asyncio.sleep(0.01)

    feeder = asyncio.create_task(keep_busy())
    try:
        assert await asyncio.wait_for(idle.get(), 5) is PING
        assert not busy.ping_due
        got = [await asyncio.wait_for(busy.get(), 5) for _ in range(3)]
    finally:
        feeder.cancel()
        timer.discard(busy)
        timer.discard(idle)
    assert PING not in got
    assert timer._timer is None  # no member left: the timer stops


@both
async def test_sse_events_are_written_directly_after_the_backlog(
    server: DaphneServer, via: str
) -> None:
    name = f"live:sse-direct1-{via}"
    before = await post_publish(server, name, ["b0", "b1", "b2"])
    url = sse_url(server, name, via, since=str(before[0] - 1))
    async with httpx.AsyncClient(timeout=10) as client, client.stream("GET", url) as res:
        stream = Events(res)
        backlog = await stream.read(3)
        assert (await until_direct(server, 1)) == {
            "groups": 1,
            "subscribers": 1,
            "direct": 1,
            "through_send": 0,
        }
        live = await post_publish(server, name, [f"l{i}" for i in range(50)])
        events = await stream.read(50)
    assert [json.loads(e["data"])["data"] for e in backlog] == ["b0", "b1", "b2"]
    assert [e["id"] for e in events] == [str(s) for s in live]
    assert [json.loads(e["data"])["data"] for e in events] == [f"l{i}" for i in range(50)]
    assert [json.loads(e["data"])["seq"] for e in events] == live


@both
async def test_a_stream_that_ends_gives_the_connection_back(server: DaphneServer, via: str) -> None:
    """A client that goes away leaves nothing behind; a keep-alive connection's next
    request on the same socket is answered normally."""
    name = f"live:sse-direct-end-{via}"
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", sse_url(server, name, via)) as res:
            await until_direct(server, 1)
            await post_publish(server, name, ["one"])
            assert json.loads((await Events(res).read(1))[0]["data"])["data"] == "one"
        for _ in range(100):
            if (await hub_state(server))["subscribers"] == 0:
                break
            await asyncio.sleep(0.05)
        assert await hub_state(server) == {
            "groups": 0,
            "subscribers": 0,
            "direct": 0,
            "through_send": 0,
        }


async def thread_count(server: DaphneServer) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{server.url}/test-threads")).json()["threads"])


@both
async def test_an_open_stream_holds_no_thread(server: DaphneServer, via: str) -> None:
    """Django's handler gives each request a thread for its sync work, which would live as
    long as the stream: it ends once the stream has begun (``request_thread.py``); in front
    of Django there is none."""
    name = f"live:sse-no-thread-{via}"
    before = await thread_count(server)
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        streams = []
        for _ in range(4):
            res = await stack.enter_async_context(client.stream("GET", sse_url(server, name, via)))
            streams.append(Events(res))
        for stream in streams:
            assert [await stream.line(), await stream.line()] == ["retry: 2000", ": connected"]
        for _ in range(100):
            during = await thread_count(server)
            if during <= before:
                break
            await asyncio.sleep(0.05)
        seqs = await post_publish(server, name, ["still live"])
        events = [(await stream.read(1))[0] for stream in streams]
    assert during <= before
    assert [e["id"] for e in events] == [str(seqs[0])] * 4


def server_with(env: dict[str, str], scope: Any = "module") -> Any:
    """A fixture: a test server with these environment variables (``tests/settings.py``)."""

    @pytest.fixture(scope=scope)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
        server = start_server(tmp_path_factory, env=env)
        yield server
        server.stop()

    return fixture


pinging_server = server_with({"TEST_SSE_KEEPALIVE": "0.2"})
#: Direct writes off, pings every 0.2 s: everything goes through Django and Daphne.
plain_server = server_with({"TEST_DIRECT_WRITES": "0", "TEST_SSE_KEEPALIVE": "0.2"})
gzip_server = server_with({"TEST_GZIP": "1"})
small_queue_server = server_with({"TEST_SUBSCRIBER_QUEUE_SIZE": "50"}, scope="function")


@both
@pytest.mark.parametrize("which", ["pinging_server", "plain_server"])
async def test_idle_streams_are_pinged_and_still_deliver(
    which: str, via: str, request: pytest.FixtureRequest
) -> None:
    server: DaphneServer = request.getfixturevalue(which)
    name = f"live:sse-ping-{which}-{via}"
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", sse_url(server, name, via)) as res,
    ):
        stream = Events(res)
        seen: list[str] = []
        while seen.count(": ping") < 2:
            seen.append(await stream.line())
        state = await hub_state(server)
        await post_publish(server, name, ["after pings"])
        events = await stream.read(1)
    assert seen[:2] == ["retry: 2000", ": connected"]
    assert state["direct"] == (1 if which == "pinging_server" else 0)
    assert json.loads(events[0]["data"])["data"] == "after pings"


async def test_a_middleware_that_rewrites_the_stream_keeps_the_normal_path(
    gzip_server: DaphneServer,
) -> None:
    """GZipMiddleware compresses each piece of the stream (one gzip member each): events
    must go through it, not around it (the view's stream; in front of Django, no
    middleware runs)."""
    server, name = gzip_server, "live:sse-gzip"
    headers = {"Accept-Encoding": "gzip"}
    text = b""

    async def until(needle: bytes, raw: Any) -> None:
        nonlocal text
        compressed = b""
        while needle not in text:
            compressed += await asyncio.wait_for(raw.__anext__(), 10)
            text, rest = b"", compressed
            while rest:  # every complete member so far
                member = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    text += member.decompress(rest)
                except zlib.error:
                    break
                if not member.eof:
                    break
                rest = member.unused_data

    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", sse_url(server, name, "view"), headers=headers) as res,
    ):
        assert res.headers["content-encoding"] == "gzip"
        raw = res.aiter_raw()
        await until(b": connected", raw)
        state = await hub_state(server)
        await post_publish(server, name, ["compressed"])
        await until(b"compressed", raw)
    assert state["subscribers"] == 1 and state["direct"] == 0
    assert b'"data":"compressed"' in text


@both
async def test_a_slow_sse_client_is_closed_as_slow_and_others_get_everything(
    small_queue_server: DaphneServer, via: str
) -> None:
    """A client that stops reading fills the socket's and Twisted's buffers; the writer is
    paused, events queue in the bounded buffer, and the stream is closed as slow while
    another client on the same server gets every event, directly."""
    server, name = small_queue_server, f"live:sse-slow-{via}"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    path = sse_url(server, name, via).removeprefix(server.url)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert b"connected" in await asyncio.to_thread(sock.recv, 4096)
    item = "x" * 50_000
    batches, per_batch = 12, 40
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", sse_url(server, name, via)) as res,
    ):
        await until_direct(server, 2)
        stream = Events(res)  # kept: the stream stays open while the state is read
        reader = asyncio.create_task(stream.read(batches * per_batch))
        seqs: list[int] = []
        for _ in range(batches):
            seqs += await post_publish(server, name, [item] * per_batch)
        events = await asyncio.wait_for(reader, 60)
        for _ in range(100):
            state = await hub_state(server)
            if state["subscribers"] == 1:
                break
            await asyncio.sleep(0.1)
    sock.close()
    assert [int(e["id"]) for e in events] == seqs
    assert state == {"groups": 1, "subscribers": 1, "direct": 1, "through_send": 0}
