"""Keep-alive pings from one timer per event loop and interval, instead of a task and a
timer per connection: for idle Server-Sent Events streams, and for WebSockets written to
directly (under Daphne)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Generic, TypeVar

from django_inngest_realtime.subscriber import Subscriber
from django_inngest_realtime.transports.wire import FrameWriter, text_frame

#: The WebSocket ping frame: ``{"kind":"ping"}``.
WS_PING = text_frame('{"kind":"ping"}')


M = TypeVar("M")


class _Timer(Generic[M]):
    """One timer per event loop and interval for any number of members: every
    ``interval`` seconds it visits each member; it runs only while there are members."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.members: dict[M, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, member: M) -> None:
        self.members[member] = None
        if self._timer is None:
            self._timer = self.loop.call_later(self.interval, self._tick)

    def discard(self, member: M) -> None:
        self.members.pop(member, None)
        if not self.members and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        for member in list(self.members):
            self._visit(member)
        self._timer = self.loop.call_later(self.interval, self._tick) if self.members else None

    def _visit(self, member: M) -> None:
        raise NotImplementedError


class KeepAlive(_Timer[Subscriber]):
    """Every ``interval`` seconds, pings each member that got no live frame since the
    previous tick (so an idle stream hears something every one to two intervals)."""

    def _visit(self, subscriber: Subscriber) -> None:
        if subscriber.active:
            subscriber.active = False
        else:
            subscriber.ping()


class WebSocketPings(_Timer[FrameWriter]):
    """Every ``interval`` seconds, writes a ping frame to each member WebSocket's direct
    writer (a connection whose send buffer is full already has frames on their way, and
    is skipped)."""

    def _visit(self, writer: FrameWriter) -> None:
        writer.write(WS_PING)


T = TypeVar("T", bound=_Timer[Any])
_timers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[type, float], Any]] = (
    weakref.WeakKeyDictionary()
)


def _timer(kind: type[T], interval: float) -> T:
    """This event loop's timer of ``kind`` for ``interval``."""
    loop = asyncio.get_running_loop()
    timers = _timers.setdefault(loop, {})
    timer = timers.get((kind, interval))
    if timer is None:
        timer = timers[(kind, interval)] = kind(loop, interval)
    return timer


def keepalive(interval: float) -> KeepAlive:
    """This event loop's keep-alive timer for ``interval``."""
    return _timer(KeepAlive, interval)


def websocket_pings(interval: float) -> WebSocketPings:
    """This event loop's WebSocket ping timer for ``interval``."""
    return _timer(WebSocketPings, interval)
