"""One local consumer of live frames, with a bounded buffer (the hub pushes, the transport
pulls), and the frame it is handed."""

from __future__ import annotations

import asyncio
import collections

from django_inngest_realtime.transports.wire import FrameWriter, text_frame


class SubscriberClosed(Exception):
    """The subscription ended; ``reason`` says why (``"closed"`` or ``"slow"``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Frame:
    """One live message as the hub received it: its position and its JSON text."""

    __slots__ = ("_wire", "seq", "text")

    def __init__(self, seq: int | None, text: str) -> None:
        self.seq = seq
        self.text = text
        self._wire: bytes | None = None

    def wire(self) -> bytes:
        """The WebSocket frame carrying it, built once for every connection."""
        if self._wire is None:
            self._wire = text_frame(self.text)
        return self._wire


class Subscriber:
    """One local consumer of frames, with a bounded buffer.

    Its owner may attach a :class:`~django_inngest_realtime.transports.FrameWriter`;
    while the subscriber is *direct* (nothing buffered, the writer has room),
    :meth:`push` writes live frames to the connection itself and the owner is not woken.
    """

    def __init__(self, groups: set[str], maxsize: int) -> None:
        self.groups = groups
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
        self.direct = False
        self._items: collections.deque[Frame] = collections.deque()
        self._wake = asyncio.Event()

    def push(self, frame: Frame) -> None:
        """Deliver or buffer a live frame; a full buffer closes the subscriber as ``"slow"``."""
        if self.closed_reason is not None:
            return
        seq = frame.seq
        if seq is not None and self.floor is not None and seq <= self.floor:
            return
        if self.direct:
            if self.writer is not None and self.writer.write(frame.wire()):
                self.handed_out(seq)
                return
            self.direct = False  # queue from here on, in order, until the owner drains
        if len(self._items) >= self.maxsize:
            self.close("slow")
            return
        self._items.append(frame)
        self._wake.set()

    def handed_out(self, seq: int | None) -> None:
        if seq is not None and (self.last_seq is None or seq > self.last_seq):
            self.last_seq = seq

    def attach(self, writer: FrameWriter) -> None:
        """Let :meth:`go_direct` hand live frames to ``writer``."""
        self.writer = writer
        writer.add_waker(self._wake.set)

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
            if reason == "slow":
                self._items.clear()  # bounded memory: the client resumes from its position
            if self.writer is not None:
                self.writer.remove_waker(self._wake.set)
            self._wake.set()

    def resync(self, after: int | None = None) -> None:
        """Live delivery was interrupted after position ``after`` (when known): drop what is
        buffered; the owner re-reads history from :meth:`resume_from`."""
        if after is not None and (self.start is None or after < self.start):
            self.start = after
        self.needs_resync = True
        self.direct = False
        self._items.clear()
        self._wake.set()

    def resume_from(self) -> int | None:
        """The position to re-read history after, if one is known."""
        return self.last_seq if self.last_seq is not None else self.start

    def _held(self) -> bool:
        """Buffered frames wait while the direct writer's transport is full."""
        return self.writer is not None and self.writer.paused

    async def get(self) -> Frame | None:
        """Return the next live frame; raise :class:`SubscriberClosed` once closed and empty.

        Returns None once when :meth:`resync` was called.
        """
        while True:
            while not self._items or self._held() or self.needs_resync:
                if self.closed_reason is not None:
                    raise SubscriberClosed(self.closed_reason)
                if self.needs_resync:
                    self.needs_resync = False
                    return None
                self._wake.clear()
                await self._wake.wait()
            frame = self._items.popleft()
            if frame.seq is None or self.floor is None or frame.seq > self.floor:
                self.handed_out(frame.seq)
                return frame
