"""Per-process fan-out: each event loop's hub joins each group in use once, through its
broker's feed, and hands every frame, encoded once, to every local subscriber.

A hub checks each group's frames for continuity: every frame names the previous
position published on its (channel, topic), so a frame that went missing (a dropped
connection, a restarted Redis) is seen on the next one, and that group's subscribers
catch up from history — or are told of the gap — instead of going on as if nothing
happened (Centrifugo does the same with its offsets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from django_inngest_realtime.brokers import Broker, get_broker
from django_inngest_realtime.brokers.base import Feed
from django_inngest_realtime.subscriber import Frame, Subscriber

logger = logging.getLogger("django_inngest_realtime")


class Hub:
    """Fan-out for one event loop."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.feed: Feed | None = None
        self.members: dict[str, set[Subscriber]] = {}
        #: The position of the last frame delivered on each group.
        self.last: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def add(self, subscriber: Subscriber) -> None:
        """Start delivering the subscriber's groups to it; frames flow once this returns."""
        async with self._lock:
            if self.feed is None:
                self.feed = self.broker.connect(self)
            known = [self.last.get(group) for group in subscriber.groups]
            if known and None not in known:
                subscriber.start = min(k for k in known if k is not None)
            try:
                for group in subscriber.groups:
                    subscribers = self.members.get(group)
                    if subscribers is None:
                        await self.feed.join(group)
                        subscribers = self.members[group] = set()
                    subscribers.add(subscriber)
            except BaseException:
                await self._remove(subscriber)
                raise

    async def remove(self, subscriber: Subscriber) -> None:
        """Stop delivering to the subscriber; leave the groups nobody here uses any more,
        and close the feed once no group is left."""
        async with self._lock:
            await self._remove(subscriber)

    async def _remove(self, subscriber: Subscriber) -> None:
        feed = self.feed
        for group in subscriber.groups:
            subscribers = self.members.get(group)
            if subscribers is None:
                continue
            subscribers.discard(subscriber)
            if not subscribers:
                del self.members[group]
                self.last.pop(group, None)
                if feed is not None:
                    try:
                        await feed.leave(group)
                    except Exception as exc:  # the backend is gone: nothing is held there
                        logger.warning("Could not leave group %s: %s", group, exc)
        if not self.members and feed is not None:
            self.feed = None
            with contextlib.suppress(Exception):
                await feed.close()

    def deliver(self, group: str, seq: int, prev: int, frame: str) -> None:
        """Hand one frame of ``group`` to its local subscribers (the broker's feed calls it)."""
        subscribers = self.members.get(group)
        if not subscribers:
            return
        known = self.last.get(group)
        if known is not None:
            if seq <= known:
                return  # seen already (a catch-up read it, or a retry resent it)
            if prev != known:
                # Frames between ``known`` and this one went missing on the way here.
                self.last[group] = seq
                logger.info("Group %s skipped from %s to %s: catching up", group, known, prev)
                for subscriber in subscribers:
                    subscriber.resync(known)
                return
        self.last[group] = seq
        live = Frame(seq, frame)
        for subscriber in subscribers:
            subscriber.push(live)

    def resync(self) -> None:
        """The feed lost its connection meanwhile: every subscriber catches up."""
        last, self.last = self.last, {}
        for group, subscribers in self.members.items():
            for subscriber in subscribers:
                subscriber.resync(last.get(group))

    def group_count(self) -> int:
        return len(self.members)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """Return this event loop's hub (for the current broker)."""
    loop = asyncio.get_running_loop()
    broker = get_broker()
    hub = _hubs.get(loop)
    if hub is None or hub.broker is not broker:
        hub = _hubs[loop] = Hub(broker)
    return hub
