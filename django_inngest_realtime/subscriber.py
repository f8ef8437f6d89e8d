"""One local consumer of live frames, with a bounded buffer (the hub pushes, the transport
pulls), and the frame it is handed."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable
from typing import Any

from django_inngest_realtime.envelope import sse_event
from django_inngest_realtime.transports.wire import FrameWriter, http_chunk, text_frame


class SubscriberClosed(Exception):
    """The subscription ended; ``reason`` says why (``"closed"`` or ``"slow"``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Frame:
    """One live message as the hub received it: its position and its JSON text.

    Its encodings are built on first use and shared by every connection it goes to.
    """

    __slots__ = ("_chunk", "_sse", "_wire", "seq", "text")

    def __init__(self, seq: int | None, text: str) -> None:
        self.seq = seq
        self.text = text
        self._wire: bytes | None = None
        self._sse: bytes | None = None
        self._chunk: bytes | None = None

    def wire(self) -> bytes:
        """The WebSocket frame carrying it."""
        if self._wire is None:
            self._wire = text_frame(self.text)
        return self._wire

    def sse(self) -> bytes:
        """The Server-Sent Events event carrying it: its ``id`` the position, or named
        ``gap`` for the control frame without one."""
        if self._sse is None:
            if self.seq is None:
                event = sse_event(self.text, event="gap")
            else:
                event = sse_event(self.text, event_id=str(self.seq))
            self._sse = event.encode()
        return self._sse

    def sse_chunk(self) -> bytes:
        """:meth:`sse` as one chunk of a chunked HTTP/1.1 response."""
        if self._chunk is None:
            self._chunk = http_chunk(self.sse())
        return self._chunk


#: What :meth:`Subscriber.get` returns when a keep-alive ping is due.
PING = Frame(None, "")


class Subscriber:
    """One local consumer of frames, with a bounded buffer.

    Its owner may attach a :class:`~django_inngest_realtime.transports.FrameWriter`;
    while the subscriber is *direct* (nothing buffered, the writer has room),
    :meth:`push` writes live frames to the connection itself and the owner is not woken.
    """

    # Slots, a deque made on first use and a future only while the owner waits: an idle
    # subscription is a few hundred bytes (docs/performance.md, memory).
    __slots__ = (
        "_items",
        "_waiter",
        "active",
        "closed_reason",
        "direct",
        "encode",
        "floor",
        "groups",
        "last_seq",
        "maxsize",
        "needs_resync",
        "on_wake",
        "ping_data",
        "ping_due",
        "start",
        "writer",
    )

    def __init__(self, groups: Iterable[str], maxsize: int) -> None:
        #: A tuple, each group once (a set would take four times the memory).
        self.groups = tuple(dict.fromkeys(groups))
        self.maxsize = maxsize
        self.closed_reason: str | None = None
        #: Set when live frames may have been missed: the owner re-reads history.
        self.needs_resync = False
        #: Live frames at or before this position were replayed from history: skip them.
        self.floor: int | None = None
        #: The highest position handed out (buffered or written), for catching up.
        self.last_seq: int | None = None
        #: Where to catch up from when nothing was handed out yet: the last position the
        #: hub had delivered on its groups when this subscriber joined, or the last one
        #: before frames went missing.
        self.start: int | None = None
        self.writer: FrameWriter | None = None
        #: What the writer is given for a frame (its WebSocket frame, an HTTP chunk...).
        self.encode: Callable[[Frame], Any] = Frame.wire
        #: What the writer is given for a keep-alive ping (None: the owner sends it).
        self.ping_data: bytes | None = None
        self.direct = False
        #: Set on every live frame; a keep-alive timer clears it (``keepalive.py``).
        self.active = False
        self.ping_due = False
        #: Called when there is something for the owner to do and it is not waiting in
        #: :meth:`get` (an owner that stops waiting while direct starts again then).
        self.on_wake: Callable[[], None] | None = None
        self._items: collections.deque[Frame] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(None)
        elif self.on_wake is not None:
            self.on_wake()

    def push(self, frame: Frame) -> None:
        """Deliver or buffer a live frame; a full buffer closes the subscriber as ``"slow"``."""
        if self.closed_reason is not None:
            return
        seq = frame.seq
        if seq is not None and self.floor is not None and seq <= self.floor:
            return
        self.active = True
        if self.direct:
            if self.writer is not None and self.writer.write(self.encode(frame)):
                self.handed_out(seq)
                return
            self.direct = False  # queue from here on, in order, until the owner drains
        items = self._items
        if items is None:
            items = self._items = collections.deque()
        if len(items) >= self.maxsize:
            self.close("slow")
            return
        items.append(frame)
        self._wake()

    def ping(self) -> None:
        """A keep-alive is due: write it when direct, else have :meth:`get` return ``PING``."""
        if self.closed_reason is not None:
            return
        if (
            self.direct
            and self.ping_data is not None
            and self.writer is not None
            and self.writer.write(self.ping_data)
        ):
            return
        self.ping_due = True
        self._wake()

    def handed_out(self, seq: int | None) -> None:
        if seq is not None and (self.last_seq is None or seq > self.last_seq):
            self.last_seq = seq

    def attach(
        self,
        writer: FrameWriter,
        encode: Callable[[Frame], Any] = Frame.wire,
        ping: bytes | None = None,
    ) -> None:
        """Let :meth:`go_direct` hand live frames, as ``encode`` makes them, to ``writer``;
        keep-alive pings are written as ``ping``."""
        self.writer = writer
        self.encode = encode
        self.ping_data = ping
        writer.add_waker(self._wake)

    def detach(self) -> None:
        """Stop writing directly; what is pushed from now on waits for :meth:`get`."""
        if self.writer is not None:
            self.writer.remove_waker(self._wake)
        self.writer = None
        self.direct = False

    def go_direct(self) -> bool:
        """Write live frames directly from now on, if a writer is attached and has room
        and nothing is buffered; the owner calls it once it has sent everything it had."""
        writer = self.writer
        self.direct = (
            writer is not None
            and not writer.paused
            and not self._items
            and not self.needs_resync
            and self.closed_reason is None
        )
        return self.direct

    def close(self, reason: str = "closed") -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self.direct = False
            if reason == "slow" and self._items:
                self._items.clear()  # bounded memory: the client resumes from its position
            if self.writer is not None:
                self.writer.remove_waker(self._wake)
            self._wake()

    def resync(self, after: int | None = None) -> None:
        """Live delivery was interrupted after position ``after`` (when known): drop what is
        buffered; the owner re-reads history from :meth:`resume_from`."""
        if after is not None and (self.start is None or after < self.start):
            self.start = after
        self.needs_resync = True
        self.direct = False
        if self._items:
            self._items.clear()
        self._wake()

    def resume_from(self) -> int | None:
        """The position to re-read history after, if one is known."""
        return self.last_seq if self.last_seq is not None else self.start

    def _held(self) -> bool:
        """Buffered frames wait while the direct writer's transport is full."""
        return self.writer is not None and self.writer.paused

    async def get(self) -> Frame | None:
        """Return the next live frame, or :data:`PING` when a keep-alive is due; raise
        :class:`SubscriberClosed` once closed and empty.

        Returns None once when :meth:`resync` was called.
        """
        while True:
            while not self._items or self._held() or self.needs_resync:
                if self.closed_reason is not None:
                    raise SubscriberClosed(self.closed_reason)
                if self.needs_resync:
                    self.needs_resync = False
                    return None
                if self.ping_due and not self._held():
                    self.ping_due = False
                    return PING
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            frame = self._items.popleft()
            self.ping_due = False  # the frame keeps the connection alive
            if frame.seq is None or self.floor is None or frame.seq > self.floor:
                self.handed_out(frame.seq)
                return frame

    def take_ready(self, limit: int) -> list[Frame]:
        """Up to ``limit`` more frames already buffered and sendable now, without waiting
        (the owner sends them together with the one :meth:`get` returned)."""
        ready: list[Frame] = []
        items = self._items
        floor = self.floor
        while items and len(ready) < limit and not self.needs_resync and not self._held():
            frame = items.popleft()
            if frame.seq is None or floor is None or frame.seq > floor:
                self.handed_out(frame.seq)
                ready.append(frame)
        return ready
