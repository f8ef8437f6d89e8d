"""Publishing: ``publish()``, ``publish_sync()`` and streamed publishing.

Inside an Inngest function run and outside a step, a publish is memoized as
``step.run("publish:<channel>")`` so replays do not send it again (Inngest's
TypeScript semantics); inside a step, or outside any run, it sends directly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable
from typing import Any

import pydantic_core
from asgiref.sync import async_to_sync

from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.envelope import Kind, Message
from django_inngest_realtime.forwarding import forward_to_inngest
from django_inngest_realtime.run_context import RunContext, current_run, in_step
from django_inngest_realtime.signals import message_published
from django_inngest_realtime.topics import TopicMessage, TopicRef


class PublishError(Exception):
    """A message could not be published; the message says where and why."""


class PayloadTooLarge(PublishError, ValueError):
    """The message's data is over ``MAX_PAYLOAD_BYTES``."""


def _envelope(message: TopicMessage, kind: Kind = "data", stream_id: str | None = None) -> Message:
    if not isinstance(message, TopicMessage):
        raise TypeError(
            "publish() takes a message built by a topic, for example "
            f"my_channel().logs('hello'); got {type(message).__name__}."
        )
    limit = get_config().MAX_PAYLOAD_BYTES
    try:
        size = len(pydantic_core.to_json(message.data))  # compact UTF-8, as on the wire
    except pydantic_core.PydanticSerializationError as exc:
        raise TypeError(
            f"Data for channel {message.channel!r} topic {message.topic!r} cannot be "
            f"encoded as JSON: {exc}"
        ) from exc
    if size > limit:
        raise PayloadTooLarge(
            f"Data for channel {message.channel!r} topic {message.topic!r} is {size} bytes; "
            f"the limit is {limit} (INNGEST_REALTIME['MAX_PAYLOAD_BYTES'])."
        )
    run = current_run()
    if run is not None:
        run.published_to(message.channel, message.topic)
    return Message(
        id=run.next_message_id() if run else uuid.uuid4().hex,
        kind=kind,
        channel=message.channel,
        topic=message.topic,
        data=message.data,
        run_id=run.run_id if run else None,
        fn_id=run.fn_id if run else None,
        stream_id=stream_id,
    )


def _failed(envelope: Message, exc: Exception) -> PublishError:
    return PublishError(
        f"Could not publish to channel {envelope.channel!r} topic {envelope.topic!r}: "
        f"{type(exc).__name__}: {exc}"
    )


def _forward_failed(stored: Message, exc: Exception) -> PublishError:
    return PublishError(
        f"Published to this server's subscribers (seq {stored.seq}), but Inngest "
        f"refused the forward of channel {stored.channel!r} topic {stored.topic!r} to "
        f"its hosted realtime: {exc}"
    )


async def _deliver(envelope: Message) -> Message:
    """Hand the envelope to the broker (history and fan-out): the one path for data."""
    try:
        stored = await get_broker().publish(envelope)
    except Exception as exc:
        raise _failed(envelope, exc) from exc
    # Let subscribers on this loop send between the publishes of a tight loop.
    await asyncio.sleep(0)
    # Robust: a receiver that raises is logged (by Django, "django.dispatch") and never
    # fails, or repeats, the publish. Async receivers are awaited; sync ones run in a thread.
    await message_published.asend_robust(sender=Message, message=stored)
    if get_config().FORWARD_TO_INNGEST:
        try:
            await forward_to_inngest(stored)
        except Exception as exc:
            raise _forward_failed(stored, exc) from exc
    return stored


def _deliver_sync(envelope: Message) -> Message:
    """:func:`_deliver` from synchronous code, in any thread."""
    try:
        stored = get_broker().publish_sync(envelope)
    except Exception as exc:
        raise _failed(envelope, exc) from exc
    message_published.send_robust(sender=Message, message=stored)
    if get_config().FORWARD_TO_INNGEST:
        try:
            _run_async(forward_to_inngest, stored)
        except Exception as exc:
            raise _forward_failed(stored, exc) from exc
    return stored


def _run_async(fn: Callable[[Message], Coroutine[Any, Any, None]], message: Message) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(fn)(message)
        return
    # Sync code blocking a running loop: the coroutine needs a loop of its own.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="inngest-rt") as pool:
        pool.submit(asyncio.run, fn(message)).result()


async def publish_now(message: TopicMessage) -> Message:
    """Publish at once, never memoized as a step (for the app's own messages: presence)."""
    return await _deliver(_envelope(message))


async def publish(message: TopicMessage, *, step_id: str | None = None) -> Message:
    """Publish a validated message; returns the envelope as sent (with ``id`` and ``seq``).

    In an Inngest function run, outside a step, it runs as the step ``step_id`` (default
    ``"publish:<channel>"``; Inngest's ``step.realtime.publish(id, ...)``), so replays do not
    send it again. The step keeps only the message's ``id`` and ``seq`` in the run's state.
    """
    run = current_run()
    if run is not None and not in_step():
        sent: list[Message] = []
        memo = await run.async_step().run(_step_id(message, step_id), _publish_now, message, sent)
        return sent[0] if sent else _replayed(message, memo, run)
    return await _deliver(_envelope(message))


async def _publish_now(message: TopicMessage, sent: list[Message]) -> dict[str, Any]:
    sent.append(await _deliver(_envelope(message)))
    return {"id": sent[0].id, "seq": sent[0].seq}


def publish_sync(message: TopicMessage, *, step_id: str | None = None) -> Message:
    """Synchronous :func:`publish`, for sync Inngest functions, views and other threads."""
    run = current_run()
    if run is not None and not in_step():
        sent: list[Message] = []
        memo = run.sync_step().run(_step_id(message, step_id), _publish_now_sync, message, sent)
        return sent[0] if sent else _replayed(message, memo, run)
    return _deliver_sync(_envelope(message))


def _publish_now_sync(message: TopicMessage, sent: list[Message]) -> dict[str, Any]:
    sent.append(_deliver_sync(_envelope(message)))
    return {"id": sent[0].id, "seq": sent[0].seq}


def _step_id(message: TopicMessage, step_id: str | None) -> str:
    if step_id is None:
        return f"publish:{message.channel}"
    if not isinstance(step_id, str) or not step_id:
        raise ValueError(f"publish(step_id=...) must be a non-empty string, got {step_id!r}.")
    return step_id


def _replayed(message: TopicMessage, memo: Any, run: RunContext) -> Message:
    """The envelope a replayed publish step stands for, rebuilt from its ``id`` and ``seq``
    (``created_at`` is not kept: it is the replay's time)."""
    if isinstance(memo, dict) and "channel" in memo:  # a whole envelope, as stored until 0.1
        return Message.model_validate(memo)
    if not isinstance(memo, dict) or not isinstance(memo.get("id"), str):
        raise PublishError(
            f"The memoized publish step for channel {message.channel!r} holds {memo!r:.200}, "
            "not the {id, seq} publish() stores."
        )
    return Message(
        id=memo["id"],
        seq=memo.get("seq"),
        channel=message.channel,
        topic=message.topic,
        data=message.data,
        run_id=run.run_id,
        fn_id=run.fn_id,
    )


async def publish_stream(ref: TopicRef, chunks: AsyncIterable[str] | Iterable[str]) -> str:
    """Stream text chunks on a topic: ``datastream-start``, ``chunk``..., ``datastream-end``.

    The end is sent even when ``chunks`` raises (the error is then re-raised).
    Returns the stream id.
    """
    run = current_run()
    if run is not None and not in_step():
        stream_id: str = await run.async_step().run(
            f"publish:{ref.channel}", _stream_now, ref, chunks
        )
        return stream_id
    return await _stream_now(ref, chunks)


async def _stream_now(ref: TopicRef, chunks: AsyncIterable[str] | Iterable[str]) -> str:
    stream_id = uuid.uuid4().hex
    await _deliver(_envelope(_raw(ref, stream_id), "datastream-start", stream_id))
    try:
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                await _deliver(_envelope(_chunk(ref, chunk), "chunk", stream_id))
        else:
            for chunk in chunks:
                await _deliver(_envelope(_chunk(ref, chunk), "chunk", stream_id))
    finally:
        await _deliver(_envelope(_raw(ref, stream_id), "datastream-end", stream_id))
    return stream_id


def publish_stream_sync(ref: TopicRef, chunks: Iterable[str]) -> str:
    """Synchronous :func:`publish_stream` for an iterable of text chunks."""
    run = current_run()
    if run is not None and not in_step():
        stream_id: str = run.sync_step().run(
            f"publish:{ref.channel}", _stream_now_sync, ref, chunks
        )
        return stream_id
    return _stream_now_sync(ref, chunks)


def _stream_now_sync(ref: TopicRef, chunks: Iterable[str]) -> str:
    stream_id = uuid.uuid4().hex
    _deliver_sync(_envelope(_raw(ref, stream_id), "datastream-start", stream_id))
    try:
        for chunk in chunks:
            _deliver_sync(_envelope(_chunk(ref, chunk), "chunk", stream_id))
    finally:
        _deliver_sync(_envelope(_raw(ref, stream_id), "datastream-end", stream_id))
    return stream_id


def _raw(ref: TopicRef, data: Any) -> TopicMessage:
    return TopicMessage(ref.channel, ref.name, data, ref.ref.definition)


def _chunk(ref: TopicRef, chunk: Any) -> TopicMessage:
    if not isinstance(chunk, str):
        raise TypeError(
            f"Stream chunks for channel {ref.channel!r} topic {ref.name!r} must be str, "
            f"got {type(chunk).__name__}."
        )
    return _raw(ref, chunk)
