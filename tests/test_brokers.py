"""The broker conformance suite: every broker has the same guarantees (the ``broker``
fixture, in ``conftest.py``, runs each test on every broker the configuration has).

Each test runs on every broker the active configuration can run: ``local`` always;
``redis`` and ``channels`` (over channels_redis) in the scaled configuration; ``channels``
over channels_rabbitmq in the channels configuration. ``docs/scaling.md`` has the table.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.db import connections

from django_inngest_realtime import channel, publish, publish_sync, subscribe, topic
from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.hub import get_hub
from tests.conftest import BROKERS, CONFIG
from tests.helpers import realtime_settings, run_publisher

pytestmark = pytest.mark.django_db(transaction=True)

conf = channel("conf:{id}").add_topic(topic("logs").type(str)).add_topic(topic("other").type(str))


async def take(sub: Any, n: int, timeout: float = 15) -> list[Any]:
    async def collect() -> list[Any]:
        return [await sub.__anext__() for _ in range(n)]

    return await asyncio.wait_for(collect(), timeout)


async def test_order_and_positions(broker: str) -> None:
    ref = conf("order")
    sub = await subscribe(ref, topics=["logs"])
    sent = [await publish(ref.logs(str(i))) for i in range(50)]
    got = await take(sub, 50)
    await sub.close()
    assert [m.data for m in got] == [str(i) for i in range(50)]
    assert [m.seq for m in got] == [m.seq for m in sent]
    assert [m.seq for m in sent] == list(range(sent[0].seq, sent[0].seq + 50))
    assert len({m.id for m in got}) == 50
    assert await get_broker().position(ref.name) == sent[-1].seq


async def test_a_cancelled_publish_still_fans_out_and_breaks_nothing(broker: str) -> None:
    """A caller cancelled while its ``publish()`` is on the way (a client gone, a task
    timed out): the message, stored already, still reaches subscribers, and later
    publishes too (cancelling channels_rabbitmq's send mid-confirm crashed its connection:
    every later ``group_send`` was dropped)."""
    ref = conf("cancelled")
    sub = await subscribe(ref, topics=["logs"])
    cancelled = 0
    for i in range(40):
        task = asyncio.create_task(publish(ref.logs(f"c{i}")))
        # Cancelled at a different point on the way each time: storing, sending, waiting
        # for the layer's confirmation.
        await asyncio.sleep(i * 0.0003)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled += 1
    after = await publish(ref.logs("after"))
    got: list[Any] = []
    while not got or got[-1].seq != after.seq:
        got += await take(sub, 1)
    await sub.close()
    assert cancelled > 0
    # Every publish that stored its message (its position taken) fanned it out, in order.
    last = await get_broker().position(ref.name)
    assert last == after.seq
    assert [m.seq for m in got] == sorted(m.seq for m in got)
    assert len(got) == len({m.seq for m in got})
    assert [m.seq for m in got] == list(range(got[0].seq, after.seq + 1))  # no gap


async def test_topic_filter_and_no_cross_channel_leak(broker: str) -> None:
    a, b = conf("leak-a"), conf("leak-a:b")  # one name a prefix of the other
    sub = await subscribe(a, topics=["logs"])
    await publish(b.logs("other channel"))
    await publish(a.other("other topic"))
    await publish(a.logs("mine"))
    [got] = await take(sub, 1)
    assert got.data == "mine"
    with pytest.raises(TimeoutError):
        await take(sub, 1, timeout=0.3)
    await sub.close()


async def test_resume_then_live_without_loss_or_repeat(broker: str) -> None:
    ref = conf("resume")
    sent = [await publish(ref.logs(str(i))) for i in range(5)]
    sub = await subscribe(ref, topics=["logs"], since=sent[1].seq)
    assert sub.recovered is True
    await publish(ref.logs("live"))
    got = await take(sub, 4)
    assert [m.data for m in got] == ["2", "3", "4", "live"]
    await sub.close()


async def test_resume_while_publishing_dedupes(broker: str) -> None:
    ref = conf("race")
    first = await publish(ref.logs("0"))

    async def publisher() -> None:
        for i in range(1, 200):
            await publish(ref.logs(str(i)))

    task = asyncio.create_task(publisher())
    await asyncio.sleep(0)
    sub = await subscribe(ref, topics=["logs"], since=first.seq)
    got = await take(sub, 199)
    await task
    await sub.close()
    assert [m.data for m in got] == [str(i) for i in range(1, 200)]


async def test_gap_signal_when_history_no_longer_covers(broker: str) -> None:
    with realtime_settings(BROKER=broker, HISTORY_SIZE=3):
        ref = conf("gap")
        sent = [await publish(ref.logs(str(i))) for i in range(6)]
        sub = await subscribe(ref, topics=["logs"], since=sent[0].seq)
        assert sub.recovered is False
        got = await take(sub, 3)
        assert [m.seq for m in got] == [m.seq for m in sent[3:]]
        await sub.close()


async def test_a_lost_live_frame_is_caught_up_from_history(broker: str) -> None:
    """A frame that never reaches the hub (a dropped connection) is noticed on the next
    one of its group, and read back from history, in order."""
    ref = conf("lost")
    sub = await subscribe(ref, topics=["logs"])
    hub = get_hub()
    await publish(ref.logs("0"))
    assert [m.data for m in await take(sub, 1)] == ["0"]
    deliver = hub.deliver
    dropped: list[int] = []

    def lossy(group: str, seq: int, prev: int, frame: str) -> None:
        if not dropped:
            dropped.append(seq)
            return
        deliver(group, seq, prev, frame)

    hub.deliver = lossy  # type: ignore[method-assign]
    try:
        await publish(ref.logs("1"))  # lost on the way
        await publish(ref.logs("2"))
        got = await take(sub, 2)
    finally:
        hub.deliver = deliver  # type: ignore[method-assign]
    assert dropped and [m.data for m in got] == ["1", "2"]
    await publish(ref.logs("3"))
    assert [m.data for m in await take(sub, 1)] == ["3"]
    await sub.close()


async def test_slow_consumer_is_dropped_others_are_not(broker: str) -> None:
    with realtime_settings(BROKER=broker, SUBSCRIBER_QUEUE_SIZE=5):
        ref = conf("slow")
        slow = await subscribe(ref, topics=["logs"])
        fast = await subscribe(ref, topics=["logs"])
        received = []
        for i in range(20):
            await publish(ref.logs(str(i)))
            received.extend(await take(fast, 1))
        assert [m.data for m in received] == [str(i) for i in range(20)]
        assert slow.closed_reason == "slow"
        await slow.close()
        await fast.close()


async def test_closing_leaves_no_group_and_no_task(broker: str) -> None:
    warm = await subscribe(conf("tasks-warm"), topics=["logs"])  # the loop's own connections
    await warm.close()
    before = len([t for t in asyncio.all_tasks() if not t.done()])
    subs = [await subscribe(conf(f"tasks{i}"), topics=["logs"]) for i in range(3)]
    await publish(conf("tasks0").logs("x"))
    assert [m.data for m in await take(subs[0], 1)] == ["x"]
    for sub in subs:
        await sub.close()
    hub = get_hub()
    assert not hub.members and hub.feed is None
    await asyncio.sleep(0)
    # Counted, not compared one by one: a layer may replace its own reading task per message.
    assert len([t for t in asyncio.all_tasks() if not t.done()]) <= before


async def test_publish_sync_from_a_thread_reaches_a_loop_subscriber(broker: str) -> None:
    ref = conf("thread")
    sub = await subscribe(ref, topics=["logs"])
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(20):
                publish_sync(ref.logs(f"t{i}"))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()  # what the channels broker's history opened here

    thread = threading.Thread(target=worker)
    thread.start()
    got = await take(sub, 20)
    await asyncio.to_thread(thread.join, 10)
    assert not errors
    assert [m.data for m in got] == [f"t{i}" for i in range(20)]
    await sub.close()


async def test_a_publish_from_a_short_lived_loop_leaves_no_task_behind(broker: str) -> None:
    """``asyncio.run``, ``async_to_sync`` and the Inngest SDK's test runner publish from a
    loop that closes right after: nothing of the broker may stay pending on it (a layer's
    connection task did, and died with the loop, "Task was destroyed but it is pending")."""
    ref = conf("short-lived")
    sub = await subscribe(ref, topics=["logs"])
    left: list[list[str]] = []

    def worker() -> None:
        try:
            for i in range(3):
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(publish(ref.logs(f"s{i}")))
                    left.append(sorted(repr(t.get_coro()) for t in asyncio.all_tasks(loop)))
                finally:
                    loop.close()
        finally:
            connections.close_all()

    await asyncio.to_thread(worker)
    assert [m.data for m in await take(sub, 3)] == ["s0", "s1", "s2"]
    assert left == [[], [], []]
    await sub.close()


async def test_a_subscriber_that_stays_subscribed_past_its_test(broker: str) -> None:
    """Left open on purpose: the loop's teardown must still end every broker task (a
    channels_redis receive cancelled from another loop used to hang here forever)."""
    sub = await subscribe(conf("left-open"), topics=["logs"])
    await publish(conf("left-open").logs("x"))
    assert [m.data for m in await take(sub, 1)] == ["x"]


def test_then_publish_sync_from_a_worker_thread(broker: str) -> None:
    """Runs after the test above, with no event loop of its own."""
    result: list[Any] = []

    def worker() -> None:
        try:
            result.append(publish_sync(conf("after").logs("y")))
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert result and result[0].seq


@pytest.mark.skipif(CONFIG == "embedded", reason="needs a cross-process broker")
@pytest.mark.parametrize("broker", [b for b in BROKERS if b.values[0] != "local"], indirect=True)
async def test_two_processes(broker: str) -> None:
    """A publisher in another process reaches this one's subscriber, and what it published
    is in the history this process reads."""
    from tests.helpers import cross

    sub = await subscribe(cross("two"), topics=["logs"])
    await asyncio.to_thread(run_publisher, "two", 30, broker)
    got = await take(sub, 30)
    assert [m.data for m in got] == [f"m{i}" for i in range(30)]
    await sub.close()
    resumed = await subscribe(cross("two"), topics=["logs"], since=got[26].seq)
    assert resumed.recovered is True
    assert [m.data for m in await take(resumed, 3)] == ["m27", "m28", "m29"]
    await resumed.close()
