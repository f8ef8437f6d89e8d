"""Keep-alive pings from one timer per event loop and interval, instead of a task and a
timer per connection: for idle Server-Sent Events streams, and for WebSockets written to
directly (under Daphne)."""

from __future__ import annotations

import asyncio
import weakref

from django_inngest_realtime.subscriber import Subscriber
from django_inngest_realtime.transports.wire import FrameWriter, text_frame

#: The WebSocket ping frame: ``{"kind":"ping"}``.
WS_PING = text_frame('{"kind":"ping"}')


class KeepAlive:
    """Every ``interval`` seconds, pings each member that got no live frame since the
    previous tick (so an idle stream hears something every one to two intervals)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.members: dict[Subscriber, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, subscriber: Subscriber) -> None:
        self.members[subscriber] = None
        if self._timer is None:
            self._timer = self.loop.call_later(self.interval, self._tick)

    def discard(self, subscriber: Subscriber) -> None:
        self.members.pop(subscriber, None)
        if not self.members and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        for subscriber in list(self.members):
            if subscriber.active:
                subscriber.active = False
            else:
                subscriber.ping()
        self._timer = self.loop.call_later(self.interval, self._tick) if self.members else None


class WebSocketPings:
    """Every ``interval`` seconds, writes a ping frame to each member WebSocket's direct
    writer (a connection whose send buffer is full already has frames on their way, and
    is skipped)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.members: dict[FrameWriter, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, writer: FrameWriter) -> None:
        self.members[writer] = None
        if self._timer is None:
            self._timer = self.loop.call_later(self.interval, self._tick)

    def discard(self, writer: FrameWriter) -> None:
        self.members.pop(writer, None)
        if not self.members and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        for writer in list(self.members):
            writer.write(WS_PING)
        self._timer = self.loop.call_later(self.interval, self._tick) if self.members else None


_timers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, KeepAlive]] = (
    weakref.WeakKeyDictionary()
)
_pings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, WebSocketPings]] = (
    weakref.WeakKeyDictionary()
)


def keepalive(interval: float) -> KeepAlive:
    """This event loop's keep-alive timer for ``interval``."""
    loop = asyncio.get_running_loop()
    timers = _timers.setdefault(loop, {})
    timer = timers.get(interval)
    if timer is None:
        timer = timers[interval] = KeepAlive(loop, interval)
    return timer


def websocket_pings(interval: float) -> WebSocketPings:
    """This event loop's WebSocket ping timer for ``interval``."""
    loop = asyncio.get_running_loop()
    timers = _pings.setdefault(loop, {})
    timer = timers.get(interval)
    if timer is None:
        timer = timers[interval] = WebSocketPings(loop, interval)
    return timer
