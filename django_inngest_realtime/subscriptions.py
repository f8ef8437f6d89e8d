"""Server-side subscriptions: an async iterator of envelopes, and its SSE response."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.http import StreamingHttpResponse

from django_inngest_realtime import request_thread
from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.brokers.base import Replay
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.envelope import Message, sse_comment, sse_event
from django_inngest_realtime.hub import Hub, get_hub
from django_inngest_realtime.keepalive import keepalive as keepalive_timer
from django_inngest_realtime.presences import has_presence, tracker, user_label
from django_inngest_realtime.run_channels import ended_run
from django_inngest_realtime.subscriber import PING, Frame, Subscriber, SubscriberClosed
from django_inngest_realtime.tokens import TokenMalformed
from django_inngest_realtime.topics import ChannelRef, registry
from django_inngest_realtime.transports import response_writer
from django_inngest_realtime.transports.wire import http_chunk

if TYPE_CHECKING:
    from django_inngest_realtime.transports import FrameWriter

#: The first bytes of every SSE stream: the client's reconnection delay, and a comment
#: that tells it (and the benchmarks) the stream is open.
SSE_OPENING = ("retry: 2000\n" + sse_comment("connected")).encode()
SSE_PING = sse_comment().encode()
SSE_PING_CHUNK = http_chunk(SSE_PING)
#: The last event of a stream closed because its client fell too far behind.
SSE_SLOW_CLOSE = sse_event(json.dumps({"kind": "close", "reason": "slow"}), event="close").encode()
#: The headers of every SSE response (the view's, and ``sse_application.py``'s).
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
#: Frames taken at once when several are waiting (after a pause, or a backlog).
BATCH = 64


class Subscription:
    """Live messages of one channel's topics; iterate it, then ``await close()``.

    With a ``since`` position, what was published after it and is still in history
    comes first, in order, then live messages, with nothing lost or repeated in between.
    ``recovered`` is False when history no longer covered ``since``.
    """

    # Slots: one per open stream or socket subscription (memory per idle connection).
    __slots__ = (
        "_backlog",
        "_closed",
        "_hub",
        "_member",
        "_run_ended",
        "_subscriber",
        "channel",
        "position",
        "recovered",
        "since",
        "topics",
        "until_run_end",
        "user",
    )

    def __init__(
        self,
        channel: str,
        topics: list[str],
        since: int | None,
        *,
        user: Any = None,
        until_run_end: bool | str = False,
    ) -> None:
        # Interned: the names are shared by every subscriber of a channel (a token's, so
        # they are this site's own), not copied for each (memory per idle connection).
        self.channel = sys.intern(channel)
        self.topics = [sys.intern(t) for t in topics]
        self.since = since
        #: End after a run's end (``True``: any run's; a run id: that run's).
        self.until_run_end = until_run_end
        self._run_ended = False
        #: Who subscribes, shown to others on a ``presence=True`` channel.
        self.user = user
        self._member: str | None = None
        self.recovered: bool | None = None
        self.position: int | None = None
        broker = get_broker()
        self._subscriber = Subscriber(
            [sys.intern(broker.group(channel, t)) for t in topics],
            get_config().SUBSCRIBER_QUEUE_SIZE,
        )
        self._backlog: list[Frame] = []
        self._hub: Hub | None = None
        self._closed = False

    async def start(self) -> Subscription:
        self._hub = get_hub()
        # Join before reading history, so nothing falls between the two.
        await self._hub.add(self._subscriber)
        try:
            if self.since is not None:
                self._replayed(await self._hub.broker.history(self.channel, self.since))
            if has_presence(self.channel):
                member = await tracker().join(self.channel, user_label(self.user))
                self._member = member.id
        except BaseException:
            await self.close()
            raise
        return self

    def _replayed(self, replay: Replay) -> None:
        self.recovered, self.position = replay.recovered, replay.position
        self._subscriber.floor = replay.position
        self._backlog = self._kept(replay.messages)
        if not replay.recovered:
            self._backlog.insert(0, Frame(None, self.gap_frame()))

    @property
    def subscriber(self) -> Subscriber:
        """What the hub hands this subscription's live frames to (for keep-alive timers)."""
        return self._subscriber

    @property
    def last_seq(self) -> int | None:
        """The highest position handed out, for re-reading history after frames went missing."""
        return self._subscriber.last_seq

    @property
    def writes_directly(self) -> bool:
        """Whether a writer is attached (:meth:`write_directly`)."""
        return self._subscriber.writer is not None

    def write_directly(
        self,
        writer: FrameWriter,
        encode: Callable[[Frame], Any] = Frame.wire,
        ping: bytes | None = None,
    ) -> None:
        """Let the hub write this subscription's live frames, as ``encode`` makes them, to
        ``writer`` whenever nothing is waiting in :meth:`next_frame` (see ``transports/``);
        keep-alive pings are written as ``ping``."""
        self._subscriber.attach(writer, encode, ping)

    def go_direct(self) -> bool:
        """Hand live frames to the attached writer from now on, if nothing is waiting."""
        return not self._backlog and self._subscriber.go_direct()

    def when_woken(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever there is something to take (frames waiting, the end)
        while nobody waits for it: an owner whose attached writer takes every live frame
        need not keep a task waiting (``consumers.py``)."""
        self._subscriber.on_wake = callback

    def _kept(self, messages: list[Message]) -> list[Frame]:
        wanted = set(self.topics)
        return [Frame(m.seq, m.to_json()) for m in messages if m.topic in wanted]

    async def next_frame(self) -> tuple[int | None, str]:
        """Return the next (seq, JSON frame); raise ``SubscriberClosed`` at the end.

        A ``gap`` control frame (seq ``None``) says history did not cover a resume. With
        ``until_run_end``, the run's end is the last frame.
        """
        if self._run_ended:
            raise SubscriberClosed("run ended")
        seq, frame = await self._next_frame()
        self._run_ended = self._ends_run(seq, frame)
        return seq, frame

    def _ends_run(self, seq: int | None, frame: str) -> bool:
        """True when ``frame`` is the end of the run this subscription waits for."""
        if not self.until_run_end or seq is None:
            return False
        run_id = ended_run(frame)
        return run_id is not None and self.until_run_end in (True, run_id)

    async def _next_frame(self) -> tuple[int | None, str]:
        while True:
            frame = await self.next_or_ping()
            if frame is not PING:
                return frame.seq, frame.text

    async def next_frames(self) -> list[Frame]:
        """The next frame and those already waiting behind it (up to ``BATCH``), in
        order; raise ``SubscriberClosed`` at the end."""
        while True:
            frame = await self.next_or_ping()
            if frame is not PING:
                return [frame, *self._ready()]

    async def next_or_ping(self) -> Frame:
        """The next frame, or ``PING`` when a keep-alive is due (SSE only)."""
        while True:
            if self._backlog:
                frame = self._backlog.pop(0)
                self._subscriber.handed_out(frame.seq)
                return frame
            # Live frames at or before the replayed position were in the replay: the
            # subscriber skips them.
            live = await self._subscriber.get()
            if live is None:  # live frames went missing: catch up from history
                await self._catch_up()
                continue
            return live

    def _ready(self) -> list[Frame]:
        """Frames already waiting, to send with the one :meth:`next_or_ping` returned."""
        if self._backlog:
            ready, self._backlog = self._backlog[:BATCH], self._backlog[BATCH:]
            for frame in ready:
                self._subscriber.handed_out(frame.seq)
            return ready
        return self._subscriber.take_ready(BATCH)

    async def _catch_up(self) -> None:
        assert self._hub is not None
        after = self._subscriber.resume_from()
        if after is None:
            after = self.position
        if after is None:
            # Nothing tells where this subscription stood: go on from the channel's
            # current position, and say that something may have been missed.
            self.since = None
            self.position = await self._hub.broker.position(self.channel)
            self.recovered = False
            self._subscriber.floor = self.position
            self._backlog = [Frame(None, self.gap_frame())]
            return
        self.since = after
        self._replayed(await self._hub.broker.history(self.channel, after))

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        while True:
            try:
                seq, frame = await self.next_frame()
            except SubscriberClosed:
                raise StopAsyncIteration from None
            if seq is not None:  # control frames (gap) only update ``recovered``
                return Message.from_json(frame)

    @property
    def closed_reason(self) -> str | None:
        return self._subscriber.closed_reason

    async def close(self) -> None:
        """Leave the channel; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._subscriber.close()
        self._subscriber.on_wake = None
        if self._hub is not None:
            await self._hub.remove(self._subscriber)
        if self._member is not None:
            member, self._member = self._member, None
            await tracker().leave(member)

    def gap_frame(self) -> str:
        """The control frame that tells a client history did not cover its position."""
        return json.dumps(
            {
                "kind": "gap",
                "channel": self.channel,
                "recovered": False,
                "since": self.since,
                "position": self.position,
            },
            separators=(",", ":"),
        )

    def sse_response(
        self, *, keepalive: float | None = None, encode: SseEncoder | None = None
    ) -> StreamingHttpResponse:
        """A ``text/event-stream`` response of this subscription; it closes it when done.

        ``encode(seq, frame)`` turns each frame into an SSE event, or ``None`` to skip it
        (default: :func:`json_sse_event`)."""
        interval = get_config().SSE_KEEPALIVE if keepalive is None else keepalive
        return StreamingHttpResponse(
            self._sse_events(interval, encode or json_sse_event), headers=SSE_HEADERS
        )

    @property
    def run_ended(self) -> bool:
        """True once the run's end this subscription waited for was handed out."""
        return self._run_ended

    def sse_body(self, frame: Frame, encode: SseEncoder | None = None) -> bytes:
        """``frame`` and the frames already waiting behind it, as SSE events in one piece
        (``encode``: see :meth:`sse_response`; None: each frame's own JSON event); with
        ``until_run_end``, nothing after the run's end (then :attr:`run_ended`)."""
        frames = [frame, *self._ready()]
        ended = [i for i, f in enumerate(frames) if self._ends_run(f.seq, f.text)]
        if ended:  # the run's end is the stream's last event
            frames = frames[: ended[0] + 1]
            self._run_ended = True
        if encode is None:
            return b"".join([f.sse() for f in frames])
        return "".join(
            [e for e in (encode(f.seq, f.text) for f in frames) if e is not None]
        ).encode()

    async def _sse_events(self, keepalive: float, encode: SseEncoder) -> AsyncIterator[bytes]:
        subscriber = self._subscriber
        timer = keepalive_timer(keepalive) if keepalive > 0 else None
        own_encoding = encode is json_sse_event
        writer: FrameWriter | None = None
        try:
            yield SSE_OPENING
            # The request's sync work is done: its thread need not wait for the stream.
            await request_thread.release()
            # Resumed once the opening is sent: under Daphne, the hub may now write live
            # events to the connection itself, each built once for every subscriber (not
            # when the stream ends with a run: each frame is looked at here then).
            if own_encoding and not self.until_run_end:
                writer = response_writer(len(SSE_OPENING))
                if writer is not None:
                    subscriber.attach(writer, Frame.sse_chunk, SSE_PING_CHUNK)
            if timer is not None:
                timer.add(subscriber)
            while True:
                if writer is not None:
                    self.go_direct()
                try:
                    frame = await self.next_or_ping()
                except SubscriberClosed as exc:
                    if exc.reason == "slow":
                        yield SSE_SLOW_CLOSE
                    return
                if frame is PING:
                    yield SSE_PING
                    continue
                body = self.sse_body(frame, None if own_encoding else encode)
                if body:  # what waits goes out in one piece
                    yield body
                if self._run_ended:
                    return
        finally:
            if timer is not None:
                timer.discard(subscriber)
            if writer is not None:
                subscriber.detach()
                writer.close()
            await self.close()


#: Turns a (seq, frame) of a subscription into one SSE event, or ``None`` to skip it.
SseEncoder = Callable[[int | None, str], str | None]


def json_sse_event(seq: int | None, frame: str) -> str:
    """Each envelope as JSON, its ``id`` the channel position; control frames (gap) named."""
    if seq is None:
        return sse_event(frame, event="gap")
    return sse_event(frame, event_id=str(seq))


def parse_since(value: Any) -> int | None:
    """A client's resume position (query string, ``Last-Event-ID`` or a JSON frame)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        since = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        since = int(value)
    else:
        raise TokenMalformed("'since' (or Last-Event-ID) must be a whole number.")
    if since < 0:
        raise TokenMalformed("'since' must not be negative.")
    return since


def parse_topics(value: Any) -> list[str] | None:
    """A client's topic subset: ``"a,b"`` or a list of names."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [t for t in value.split(",") if t]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return value
    raise TokenMalformed("'topics' must be a list of names.")


async def subscribe(
    channel: ChannelRef | str,
    topics: Sequence[str] | None = None,
    *,
    since: int | None = None,
    user: Any = None,
    until_run_end: bool | str = False,
) -> Subscription:
    """Subscribe to topics of a channel (all its defined topics by default).

    ``channel`` is a channel reference (``post_channel("123")``) or a concrete name;
    ``user``, the subscriber shown to others on a ``presence=True`` channel;
    ``until_run_end``: end (iteration and SSE response) after a run's end message
    (completed, failed or cancelled), ``True`` for any run's, or the id of one run.
    """
    options = {"user": user, "until_run_end": until_run_end}
    if isinstance(channel, str):
        try:
            channel = registry.resolve(channel)
        except LookupError:
            if not topics:
                raise LookupError(
                    f"Channel {channel!r} matches no definition; name its topics explicitly."
                ) from None
            return await Subscription(str(channel), list(topics), since, **options).start()
    known = channel.topics
    wanted = list(topics) if topics else known
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise LookupError(
            f"Channel {channel.name!r} has no topic(s) {unknown} (topics: {known or 'none'})."
        )
    if not wanted:
        raise ValueError(f"Channel {channel.name!r} has no topics to subscribe to.")
    return await Subscription(channel.name, wanted, since, **options).start()
