"""The broker interface: where a channel's history lives and how a publish reaches the
hub of every process.

A broker does three things, and owns the state they share, so they can never disagree:

* ``publish``: give the message the channel's next position (``seq``), keep it in the
  channel's history, and hand it to every hub subscribed to its (channel, topic) group —
  in one step where the backend allows it;
* ``history`` / ``position``: what a client missed after a position, for resume;
* ``connect``: a hub's :class:`Feed`, through which that hub joins and leaves groups and
  receives their frames.

Every frame a hub receives carries the previous position published on the same
(channel, topic), so the hub can see a frame that went missing and have its subscribers
catch up from history (``hub.py``).
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import re
import time
from typing import TYPE_CHECKING, Any, Protocol

from django_inngest_realtime.envelope import Message

if TYPE_CHECKING:
    from django_inngest_realtime.conf import RealtimeConfig

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_GROUP_NAME = 99  # Channels requires names shorter than 100 characters.


def group_name(prefix: str, channel: str, topic: str) -> str:
    """The group of (channel, topic): a name that is safe, unique and short enough for any
    channel layer and Redis."""
    digest = hashlib.sha256(f"{channel}\x00{topic}".encode()).hexdigest()[:32]
    room = _MAX_GROUP_NAME - len(prefix) - len(digest) - 2
    readable = _UNSAFE.sub("_", f"{channel}.{topic}")[: max(room, 0)]
    return f"{prefix}.{readable}.{digest}" if readable else f"{prefix}.{digest}"


def channel_key(channel: str) -> str:
    """A fixed-length key for a channel name (names may be longer than an index allows)."""
    return hashlib.sha256(channel.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Replay:
    """What a client missed after ``after``: the kept messages, in order."""

    messages: list[Message]
    #: False when history no longer holds every message after ``after``.
    recovered: bool
    #: The channel's position when the replay was read.
    position: int


def sequence_start() -> int:
    """Where a channel's sequence starts: the current time in microseconds' order.

    A broker that loses its state (a restarted process with in-memory history, an expired
    or flushed Redis key) starts the channel again above every position it gave out
    before, so a client resuming from an old position gets what is kept, with a gap
    signal, instead of a silent skip.
    """
    return int(time.time() * 1000) * 1000


def replay_after(kept: list[Message], after: int, position: int, start: int) -> Replay:
    """What a client that saw ``after`` missed; ``start`` is the value before seq one."""
    if after == 0:
        after = start  # 0 asks for everything from the channel's start
    if after < start or after > position:
        # A position from before this sequence began: the broker lost its state (a
        # restarted process with in-memory history, a flushed Redis). Everything kept
        # is new to that client, and it may have missed more.
        return Replay(kept, False, position)
    missed = [m for m in kept if m.seq is not None and m.seq > after]
    recovered = after == position or (bool(missed) and missed[0].seq == after + 1)
    return Replay(missed, recovered, position)


@dataclasses.dataclass(frozen=True)
class Member:
    """One subscription present on a channel (``presence=True`` channels)."""

    id: str
    #: The subscriber's username, or ``None`` for an anonymous or server-side subscriber.
    user: str | None
    joined_at: str

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "user": self.user, "joined_at": self.joined_at}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Member:
        return cls(str(value["id"]), value.get("user"), str(value.get("joined_at", "")))


@dataclasses.dataclass(frozen=True)
class Beat:
    """What a presence beat found."""

    #: Members of processes that stopped beating, removed: (channel, member).
    gone: list[tuple[str, Member]]
    #: This process had been taken for gone (it was too busy to beat): its members must
    #: be recorded again.
    revived: bool = False


class Sink(Protocol):
    """What a feed hands frames to: the hub of one event loop."""

    def deliver(self, group: str, seq: int, prev: int, frame: str) -> None:
        """One frame of ``group``: its position, the previous position of the same
        (channel, topic) (0 for the first), and its JSON text."""

    def resync(self) -> None:
        """Frames may have been missed (the connection to the backend was lost)."""


class Feed(abc.ABC):
    """One hub's connection to its broker: the groups it has joined."""

    @abc.abstractmethod
    async def join(self, group: str) -> None:
        """Start receiving ``group``'s frames; they flow once this returns."""

    @abc.abstractmethod
    async def leave(self, group: str) -> None:
        """Stop receiving ``group``'s frames."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Leave every group and end every task of this feed, promptly."""


class Broker(abc.ABC):
    """History and fan-out of one backend, chosen by ``INNGEST_REALTIME["BROKER"]``."""

    #: Whether publishes reach the hubs of other processes.
    cross_process: bool = True

    def __init__(self, config: RealtimeConfig) -> None:
        self.config = config
        self.size = config.HISTORY_SIZE
        self.ttl = config.HISTORY_TTL
        self.prefix = config.GROUP_PREFIX
        #: Seconds after which a process that stopped beating counts as gone (presence).
        self.presence_ttl = config.PRESENCE_TTL

    def group(self, channel: str, topic: str) -> str:
        """The group of (channel, topic)."""
        return group_name(self.prefix, channel, topic)

    @abc.abstractmethod
    async def publish(self, message: Message) -> Message:
        """Append ``message`` to its channel's history and fan it out; return it with its
        ``seq``."""

    @abc.abstractmethod
    def publish_sync(self, message: Message) -> Message:
        """:meth:`publish` from synchronous code, in any thread."""

    @abc.abstractmethod
    async def history(self, channel: str, after: int) -> Replay:
        """The kept messages of ``channel`` with ``seq > after`` (0: all that is kept)."""

    @abc.abstractmethod
    def history_sync(self, channel: str, after: int) -> Replay:
        """:meth:`history` from synchronous code."""

    @abc.abstractmethod
    async def position(self, channel: str) -> int:
        """The last ``seq`` given out on ``channel`` (0 when none)."""

    @abc.abstractmethod
    def position_sync(self, channel: str) -> int:
        """:meth:`position` from synchronous code."""

    @abc.abstractmethod
    def connect(self, sink: Sink) -> Feed:
        """A feed for the hub of the running event loop."""

    # Presence: who is subscribed to a channel, across processes. Each process beats
    # every PRESENCE_TTL / 3 seconds; the members of a process silent for PRESENCE_TTL
    # are gone (a killed process), and the next beat of any process removes them.

    @abc.abstractmethod
    async def presence_join(self, channel: str, member: Member, process: str) -> None:
        """Record ``member`` on ``channel``, held by ``process``."""

    @abc.abstractmethod
    async def presence_leave(self, channel: str, member_id: str, process: str) -> None:
        """Forget a member."""

    @abc.abstractmethod
    async def presence_members(self, channel: str) -> list[Member]:
        """The members of ``channel`` held by live processes, oldest first."""

    @abc.abstractmethod
    async def presence_beat(self, process: str) -> Beat:
        """Say ``process`` is alive; remove the members of processes that stopped beating."""

    async def aclose(self) -> None:  # noqa: B027 - optional
        """Release what this broker holds for the running event loop (a loop about to end)."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release everything (the broker is being replaced)."""
