"""Faults with real services on their own ports: a Redis that stops and comes back."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator

import pytest
import redis
from django.test import override_settings

from django_inngest_realtime import PublishError, publish, subscribe
from django_inngest_realtime.scaling import redis_channel_layer
from django_inngest_realtime.testing.redis import RedisProcess
from tests.channels import live

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    url = server.url
    with override_settings(
        CHANNEL_LAYERS={"default": redis_channel_layer(url, prefix="fault")},
        INNGEST_REALTIME={"BROKER": "redis", "REDIS_URL": url, "GROUP_PREFIX": "fault"},
    ):
        yield server
    server.stop()


async def next_data(sub, timeout: float = 20) -> object:  # type: ignore[no-untyped-def]
    return (await asyncio.wait_for(sub.__anext__(), timeout)).data


async def test_redis_restart_mid_stream(private_redis: RedisProcess) -> None:
    ref = live("fault")
    sub = await subscribe(ref, topics=["logs"], since=0)
    for i in range(3):
        await publish(ref.logs(f"before {i}"))
    assert [await next_data(sub) for _ in range(3)] == ["before 0", "before 1", "before 2"]

    await asyncio.to_thread(private_redis.stop)
    with pytest.raises(PublishError, match=r"channel 'live:fault' topic 'logs'"):
        await publish(ref.logs("while Redis is down"))

    await asyncio.to_thread(private_redis.start)  # empty: no groups, no history
    deadline = time.monotonic() + 30
    while True:  # publishers retry until Redis answers again
        try:
            await publish(ref.logs("after 0"))
            break
        except PublishError:
            assert time.monotonic() < deadline, "Redis did not come back"
            await asyncio.sleep(0.2)
    await publish(ref.logs("after 1"))
    # The hub subscribes again and the subscription catches up from history; the
    # message that failed to publish was never accepted, so nothing accepted is lost.
    assert [await next_data(sub) for _ in range(2)] == ["after 0", "after 1"]
    assert sub.recovered is False  # Redis lost its history: the gap is reported
    await publish(ref.logs("live again"))
    assert await next_data(sub) == "live again"
    client = redis.Redis(port=private_redis.port)
    assert len(client.pubsub_channels("fault:bus:*")) == 1  # the hub, subscribed again
    await sub.close()
    for _ in range(50):  # the unsubscribe is answered on the hub's reader
        if not client.pubsub_channels("fault:bus:*"):
            break
        await asyncio.sleep(0.1)
    assert client.pubsub_channels("fault:bus:*") == []  # nothing left subscribed
    groups = [k for k in client.keys("fault:group:*") if client.zcard(k)]
    assert groups == []  # nor joined to a channel-layer group
