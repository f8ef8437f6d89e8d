from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pydantic
import pytest
from asgiref.sync import sync_to_async

from django_inngest_realtime import (
    PayloadTooLarge,
    channel,
    publish,
    publish_stream,
    publish_stream_sync,
    publish_sync,
    subscribe,
    topic,
)
from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.hub import get_hub
from django_inngest_realtime.testing.capture import capture_messages
from tests.helpers import realtime_settings


class Like(pydantic.BaseModel):
    id: str
    likes: int


feed = (
    channel("p-feed:{name}")
    .add_topic(topic("logs").type(str))
    .add_topic(topic("likes").schema(Like))
    .add_topic(topic("ai").type(str))
)


async def take(sub, n: int, timeout: float = 10) -> list:  # type: ignore[no-untyped-def]
    """The next ``n`` messages, read as ``async for`` does (one wake-up per message)."""

    async def collect() -> list:  # type: ignore[type-arg]
        return [await sub.__anext__() for _ in range(n)]

    return await asyncio.wait_for(collect(), timeout)


async def test_publish_reaches_subscriber_with_envelope() -> None:
    ref = feed("a")
    sub = await subscribe(ref, topics=["logs"])
    sent = await publish(ref.logs("hello"))
    [got] = await take(sub, 1)
    await sub.close()
    assert got == sent
    assert (got.kind, got.channel, got.topic, got.data) == ("data", "p-feed:a", "logs", "hello")
    assert got.seq and got.run_id is None and len(got.id) == 32
    again = await publish(ref.logs("next"))
    assert again.seq == got.seq + 1


async def test_only_asked_topics_are_yielded_in_order() -> None:
    ref = feed("b")
    sub = await subscribe(ref, topics=["likes"])
    await publish(ref.logs("not me"))
    for i in range(3):
        await publish(ref.likes({"id": "x", "likes": i}))
    got = await take(sub, 3)
    assert [m.data["likes"] for m in got] == [0, 1, 2]
    first = got[0].seq
    assert [m.seq for m in got] == [first, first + 1, first + 2]
    assert await get_broker().position(ref.name) == first + 2  # one sequence, all topics
    await sub.close()


async def test_burst_is_delivered_without_loss() -> None:
    ref = feed("burst")
    sub = await subscribe(ref, topics=["logs"])
    reader = asyncio.create_task(take(sub, 2000))
    for i in range(2000):
        await publish(ref.logs(str(i)))
    got = await reader
    assert [m.data for m in got] == [str(i) for i in range(2000)]
    await sub.close()


async def test_close_leaves_the_group() -> None:
    ref = feed("c")
    hub = get_hub()
    sub1 = await subscribe(ref, topics=["logs"])
    sub2 = await subscribe(ref, topics=["logs", "ai"])
    group = get_broker().group(ref.name, "logs")
    assert len(hub.members[group]) == 2
    await sub1.close()
    await sub1.close()  # idempotent
    assert len(hub.members[group]) == 1
    await sub2.close()
    assert group not in hub.members
    assert hub.feed is None  # no group left: the broker connection is released


async def test_resume_since_position_then_live() -> None:
    ref = feed("d")
    sent = [await publish(ref.logs(str(i))) for i in range(5)]
    sub = await subscribe(ref, topics=["logs"], since=sent[1].seq)
    assert sub.recovered is True and sub.position == sent[4].seq
    await publish(ref.logs("live"))
    got = await take(sub, 4)
    assert [m.data for m in got] == ["2", "3", "4", "live"]
    assert [m.seq for m in got] == [sent[2].seq + i for i in range(4)]
    whole = await subscribe(ref, topics=["logs"], since=0)  # 0: from the channel's start
    assert whole.recovered is True
    assert [m.data for m in await take(whole, 6)] == ["0", "1", "2", "3", "4", "live"]
    await whole.close()
    await sub.close()


@realtime_settings(HISTORY_SIZE=3)
async def test_resume_beyond_history_reports_gap() -> None:
    ref = feed("e")
    sent = [await publish(ref.logs(str(i))) for i in range(6)]
    sub = await subscribe(ref, topics=["logs"], since=sent[0].seq)
    assert sub.recovered is False
    got = await take(sub, 3)
    assert [m.seq for m in got] == [m.seq for m in sent[3:]]
    await sub.close()


async def test_payload_limit() -> None:
    ref = feed("f")
    with realtime_settings(MAX_PAYLOAD_BYTES=100):
        with capture_messages() as captured:
            with pytest.raises(PayloadTooLarge, match=r"'p-feed:f'.*'logs'.*limit is 100"):
                await publish(ref.logs("x" * 200))
            await publish(ref.logs("x" * 50))
    assert len(captured) == 1


async def test_publish_rejects_unvalidated_input() -> None:
    with pytest.raises(TypeError, match="message built by a topic"):
        await publish({"channel": "x"})  # type: ignore[arg-type]


async def test_publish_sync_from_another_thread_reaches_loop_subscriber() -> None:
    ref = feed("g")
    sub = await subscribe(ref, topics=["logs"])
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(20):
                publish_sync(ref.logs(f"t{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    got = await take(sub, 20)
    await asyncio.to_thread(thread.join, 10)
    assert not errors
    assert [m.data for m in got] == [f"t{i}" for i in range(20)]
    await sub.close()


async def test_publish_sync_from_sync_to_async_thread() -> None:
    ref = feed("h")
    sub = await subscribe(ref, topics=["logs"])
    sent = await sync_to_async(publish_sync)(ref.logs("from a sync view"))
    [got] = await take(sub, 1)
    assert got.id == sent.id
    await sub.close()


def test_publish_sync_without_any_loop() -> None:
    with capture_messages() as captured:
        sent = publish_sync(feed("i").logs("plain sync code"))
    assert captured == [sent]


async def test_publish_stream_in_order_and_end_on_error() -> None:
    ref = feed("j")
    sub = await subscribe(ref, topics=["ai"])

    async def tokens():  # type: ignore[no-untyped-def]
        for word in ["Hel", "lo"]:
            yield word

    stream_id = await publish_stream(ref.ai, tokens())
    got = await take(sub, 4)
    assert [m.kind for m in got] == ["datastream-start", "chunk", "chunk", "datastream-end"]
    assert [m.data for m in got[1:3]] == ["Hel", "lo"]
    assert {m.stream_id for m in got} == {stream_id}

    def failing():  # type: ignore[no-untyped-def]
        yield "a"
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        await publish_stream(ref.ai, failing())
    got = await take(sub, 3)
    assert [m.kind for m in got] == ["datastream-start", "chunk", "datastream-end"]
    with pytest.raises(TypeError, match="must be str"):
        await publish_stream(ref.ai, [b"bytes"])  # type: ignore[list-item]
    assert (await take(sub, 2))[-1].kind == "datastream-end"
    await sub.close()


async def test_publish_stream_sync_from_thread() -> None:
    ref = feed("k")
    sub = await subscribe(ref, topics=["ai"])
    await sync_to_async(publish_stream_sync)(ref.ai, iter(["x", "y"]))
    got = await take(sub, 4)
    assert [m.data for m in got[1:3]] == ["x", "y"]
    await sub.close()


async def test_slow_subscriber_is_dropped_without_hurting_others() -> None:
    ref = feed("slow")
    with realtime_settings(SUBSCRIBER_QUEUE_SIZE=5):
        slow = await subscribe(ref, topics=["logs"])
        fast = await subscribe(ref, topics=["logs"])
        received = []
        for i in range(20):
            await publish(ref.logs(str(i)))
            received.extend(await take(fast, 1))
        assert len(received) == 20
        assert slow.closed_reason == "slow"
        with pytest.raises(StopAsyncIteration):
            await slow.__anext__()
        await slow.close()
        await fast.close()


async def test_subscribe_by_name_and_unknown_topics() -> None:
    sub = await subscribe("p-feed:by-name", topics=["logs"])
    await publish(feed("by-name").logs("x"))
    assert (await take(sub, 1))[0].data == "x"
    await sub.close()
    with pytest.raises(LookupError, match="no topic"):
        await subscribe(feed("z"), topics=["nope"])
    with pytest.raises(LookupError, match="matches no definition"):
        await subscribe("unknown-channel")


def test_group_names_are_valid_and_distinct() -> None:
    import re

    from django_inngest_realtime.brokers.base import group_name

    names = {
        group_name("inngest_rt", c, t)
        for c in ["a", "a.b", "ü" * 300, "x y", "a:b"]
        for t in ["t", "u"]
    }
    assert len(names) == 10
    assert all(len(n) < 100 and re.fullmatch(r"[a-zA-Z\d\-_.]+", n) for n in names)


async def test_sse_response_streams_and_cleans_up() -> None:
    from django.core.asgi import get_asgi_application

    from tests.asgi_client import StreamingResponse

    app = get_asgi_application()
    ref = feed("sse")
    before = await publish(ref.logs("before"))
    async with StreamingResponse(
        app, "/stream/p-feed:sse", "since=0&topic=logs&keepalive=0.2"
    ) as r:
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        first = await r.read_data_event()
        assert first.startswith(f"id: {before.seq}\n")
        assert json.loads(first.split("data: ")[1])["data"] == "before"
        assert (await r.read_event()).startswith(": ping")  # keep-alive while idle
        await publish(ref.logs("after"))
        second = await r.read_data_event()
        assert json.loads(second.split("data: ")[1])["data"] == "after"
    await asyncio.sleep(0)
    assert get_broker().group(ref.name, "logs") not in get_hub().members


async def test_publish_sync_called_by_sync_code_on_the_loop_thread() -> None:
    # What a sync Inngest function does when the SDK's async serve view runs it inline.
    ref = feed("inline")
    sub = await subscribe(ref, topics=["logs"])
    sent = publish_sync(ref.logs("inline"))
    [got] = await take(sub, 1)
    assert got.id == sent.id
    await sub.close()


async def test_resume_after_history_reset_replays_everything_kept() -> None:
    # A client saw seq 50 before the server restarted with empty in-memory history: the
    # new sequence starts above every old position, so it gets all that is kept and a gap.
    ref = feed("reset")
    sent = [await publish(ref.logs(str(i))) for i in range(3)]
    assert sent[0].seq > 50
    sub = await subscribe(ref, topics=["logs"], since=50)
    assert sub.recovered is False
    got = await take(sub, 3)
    assert [m.seq for m in got] == [m.seq for m in sent]
    ahead = await subscribe(ref, topics=["logs"], since=sent[2].seq + 100)
    assert ahead.recovered is False and len(await take(ahead, 3)) == 3
    await ahead.close()
    await sub.close()


def test_client_positions_and_topics_are_parsed_strictly() -> None:
    from django_inngest_realtime.subscriptions import parse_since, parse_topics
    from django_inngest_realtime.tokens import TokenMalformed

    assert parse_since(None) is None and parse_since("") is None
    assert parse_since("42") == 42 and parse_since(42) == 42
    for bad in ["-1", "+5", " 5", "1e3", "٣", "9" * 19, -1, 2.5, True, [1]]:
        with pytest.raises(TokenMalformed):
            parse_since(bad)
    assert parse_topics("a,,b") == ["a", "b"] and parse_topics(["a"]) == ["a"]
    assert parse_topics(None) is None
    with pytest.raises(TokenMalformed):
        parse_topics([1])


async def test_a_subscriber_on_another_threads_loop_receives() -> None:
    ref = feed("other-loop")
    ready = threading.Event()
    got: list[Any] = []

    def other_thread() -> None:
        async def main() -> None:
            sub = await subscribe(ref, topics=["logs"])
            ready.set()
            try:
                got.extend(await take(sub, 3))
            finally:
                await sub.close()
                await get_broker().aclose()

        asyncio.run(main())

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert await asyncio.to_thread(ready.wait, 10)
    for i in range(3):
        await publish(ref.logs(str(i)))
    await asyncio.to_thread(thread.join, 15)
    assert [m.data for m in got] == ["0", "1", "2"]


@pytest.mark.django_db(transaction=True)
async def test_message_published_receivers_never_fail_the_publish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Async receivers are awaited, sync ones may use the ORM, and one that raises is
    logged: the publish still succeeds, once."""
    from django.contrib.auth.models import User

    from django_inngest_realtime.signals import message_published

    got: list[tuple[str, Any]] = []

    async def async_receiver(sender: object, message: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        got.append(("async", message.data))

    def orm_receiver(sender: object, message: Any, **kwargs: Any) -> None:
        got.append(("orm", User.objects.count()))

    def broken_receiver(sender: object, message: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    receivers = [async_receiver, orm_receiver, broken_receiver]
    for receiver in receivers:
        message_published.connect(receiver)
    try:
        ref = feed("signals")
        sub = await subscribe(ref, topics=["logs"])
        sent = await publish(ref.logs("x"))
        sync_sent = await sync_to_async(publish_sync)(ref.logs("y"))
        assert [m.seq for m in await take(sub, 2)] == [sent.seq, sync_sent.seq]
        await sub.close()
    finally:
        for receiver in receivers:
            message_published.disconnect(receiver)
    assert ("async", "x") in got and ("orm", 0) in got and ("async", "y") in got
    assert sum("receiver bug" in r.exc_text for r in caplog.records if r.exc_text) == 2
