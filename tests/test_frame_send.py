"""Live frames go to the server's ``send`` past Channels' session wrapper
(``transports/asgi.py``); everything else still goes through it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.sessions import InstanceSessionWrapper
from channels.testing import WebsocketCommunicator

from django_inngest_realtime import get_subscription_token, publish
from django_inngest_realtime.hub import get_hub
from django_inngest_realtime.transports.asgi import frame_send
from tests.asgi import application
from tests.channels import live

pytestmark = pytest.mark.django_db(transaction=True)


async def server_send(message: dict[str, Any]) -> None:
    pass


def test_frame_send_unwraps_session_wrappers_only() -> None:
    outer = InstanceSessionWrapper({"cookies": {}}, server_send)
    inner = InstanceSessionWrapper({"cookies": {}, "session": object()}, outer.send)
    assert frame_send(inner.send) is server_send
    assert frame_send(server_send) is server_send
    other = InstanceSessionWrapper({"cookies": {}}, server_send)
    other.save_message_types = ["websocket.send"]  # a wrapper that would act on frames
    assert frame_send(other.send) == other.send


async def test_live_frames_skip_the_session_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
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
    assert wrapped == ["websocket.accept", "websocket.send"]
    assert not get_hub().members
