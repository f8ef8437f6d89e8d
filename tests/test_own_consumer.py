"""Your own Channels consumer subscribing to our channels (``docs/subscribing.md``): the
demo's chat consumer, on every broker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from demo_project.demo.chat import ChatConsumer, chat_channel
from django_inngest_realtime import presence
from django_inngest_realtime.hub import get_hub

pytestmark = pytest.mark.django_db(transaction=True)

application = URLRouter([path("ws/chat/<str:room>", ChatConsumer.as_asgi())])


async def recv(comm: Any, topic: str = "messages") -> dict[str, Any]:
    """The next frame of ``topic`` (the room also announces who joins and leaves)."""
    while True:
        frame = dict(json.loads(await comm.receive_from(timeout=10)))
        if frame.get("topic", topic) == topic:
            return frame


async def test_chat_consumer_subscribes_publishes_and_cleans_up(broker: str) -> None:
    room = f"room-{broker}"
    alice = WebsocketCommunicator(application, f"/ws/chat/{room}")
    assert (await alice.connect())[0]
    await alice.send_json_to({"text": "hello"})
    first = await recv(alice)
    assert (first["channel"], first["topic"]) == (f"chat:{room}", "messages")
    assert first["data"] == {"author": "guest", "text": "hello"}

    # A later arrival gets the room's history first, then live messages.
    bob = WebsocketCommunicator(application, f"/ws/chat/{room}")
    assert (await bob.connect())[0]
    assert (await recv(bob))["data"]["text"] == "hello"
    await bob.send_json_to({"text": "hi alice"})
    assert (await recv(alice))["data"]["text"] == "hi alice"
    assert (await recv(bob))["data"]["text"] == "hi alice"

    await bob.send_json_to({"text": ""})  # refused by the topic's schema, nothing published
    assert (await recv(bob))["kind"] == "error"
    assert [m.user for m in await presence(chat_channel(room))] == [None, None]  # two guests

    await alice.disconnect()
    await bob.disconnect()
    assert not get_hub().members  # both subscriptions closed, every group left
    assert await presence(chat_channel(room)) == []
