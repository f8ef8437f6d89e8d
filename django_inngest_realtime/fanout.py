"""Per-process fan-out: one channel-layer membership per (channel, topic) in use.

Instead of one group membership, one channel-layer message and one JSON encoding per
connection, each event loop has a :class:`Hub` that joins each group once on one
channel-layer channel, and writes the already-encoded frame to every local
:class:`Subscriber`'s bounded buffer.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import re
import weakref
from typing import Any

from channels.layers import get_channel_layer

from django_inngest_realtime import history
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.direct import DirectWriter, text_frame
from django_inngest_realtime.redis_bus import RedisBus

logger = logging.getLogger("django_inngest_realtime")

MESSAGE_TYPE = "realtime.message"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_GROUP_NAME = 99  # Channels requires names shorter than 100 characters.


def group_name(channel: str, topic: str) -> str:
    """Return the channel-layer group of (channel, topic): a safe, unique, bounded name."""
    prefix = get_config().GROUP_PREFIX
    digest = hashlib.sha256(f"{channel}\x00{topic}".encode()).hexdigest()[:32]
    room = _MAX_GROUP_NAME - len(prefix) - len(digest) - 2
    readable = _UNSAFE.sub("_", f"{channel}.{topic}")[: max(room, 0)]
    return f"{prefix}.{readable}.{digest}" if readable else f"{prefix}.{digest}"


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

    Its owner may attach a :class:`~django_inngest_realtime.direct.DirectWriter`; while
    the subscriber is *direct* (nothing buffered, the writer has room), :meth:`push`
    writes live frames to the connection itself and the owner is not woken.
    """

    def __init__(self, groups: set[str], maxsize: int) -> None:
        self.groups = groups
        self.maxsize = maxsize
        self.closed_reason: str | None = None
        #: Set when the channel layer failed and live messages may have been missed.
        self.needs_resync = False
        #: Live frames at or before this position were replayed from history: skip them.
        self.floor: int | None = None
        #: The highest position handed out (buffered or written), for catching up.
        self.last_seq: int | None = None
        self.writer: DirectWriter | None = None
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

    def attach(self, writer: DirectWriter) -> None:
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

    def resync(self) -> None:
        """Mark that live delivery was interrupted: the owner re-reads history."""
        self.needs_resync = True
        self.direct = False
        self._wake.set()

    def _held(self) -> bool:
        """Buffered frames wait while the direct writer's transport is full."""
        return self.writer is not None and self.writer.paused

    async def get(self) -> Frame | None:
        """Return the next live frame; raise :class:`SubscriberClosed` once closed and empty.

        Returns None once when :meth:`resync` was called.
        """
        while True:
            while not self._items or self._held():
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


class Hub:
    """Fan-out for one event loop."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.layer: Any = get_channel_layer(alias)
        if self.layer is None:
            raise RuntimeError(
                "No channel layer is configured (CHANNEL_LAYERS); see django_inngest_realtime.E001."
            )
        self.channel_name: str | None = None
        store = history.get_store()
        #: With history in Redis, frames come over Redis pub/sub, not the channel layer.
        self.bus = RedisBus(store.url) if isinstance(store, history.RedisHistoryStore) else None
        self.members: dict[str, set[Subscriber]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def _join(self, group: str) -> None:
        if self.bus is not None:
            await self.bus.subscribe(group)
        else:
            await self.layer.group_add(group, self.channel_name)

    async def add(self, subscriber: Subscriber) -> None:
        """Start delivering the subscriber's groups to it."""
        async with self._lock:
            if self.channel_name is None and self.bus is None:
                # The default prefix: channels_redis receives every process-specific
                # channel through one shared list, and a custom prefix would starve it.
                self.channel_name = await self.layer.new_channel()
            for group in subscriber.groups:
                subscribers = self.members.setdefault(group, set())
                if not subscribers:
                    await self._join(group)
                subscribers.add(subscriber)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="inngest-realtime-hub")

    async def remove(self, subscriber: Subscriber) -> None:
        """Stop delivering to the subscriber; leave groups nobody here uses any more."""
        async with self._lock:
            for group in subscriber.groups:
                subscribers = self.members.get(group)
                if subscribers is None:
                    continue
                subscribers.discard(subscriber)
                if not subscribers:
                    del self.members[group]
                    if self.bus is not None:
                        await self.bus.unsubscribe(group)
                    elif self.channel_name is not None:
                        await self.layer.group_discard(group, self.channel_name)

    def dispatch(self, message: dict[str, Any]) -> None:
        """Write one channel-layer message to every local subscriber of its group."""
        subscribers = self.members.get(message.get("group", ""))
        if not subscribers:
            return
        frame = Frame(message.get("seq"), message["frame"])
        for subscriber in subscribers:
            subscriber.push(frame)

    async def _read(self) -> None:
        while True:
            try:
                if self.bus is not None:
                    self.dispatch(await self.bus.receive())
                    continue
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Fan-out hub lost the channel layer; reconnecting")
                await self._recover()
                continue
            if message.get("type") == MESSAGE_TYPE:
                self.dispatch(message)

    async def _recover(self) -> None:
        """Join every group again (a restarted Redis forgets them), then tell subscribers
        to re-read history for what they missed meanwhile."""
        backoff = 0.1
        while True:
            await asyncio.sleep(backoff)
            try:
                async with self._lock:
                    if self.bus is not None:
                        await self.bus.reconnect(list(self.members))
                    else:
                        for group in list(self.members):
                            await self.layer.group_add(group, self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Channel layer still unavailable (%s); retrying", exc)
                backoff = min(backoff * 2, 5.0)
                continue
            logger.info("Fan-out hub reconnected to the channel layer")
            for subscribers in self.members.values():
                for subscriber in subscribers:
                    subscriber.resync()
            return

    def group_count(self) -> int:
        return len(self.members)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()
_home: weakref.ref[asyncio.AbstractEventLoop] | None = None


def get_hub() -> Hub:
    """Return this event loop's hub."""
    global _home
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
        _home = weakref.ref(loop)
    return hub


def dispatch_local(message: dict[str, Any]) -> None:
    """Hand a hub message to every hub of this process, as the in-memory channel layer
    would, without its per-message copy, queue, capacity and expiry.

    The in-memory layer reaches this process only, so this is all its ``group_send``
    does for our groups, minus the extra task wake-up and a silent drop when a hub's
    queue holds 100 undelivered messages. Hubs on other threads' loops get the message
    through their own loop.
    """
    current = asyncio.get_running_loop()
    for loop, hub in list(_hubs.items()):
        if loop is current:
            hub.dispatch(message)
        elif loop.is_running():
            loop.call_soon_threadsafe(hub.dispatch, message)


def home_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop that subscribers live on, if any (the server's loop)."""
    loop = _home() if _home is not None else None
    return loop if loop is not None and loop.is_running() else None
