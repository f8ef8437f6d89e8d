"""Fan-out between processes over Redis pub/sub, when history is in Redis.

With ``HISTORY_STORE = "redis"``, ``publish()`` appends to history and publishes the
stored frame in one Redis round trip (the history script ends with ``PUBLISH``), and each
process's hub receives it on a Redis pub/sub connection subscribed to the groups its
subscribers use. Through the channel layer, the same publish costs the history script
plus channels_redis's ``group_send`` (four more round trips), and each process's hub
polls its channel-layer channel.

Pub/sub delivers to the processes connected at the moment, like a channel-layer group;
what a process misses while its connection is down it reads back from history (the hub
re-subscribes and its subscriptions catch up from their last position).
"""

from __future__ import annotations

from typing import Any

from django_inngest_realtime.conf import get_config


def bus_channel(group: str) -> str:
    """The Redis pub/sub channel carrying a fan-out group's frames."""
    return f"{get_config().GROUP_PREFIX}:bus:{group}"


class RedisBus:
    """One pub/sub connection of one hub (one event loop)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._pubsub: Any = None
        self._skip = len(bus_channel(""))

    def _connection(self) -> Any:
        if self._pubsub is None:
            import redis.asyncio

            # Reads block until a message comes: no socket timeout (redis-py 8 sets 5 s).
            self._client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=None, socket_connect_timeout=5
            )
            self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        return self._pubsub

    async def subscribe(self, group: str) -> None:
        await self._connection().subscribe(bus_channel(group))

    async def unsubscribe(self, group: str) -> None:
        if self._pubsub is not None:
            await self._pubsub.unsubscribe(bus_channel(group))

    async def receive(self) -> dict[str, Any]:
        """The next hub message: ``group``, ``seq`` and ``frame``, as the layer carries."""
        pubsub = self._connection()
        while True:
            raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if raw is None or raw.get("type") != "message":
                continue
            seq, _, frame = raw["data"].decode().partition(" ")
            return {
                "group": raw["channel"].decode()[self._skip :],
                "seq": int(seq),
                "frame": frame,
            }

    async def reconnect(self, groups: list[str]) -> None:
        """A fresh connection subscribed to ``groups`` (after Redis went away)."""
        await self.close()
        for group in groups:
            await self.subscribe(group)

    async def close(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        if pubsub is not None:
            try:
                await pubsub.aclose()
                await client.aclose()
            except Exception:  # the connection is already gone
                pass
