"""The scaled configuration: channels_redis on the local Redis, publishers in other processes."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings

from django_inngest_realtime import publish, subscribe
from django_inngest_realtime.brokers import get_broker
from tests.helpers import cross, run_publisher

pytestmark = pytest.mark.skipif(
    not getattr(settings, "SCALED", False), reason="needs INNGEST_REALTIME_TEST_CONFIG=scaled"
)


async def test_publisher_in_another_process_reaches_subscriber() -> None:
    sub = await subscribe(cross("p1"), topics=["logs"])
    await asyncio.to_thread(run_publisher, "p1", 50)
    got = [await asyncio.wait_for(sub.__anext__(), 10) for _ in range(50)]
    assert [m.data for m in got] == [f"m{i}" for i in range(50)]
    assert [m.seq for m in got] == list(range(got[0].seq, got[0].seq + 50))
    await sub.close()


async def test_resume_from_history_written_by_another_process() -> None:
    await asyncio.to_thread(run_publisher, "p2", 10)
    position = await get_broker().position("r-cross:p2")
    sub = await subscribe(cross("p2"), topics=["logs"], since=position - 3)
    got = [await asyncio.wait_for(sub.__anext__(), 10) for _ in range(3)]
    assert [m.data for m in got] == ["m7", "m8", "m9"] and sub.recovered is True
    await sub.close()


async def test_idle_subscriber_survives_redis_socket_timeout() -> None:
    # redis-py 8 times out idle reads after 5 s unless socket_timeout is None (NOTES.md #1).
    sub = await subscribe(cross("idle"), topics=["logs"])
    await asyncio.sleep(6.5)
    await publish(cross("idle").logs("still here"))
    got = await asyncio.wait_for(sub.__anext__(), 10)
    assert got.data == "still here"
    await sub.close()


@pytest.mark.parametrize("message_id", ["plain", 'é, "quoted", ünïcode'])
async def test_one_round_trip_publishes_the_stored_frame(message_id: str) -> None:
    """The history script publishes the frame it stored, with ``seq`` spliced in: the
    same bytes ``to_json()`` makes, and a seq of 16 digits written whole."""
    from django_inngest_realtime.brokers.redis import RedisBroker
    from django_inngest_realtime.envelope import Message

    broker = get_broker()
    assert isinstance(broker, RedisBroker)
    got: asyncio.Queue[tuple[str, int, int, str]] = asyncio.Queue()

    class Sink:
        def deliver(self, group: str, seq: int, prev: int, frame: str) -> None:
            got.put_nowait((group, seq, prev, frame))

        def resync(self) -> None:
            raise AssertionError("the connection was not lost")

    name = f"r-bus:{len(message_id)}"  # a channel of its own for each case
    group = broker.group(name, "logs")
    feed = broker.connect(Sink())
    try:
        await feed.join(group)
        message = Message(id=message_id, channel=name, topic="logs", data={"a": [1, None]})
        first = await broker.publish(message)
        second = await broker.publish(message.model_copy(update={"id": "2"}))
        delivered = [await asyncio.wait_for(got.get(), 5) for _ in range(2)]
    finally:
        await feed.close()
    assert first.seq is not None and first.seq > 10**15
    assert delivered == [
        (group, first.seq, 0, first.to_json()),  # the topic's first: prev 0
        (group, second.seq, first.seq, second.to_json()),
    ]


async def test_racing_publishers_are_delivered_in_seq_order() -> None:
    """Three processes publish to one channel at once: the history script stores and
    publishes in one step, so every subscriber receives the channel in ``seq`` order."""
    sub = await subscribe(cross("race"), topics=["logs"])
    await asyncio.gather(*(asyncio.to_thread(run_publisher, "race", 100) for _ in range(3)))
    got = [await asyncio.wait_for(sub.__anext__(), 10) for _ in range(300)]
    await sub.close()
    seqs = [m.seq for m in got]
    assert seqs == list(range(seqs[0], seqs[0] + 300))
    assert sorted(m.data for m in got) == sorted(f"m{i}" for i in range(100) for _ in range(3))


def test_sync_publishes_from_a_thread_reuse_one_client() -> None:
    """1,000 ``publish_sync`` calls from a thread with no event loop: the process's Redis
    connections stay flat (one synchronous client, the script loaded once, EVALSHA after)."""
    import threading

    import redis

    from django_inngest_realtime import publish_sync
    from django_inngest_realtime.brokers import get_broker
    from django_inngest_realtime.brokers.redis import client_name

    admin = redis.Redis.from_url(get_broker().url)  # type: ignore[attr-defined]

    def ours() -> int:
        return sum(1 for c in admin.client_list() if c.get("name") == client_name())

    publish_sync(cross("leak").logs("warm-up"))
    before = ours()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(1000):
                publish_sync(cross("leak").logs(str(i)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(120)
    assert not errors
    assert before >= 1 and ours() == before
