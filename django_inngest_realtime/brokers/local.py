"""The ``local`` broker: history in this process's memory, fan-out to this process's hubs.

The embedded default: no service to run, one process. A publish appends under a lock
and hands the frame to every hub that joined its group, in order; a hub on another
thread's event loop gets it through that loop.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import threading
import time

from django_inngest_realtime.brokers.base import (
    Beat,
    Broker,
    Feed,
    Member,
    Replay,
    Sink,
    replay_after,
    sequence_start,
)
from django_inngest_realtime.conf import RealtimeConfig
from django_inngest_realtime.envelope import Message


@dataclasses.dataclass
class _Channel:
    start: int
    seq: int
    #: The last position published on each topic, for the frames' ``prev``.
    last: dict[str, int] = dataclasses.field(default_factory=dict)
    kept: collections.deque[tuple[float, Message]] = dataclasses.field(
        default_factory=collections.deque
    )


class LocalFeed(Feed):
    """The groups one hub joined, and the loop to reach it on."""

    def __init__(self, broker: LocalBroker, sink: Sink) -> None:
        self.broker = broker
        self.sink = sink
        self.loop = asyncio.get_running_loop()
        self.groups: set[str] = set()

    def post(self, group: str, seq: int, prev: int, frame: str, here: object) -> None:
        if self.loop is here:
            self.sink.deliver(group, seq, prev, frame)
        elif not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.sink.deliver, group, seq, prev, frame)
            except RuntimeError:  # closed meanwhile
                pass

    async def join(self, group: str) -> None:
        with self.broker.lock:
            self.groups.add(group)
            self.broker.feeds.add(self)

    async def leave(self, group: str) -> None:
        with self.broker.lock:
            self.groups.discard(group)

    async def close(self) -> None:
        with self.broker.lock:
            self.groups.clear()
            self.broker.feeds.discard(self)


class LocalBroker(Broker):
    """One process, in memory."""

    cross_process = False

    def __init__(self, config: RealtimeConfig) -> None:
        super().__init__(config)
        self.lock = threading.Lock()
        self.feeds: set[LocalFeed] = set()
        self._channels: dict[str, _Channel] = {}
        self._present: dict[str, dict[str, Member]] = {}

    def publish_sync(self, message: Message) -> Message:
        group = self.group(message.channel, message.topic)
        try:
            here: object = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        now = time.monotonic()
        with self.lock:
            state = self._channels.get(message.channel)
            if state is None:
                start = sequence_start()
                state = self._channels[message.channel] = _Channel(start, start)
            state.seq += 1
            prev = state.last.get(message.topic, 0)
            state.last[message.topic] = state.seq
            stored = message.model_copy(update={"seq": state.seq})
            state.kept.append((now, stored))
            self._trim(state, now)
            # Handed out under the lock, so every hub sees a group's frames in order.
            if self.feeds:
                frame = stored.to_json()
                for feed in self.feeds:
                    if group in feed.groups:
                        feed.post(group, state.seq, prev, frame, here)
        return stored

    async def publish(self, message: Message) -> Message:
        return self.publish_sync(message)

    def history_sync(self, channel: str, after: int) -> Replay:
        with self.lock:
            state = self._channels.get(channel)
            if state is None:
                return replay_after([], after, 0, 0)
            self._trim(state, time.monotonic())
            kept = [m for _, m in state.kept]
            return replay_after(kept, after, state.seq, state.start)

    async def history(self, channel: str, after: int) -> Replay:
        return self.history_sync(channel, after)

    def position_sync(self, channel: str) -> int:
        with self.lock:
            state = self._channels.get(channel)
            return state.seq if state is not None else 0

    async def position(self, channel: str) -> int:
        return self.position_sync(channel)

    def connect(self, sink: Sink) -> Feed:
        return LocalFeed(self, sink)

    # Presence: one process, so nobody else's members to sweep.

    async def presence_join(self, channel: str, member: Member, process: str) -> None:
        with self.lock:
            self._present.setdefault(channel, {})[member.id] = member

    async def presence_leave(self, channel: str, member_id: str, process: str) -> None:
        with self.lock:
            members = self._present.get(channel, {})
            members.pop(member_id, None)
            if not members:
                self._present.pop(channel, None)

    async def presence_members(self, channel: str) -> list[Member]:
        with self.lock:
            return list(self._present.get(channel, {}).values())

    async def presence_beat(self, process: str) -> Beat:
        return Beat([])

    def _trim(self, state: _Channel, now: float) -> None:
        kept = state.kept
        while len(kept) > self.size or (kept and now - kept[0][0] > self.ttl):
            kept.popleft()
