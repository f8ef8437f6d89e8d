"""Direct writes of live frames to Daphne's transport (``transports/daphne.py``): the
frame encoding, when the path is taken, and, through a real Daphne, order, control frames
and slow clients."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from autobahn.websocket.protocol import PreparedMessage
from channels.testing import WebsocketCommunicator

from django_inngest_realtime import get_subscription_token, publish
from django_inngest_realtime.consumers import RealtimeConsumer
from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.topics import registry
from django_inngest_realtime.transports import direct_writer
from django_inngest_realtime.transports.daphne import DirectWriter, daphne_protocol
from django_inngest_realtime.transports.wire import text_frame
from tests.conftest import post_publish, start_server

# Live servers of the channels configuration keep history in the test database.
pytestmark = pytest.mark.django_db


def key(name: str, **kwargs: Any) -> str:
    return str(get_subscription_token(name, **kwargs)["key"])


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_matches_autobahn_framing(size: int) -> None:
    text = ("é" * size)[: size // 2] + "x" * (size - size // 2)
    expected = PreparedMessage(text.encode(), False, False, False).payloadHybi
    assert text_frame(text) == expected


def test_non_daphne_sends_take_the_normal_path() -> None:
    async def send(message: dict[str, Any]) -> None:
        return None

    class NotDaphne:
        async def handle_reply(self, protocol: Any, message: dict[str, Any]) -> None:
            return None

    assert daphne_protocol(send) is None
    assert daphne_protocol(functools.partial(NotDaphne().handle_reply, object())) is None
    assert direct_writer(send) is None


@pytest.mark.django_db(transaction=True)
async def test_channels_communicator_takes_the_normal_path() -> None:
    writers: list[DirectWriter | None] = []

    class Probe(RealtimeConsumer):
        async def connect(self) -> None:
            await super().connect()
            writers.append(self.writer)

    token = key("live:direct-comm", topics=["logs"])
    comm = WebsocketCommunicator(Probe.as_asgi(), f"/v1/realtime/connect?token={token}")
    connected, _ = await comm.connect()
    assert connected
    await publish(registry.resolve("live:direct-comm").topic("logs")("through the pump"))
    frame = json.loads(await comm.receive_from(5))
    await comm.disconnect()
    assert writers == [None]
    assert frame["data"] == "through the pump"


async def hub_state(server: DaphneServer) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"{server.url}/test-hub")).json())


async def test_daphne_writes_live_frames_directly_after_the_backlog(server: DaphneServer) -> None:
    before = await post_publish(server, "live:direct1", ["b0", "b1", "b2"])
    url = (
        f"{server.ws_url}/v1/realtime/connect?token={key('live:direct1', topics=['logs'])}"
        f"&since={before[0] - 1}"
    )
    async with websockets.connect(url) as ws:
        backlog = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
        assert (await hub_state(server))["direct"] == 1
        live = await post_publish(server, "live:direct1", [f"l{i}" for i in range(50)])
        await ws.send('{"kind":"ping"}')  # a control frame on the normal path, in between
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(51)]
    data = [f for f in frames if f["kind"] == "data"]
    assert [f["data"] for f in backlog] == ["b0", "b1", "b2"]
    assert [f["seq"] for f in data] == live
    assert [f["data"] for f in data] == [f"l{i}" for i in range(50)]
    assert [f for f in frames if f["kind"] != "data"] == [{"kind": "pong"}]


async def test_multiplexed_subscriptions_share_the_socket_writer(server: DaphneServer) -> None:
    async with websockets.connect(f"{server.ws_url}/v1/realtime/connect") as ws:
        for name in ("live:direct-a", "live:direct-b"):
            await ws.send(json.dumps({"kind": "sub", "data": key(name, topics=["logs"])}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["kind"] == "sub"
        await post_publish(server, "live:direct-a", ["a1", "a2"])
        await post_publish(server, "live:direct-b", ["b1"])
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
        assert (await hub_state(server))["direct"] >= 2
        await ws.send(json.dumps({"kind": "unsub", "channel": "live:direct-a"}))
        await post_publish(server, "live:direct-a", ["a3"])
        await post_publish(server, "live:direct-b", ["b2"])
        after = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert [(f["channel"], f["data"]) for f in frames] == [
        ("live:direct-a", "a1"),
        ("live:direct-a", "a2"),
        ("live:direct-b", "b1"),
    ]
    assert (after["channel"], after["data"]) == ("live:direct-b", "b2")


async def task_count(server: DaphneServer) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{server.url}/test-tasks")).json()["tasks"])


@pytest.fixture
def pinging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
    """A server that pings every WebSocket every 0.2 s."""
    server = start_server(tmp_path_factory, env={"TEST_WS_PING_INTERVAL": "0.2"})
    yield server
    server.stop()


async def test_idle_sockets_hold_no_task_of_ours_and_one_timer_pings_them(
    pinging_server: DaphneServer,
) -> None:
    """Written to directly, an idle subscription needs no pump task and its socket no ping
    task, and the consumer's receive loop is its own (no task of Channels'): what remains
    per connection is Daphne's application task."""
    server, name, count = pinging_server, "live:direct-idle", 5
    url = f"{server.ws_url}/v1/realtime/connect?token={key(name, topics=['logs'])}"
    before = await task_count(server)
    async with contextlib.AsyncExitStack() as stack:
        sockets, tasks = [], []
        for opened in (1, count):  # the hub's own tasks for the group come with the first
            while len(sockets) < opened:
                sockets.append(await stack.enter_async_context(websockets.connect(url)))
            for _ in range(100):
                if (await hub_state(server))["direct"] == opened:
                    break
                await asyncio.sleep(0.05)
            tasks.append(await task_count(server))
        pings = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for ws in sockets]
        seqs = await post_publish(server, name, ["after pings"])
        frames = []
        for ws in sockets:
            frame = {"kind": "ping"}
            while frame["kind"] == "ping":
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            frames.append(frame)
    hub_tasks = tasks[0] - before - 1  # what the hub started for the group, if anything
    for _ in range(100):
        after = await task_count(server)
        if after - before <= hub_tasks:
            break
        await asyncio.sleep(0.05)
    assert tasks[1] - tasks[0] == count - 1
    assert pings == [{"kind": "ping"}] * count
    assert [(f["seq"], f["data"]) for f in frames] == [(seqs[0], "after pings")] * count
    assert after - before <= hub_tasks  # every connection's tasks ended


@pytest.fixture
def small_queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
    """A server whose subscribers may fall 50 frames behind (1,000 by default): big frames
    fill the buffers with few publishes, which the channels broker makes slow."""
    server = start_server(tmp_path_factory, env={"TEST_SUBSCRIBER_QUEUE_SIZE": "50"})
    yield server
    server.stop()


async def test_slow_client_is_closed_as_slow_and_others_get_everything(
    small_queue_server: DaphneServer,
) -> None:
    """A client that stops reading fills the kernel's and Twisted's buffers; the writer is
    paused, frames queue in the bounded buffer, and the client is dropped as slow (its
    4408 close frame sits behind the unread bytes, so it may see an abrupt close)."""
    server = small_queue_server
    name = "live:direct-slow"
    url = f"{server.ws_url}/v1/realtime/connect?token={key(name, topics=['logs'])}"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    item = "x" * 50_000
    batches, per_batch = 12, 40  # 24 MB: more than the buffers hold, 50 frames over
    async with (
        websockets.connect(url, sock=sock, max_queue=1) as slow,
        websockets.connect(url, max_size=None) as fast,
    ):
        received = 0

        async def read_fast() -> None:
            nonlocal received
            while received < batches * per_batch:
                await asyncio.wait_for(fast.recv(), 30)
                received += 1

        reader = asyncio.create_task(read_fast())
        seqs: list[int] = []
        for _ in range(batches):
            seqs += await post_publish(server, name, [item] * per_batch)
        await reader
        for _ in range(100):  # the server let go of the slow one; the fast one is direct
            state = await hub_state(server)
            if state["subscribers"] == 1:
                break
            await asyncio.sleep(0.1)
        seen: list[int] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                seen.append(json.loads(await asyncio.wait_for(slow.recv(), 30))["seq"])
    assert received == len(seqs)
    assert state == {"groups": 1, "subscribers": 1, "direct": 1, "through_send": 0}
    assert 0 < len(seen) < len(seqs) and seen == seqs[: len(seen)]
    assert closed.value.rcvd is None or closed.value.rcvd.code == 4408


async def test_the_setting_turns_direct_writes_off(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    off = start_server(tmp_path_factory, env={"TEST_DIRECT_WRITES": "0"})
    try:
        url = f"{off.ws_url}/v1/realtime/connect?token={key('live:direct-off', topics=['logs'])}"
        async with websockets.connect(url) as ws:
            await post_publish(off, "live:direct-off", ["one", "two"])
            frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
            state = await hub_state(off)
    finally:
        off.stop()
    assert [f["data"] for f in frames] == ["one", "two"]
    assert state["subscribers"] == 1 and state["direct"] == 0
    assert state["through_send"] == 1  # through the ASGI send, from the hub's call
