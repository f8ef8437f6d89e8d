"""Live frames go to the server's ``send`` past Channels' session wrapper
(``transports/asgi.py``); everything else still goes through it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.sessions import InstanceSessionWrapper
from channels.testing import WebsocketCommunicator

from django_inngest_realtime import get_subscription_token, publish
from django_inngest_realtime.hub import get_hub
from django_inngest_realtime.subscriber import Frame, Subscriber, SubscriberClosed
from django_inngest_realtime.transports.asgi import SendWriter, frame_text
from tests.asgi import application
from tests.channels import live

pytestmark = pytest.mark.django_db(transaction=True)


async def server_send(message: dict[str, Any]) -> None:
    pass


async def test_the_realtime_route_passes_no_session_wrapper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``websocket_application()`` mounts the realtime route without Channels' session
    middleware, whose ``send`` wrapper looked at the session for every frame."""
    wrapped: list[str] = []
    original = InstanceSessionWrapper.send

    async def counting(self: InstanceSessionWrapper, message: dict[str, Any]) -> None:
        wrapped.append(message["type"])
        await original(self, message)

    monkeypatch.setattr(InstanceSessionWrapper, "send", counting)
    key = get_subscription_token(live("fs"), topics=["logs"])["key"]
    comm = WebsocketCommunicator(application, f"/v1/realtime/connect?token={key}")
    assert (await comm.connect())[0]
    for i in range(3):
        await publish(live("fs").logs(str(i)))
    assert [json.loads(await comm.receive_from(timeout=5))["data"] for _ in range(3)] == [
        "0",
        "1",
        "2",
    ]
    await comm.send_json_to({"kind": "ping"})  # the consumer's own frames: as before
    assert json.loads(await comm.receive_from(timeout=5)) == {"kind": "pong"}
    await comm.disconnect()
    assert wrapped == []
    assert not get_hub().members


class FakeServer:
    """An ASGI ``send`` that records text frames, waits while ``blocked`` is clear (a full
    transport) and raises once ``gone``."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.blocked = asyncio.Event()
        self.blocked.set()
        self.gone = False
        self.stopped = 0

    async def send(self, message: dict[str, Any]) -> None:
        try:
            await self.blocked.wait()
        except BaseException:  # cancelled, or closed
            self.stopped += 1
            raise
        if self.gone:
            self.stopped += 1
            raise ConnectionError("gone")
        self.sent.append(message["text"])


def attached(server: FakeServer) -> tuple[Subscriber, SendWriter]:
    subscriber = Subscriber({"g"}, maxsize=3)
    writer = SendWriter(server.send)
    subscriber.attach(writer, frame_text)
    assert subscriber.go_direct()
    return subscriber, writer


async def test_a_send_that_waits_holds_later_frames_back_in_order() -> None:
    server = FakeServer()
    subscriber, writer = attached(server)
    subscriber.push(Frame(1, "one"))  # sent from this call
    assert server.sent == ["one"]
    server.blocked.clear()
    subscriber.push(Frame(2, "two"))  # under way, in a task
    subscriber.push(Frame(3, "three"))  # queued behind it
    assert writer.paused and not subscriber.direct
    pending = asyncio.ensure_future(subscriber.get())
    await asyncio.sleep(0)
    assert not pending.done()  # held until the send under way is done
    server.blocked.set()
    frame = await asyncio.wait_for(pending, 5)
    assert frame is not None and frame.text == "three"
    assert server.sent == ["one", "two"] and not writer.paused
    assert subscriber.last_seq == 3


async def test_a_client_that_stops_reading_is_closed_as_slow() -> None:
    server = FakeServer()
    subscriber, _ = attached(server)
    server.blocked.clear()
    for seq in range(1, 6):
        subscriber.push(Frame(seq, str(seq)))
    assert subscriber.closed_reason == "slow"
    with pytest.raises(SubscriberClosed):
        await subscriber.get()


async def test_a_failed_send_does_not_reach_the_publisher() -> None:
    server = FakeServer()
    subscriber, writer = attached(server)
    server.gone = True
    subscriber.push(Frame(1, "one"))  # raises nothing here
    assert writer.paused and not subscriber.direct and server.sent == []


async def test_a_send_that_fails_after_waiting_leaves_the_writer_paused() -> None:
    server = FakeServer()
    subscriber, writer = attached(server)
    server.blocked.clear()
    subscriber.push(Frame(1, "one"))  # under way, in a task
    server.gone = True
    server.blocked.set()
    for _ in range(100):
        if server.stopped:
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writer.paused and server.sent == [] and not subscriber.go_direct()


@pytest.mark.parametrize("started", [False, True])
async def test_closing_the_writer_stops_a_send_under_way(started: bool) -> None:
    server = FakeServer()
    subscriber, writer = attached(server)
    server.blocked.clear()
    subscriber.push(Frame(1, "one"))
    assert writer.paused
    if started:
        await asyncio.sleep(0)
    writer.close()
    for _ in range(100):
        if server.stopped:
            break
        await asyncio.sleep(0)
    assert server.stopped == 1 and server.sent == []
    assert not server.blocked._waiters  # nothing left waiting on the transport


async def test_live_frames_are_sent_from_the_publishers_call() -> None:
    """No task wake-up per frame: once a connection's subscription is direct, a publish
    has sent the frame by the time it returns."""
    key = get_subscription_token(live("eager"), topics=["logs"])["key"]
    comm = WebsocketCommunicator(application, f"/v1/realtime/connect?token={key}")
    assert (await comm.connect())[0]
    hub = get_hub()
    group = hub.broker.group("live:eager", "logs")
    for _ in range(100):
        if all(s.direct for s in hub.members.get(group, ())):
            break
        await asyncio.sleep(0.01)
    sent = await publish(live("eager").logs("first"))
    assert json.loads(await comm.receive_from(timeout=5))["data"] == "first"
    assert sent.seq is not None
    hub.deliver(group, sent.seq + 1, sent.seq, '{"data":"now"}')  # as the broker's feed
    assert comm.output_queue.qsize() == 1  # sent before this task yields to another
    assert json.loads(await comm.receive_from(timeout=5))["data"] == "now"
    await comm.disconnect()
    assert not hub.members
