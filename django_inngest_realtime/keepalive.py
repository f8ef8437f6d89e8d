"""Keep-alive pings for idle Server-Sent Events streams: one timer per event loop and
interval, instead of a timeout (a task and a timer) per connection and message."""

from __future__ import annotations

import asyncio
import weakref

from django_inngest_realtime.subscriber import Subscriber


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


_timers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, KeepAlive]] = (
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
