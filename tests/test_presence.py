"""Presence: who is subscribed to a ``presence=True`` channel, across processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client

from django_inngest_realtime import get_subscription_token, presence, subscribe
from tests.channels import live, room
from tests.conftest import CONFIG
from tests.helpers import realtime_settings

pytestmark = pytest.mark.django_db(transaction=True)


async def next_event(sub: Any, timeout: float = 15) -> dict[str, Any]:
    message = await asyncio.wait_for(sub.__anext__(), timeout)
    assert message.topic == "presence"
    return dict(message.data)


async def test_members_join_and_leave(broker: str) -> None:
    ref = room(f"r-{broker}")
    watcher = await subscribe(ref, topics=["presence"])  # a member itself, anonymous
    [me] = await presence(ref)
    assert me.user is None
    assert await next_event(watcher) == {"action": "join", "member": me.to_dict()}
    ann = await User.objects.acreate(username="ann")
    chat = await subscribe(ref, topics=["chat"], user=ann)
    joined = await next_event(watcher)
    assert joined["action"] == "join" and joined["member"]["user"] == "ann"
    members = await presence(ref)
    assert [m.user for m in members] == [None, "ann"]  # oldest first
    await chat.close()
    left = await next_event(watcher)
    assert left == {"action": "leave", "member": joined["member"]}
    assert [m.id for m in await presence(ref)] == [me.id]
    await watcher.close()
    assert await presence(ref) == []
    assert await presence(live("not-tracked")) == []


def test_the_presence_endpoint(settings: Any) -> None:
    ref = room("endpoint")
    client = Client()
    key = get_subscription_token(ref, topics=["presence"], user=AnonymousUser())["key"]
    answer = client.get("/v1/realtime/presence", {"token": key})
    assert answer.status_code == 200 and answer.json() == {
        "channel": "room:endpoint",
        "members": [],
    }
    other = get_subscription_token(live("x"), user=AnonymousUser())["key"]
    assert client.get("/v1/realtime/presence", {"token": other}).status_code == 404
    assert client.get("/v1/realtime/presence", {"token": "forged:x:y"}).status_code == 401


HOLDER = """
import asyncio, sys, django
django.setup()
from django_inngest_realtime import subscribe
from tests.channels import room

async def main():
    sub = await subscribe(room(sys.argv[1]), topics=["chat"])
    print("joined", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.skipif(CONFIG == "embedded", reason="needs a cross-process broker")
@pytest.mark.parametrize("broker", ["redis", "channels"], indirect=True)
async def test_a_killed_process_leaves_within_the_bound(broker: str) -> None:
    """Another process subscribes, then is killed: it is no longer listed once its beats
    stop for PRESENCE_TTL, and a process with members of its own publishes its leave —
    within 5/3 of PRESENCE_TTL (25 s with the default 15 s; 3 s here, so 5 s)."""
    from tests.conftest import child_env

    ttl = 3.0
    with realtime_settings(BROKER=broker, PRESENCE_TTL=ttl):
        ref = room(f"killed-{broker}")
        watcher = await subscribe(ref, topics=["presence"])  # our process beats for it
        env = {**os.environ, **child_env(), "TEST_BROKER": broker, "TEST_PRESENCE_TTL": str(ttl)}
        child = subprocess.Popen(  # noqa: ASYNC220 - started once, read in a thread
            [sys.executable, "-c", HOLDER, ref.name.split(":", 1)[1]],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            await next_event(watcher)  # our own join
            line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 60)
            assert line.strip() == "joined"
            joined = await next_event(watcher)
            assert joined["action"] == "join"
            assert len(await presence(ref)) == 2
            child.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            left = await next_event(watcher, timeout=60)
            took = time.monotonic() - killed_at
        finally:
            child.kill()
            child.wait(10)
        assert left == {"action": "leave", "member": joined["member"]}
        assert len(await presence(ref)) == 1
        await watcher.close()
    assert took < ttl * 5 / 3 + ttl  # the documented bound, with a beat's slack for a busy CI
