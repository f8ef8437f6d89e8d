"""The ``redis`` broker's feed: one pub/sub connection per hub, and the task reading it.

Frames arrive on ``<GROUP_PREFIX>:bus:<group>`` as ``"<seq> <prev> <frame>"`` (the publish
script in ``redis.py`` writes them). A lost connection is reconnected with backoff, its
groups subscribed again, and the hub told to have its subscribers catch up from history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from django_inngest_realtime.brokers.base import Feed, Sink

logger = logging.getLogger("django_inngest_realtime")


def client_name() -> str:
    """The name this process's connections carry in Redis's ``CLIENT LIST``."""
    return f"django-inngest-realtime:{os.getpid()}"


class RedisFeed(Feed):
    """One hub's pub/sub connection, and the task reading it."""

    def __init__(self, url: str, bus: Callable[[str], str], sink: Sink) -> None:
        self.url = url
        self.bus = bus
        self.sink = sink
        self.groups: set[str] = set()
        self._client: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._skip = len(bus(""))

    def _connection(self) -> Any:
        if self._pubsub is None:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # Reads block until a message comes: no socket timeout (redis-py 8 sets 5 s).
            # No silent reconnect either: the reader reconnects itself and has the
            # subscribers catch up on what the lost connection missed.
            self._client = redis.asyncio.Redis.from_url(
                self.url,
                client_name=client_name(),
                socket_timeout=None,
                socket_connect_timeout=5,
                retry=Retry(NoBackoff(), 0),
            )
            self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        return self._pubsub

    async def join(self, group: str) -> None:
        await self._connection().subscribe(self.bus(group))
        self.groups.add(group)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="inngest-realtime-redis-feed")

    async def leave(self, group: str) -> None:
        self.groups.discard(group)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # a lost connection has left it already
                await self._pubsub.unsubscribe(self.bus(group))

    async def _read(self) -> None:
        while True:
            try:
                raw = await self._connection().get_message(
                    ignore_subscribe_messages=True, timeout=None
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Lost the Redis pub/sub connection (%s); reconnecting", exc)
                await self._reconnect()
                continue
            if raw is None or raw.get("type") != "message":
                continue
            seq, prev, frame = raw["data"].decode().split(" ", 2)
            self.sink.deliver(raw["channel"].decode()[self._skip :], int(seq), int(prev), frame)

    async def _reconnect(self) -> None:
        backoff = 0.1
        while True:
            await self._disconnect()
            try:
                for group in list(self.groups):
                    await self._connection().subscribe(self.bus(group))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Redis still unavailable (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            logger.info("Reconnected to Redis pub/sub")
            self.sink.resync()
            return

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        if pubsub is not None:
            with contextlib.suppress(Exception):  # the connection is already gone
                await pubsub.aclose()
                await client.aclose()

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self.groups.clear()
        await self._disconnect()
