"""Presence: who is subscribed to a channel right now, across processes.

A channel defined with ``presence=True`` gets a ``presence`` topic. Every subscription to
it (WebSocket, SSE, ``subscribe()``) is a member while it lasts: joining publishes
``{"action": "join", "member": {...}}`` on that topic, leaving ``{"action": "leave", ...}``,
and :func:`presence` answers who is there now. Members are kept by the broker, so on the
``redis`` and ``channels`` brokers they are shared by every process. Each process beats
every ``presence_ttl / 3`` seconds (5 s); a process silent for ``presence_ttl`` (15 s) —
killed, or cut off — is gone: :func:`presence` stops listing its members at once, and the
next beat of any process with members publishes their leave, so within 25 s.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import secrets
import socket
import uuid
import weakref
from typing import Any

from asgiref.sync import async_to_sync

from django_inngest_realtime.brokers import Broker, get_broker
from django_inngest_realtime.brokers.base import Member
from django_inngest_realtime.topics import PRESENCE_TOPIC, ChannelRef, registry

logger = logging.getLogger("django_inngest_realtime")

_process: tuple[int, str] | None = None


def process_id() -> str:
    """This process's name among the brokers' presence processes (new after a fork)."""
    global _process
    if _process is None or _process[0] != os.getpid():
        _process = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    return _process[1]


class Tracker:
    """This event loop's members, and the task that beats for them."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.local: dict[str, tuple[str, Member]] = {}
        self._beating: asyncio.Task[None] | None = None

    async def join(self, channel: str, user: str | None) -> Member:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        member = Member(uuid.uuid4().hex, user, now)
        await self.broker.presence_join(channel, member, process_id())
        self.local[member.id] = (channel, member)
        if self._beating is None or self._beating.done():
            self._beating = asyncio.create_task(self._beat(), name="inngest-realtime-presence")
        await announce(channel, "join", member)
        return member

    async def leave(self, member_id: str) -> None:
        entry = self.local.pop(member_id, None)
        if entry is None:
            return
        channel, member = entry
        if not self.local and self._beating is not None:
            self._beating.cancel()  # nothing of ours to keep alive
            self._beating = None
        try:
            await self.broker.presence_leave(channel, member.id, process_id())
        except Exception as exc:  # the broker is down: the member expires with our beats
            logger.warning("Could not record that %s left %s: %s", member.id, channel, exc)
        await announce(channel, "leave", member)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.broker.presence_ttl / 3)
            try:
                beat = await self.broker.presence_beat(process_id())
                if beat.revived:  # taken for gone while too busy to beat: say we are here
                    for channel, member in list(self.local.values()):
                        await self.broker.presence_join(channel, member, process_id())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Presence beat failed: %s", exc)
                continue
            for channel, member in beat.gone:
                await announce(channel, "leave", member)


_trackers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Tracker] = (
    weakref.WeakKeyDictionary()
)


def tracker() -> Tracker:
    """This event loop's tracker (for the current broker)."""
    loop = asyncio.get_running_loop()
    broker = get_broker()
    found = _trackers.get(loop)
    if found is None or found.broker is not broker:
        found = _trackers[loop] = Tracker(broker)
    return found


def has_presence(channel: str) -> bool:
    """Whether ``channel`` is defined with ``presence=True``."""
    try:
        return registry.resolve(channel).definition.presence
    except (LookupError, ValueError):
        return False


async def announce(channel: str, action: str, member: Member) -> None:
    """Publish a join or a leave on the channel's presence topic (never memoized as a step;
    a failure is logged, never raised: presence must not break subscribing)."""
    from django_inngest_realtime.publishing import publish_now

    try:
        ref = registry.resolve(channel)
        await publish_now(ref.topic(PRESENCE_TOPIC)({"action": action, "member": member.to_dict()}))
    except Exception as exc:
        logger.warning("Could not announce that %s %s %s: %s", member.id, action, channel, exc)


async def presence(channel: ChannelRef | str) -> list[Member]:
    """Who is subscribed to ``channel`` now, in every process, oldest first."""
    name = channel.name if isinstance(channel, ChannelRef) else channel
    return await get_broker().presence_members(name)


def presence_sync(channel: ChannelRef | str) -> list[Member]:
    """Synchronous :func:`presence`."""
    result: list[Member] = async_to_sync(presence)(channel)
    return result


def user_label(user: Any) -> str | None:
    """How a member's user is shown: the username of a signed-in user, else None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.get_username())
