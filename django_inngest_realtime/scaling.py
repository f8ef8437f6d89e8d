"""Settings helpers for running past one process (channels_redis on Redis)."""

from __future__ import annotations

from typing import Any


def redis_channel_layer(
    url: str = "redis://127.0.0.1:6379/0",
    *,
    capacity: int = 10_000,
    expiry: int = 60,
    prefix: str = "asgi",
    host_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a ``CHANNEL_LAYERS["default"]`` dict for channels_redis that works out of the box.

    ``socket_timeout`` is ``None`` because redis-py 8 otherwise times idle receivers out
    after 5 s (channels_redis#422); ``capacity`` is raised because a consumer that
    receives every message of a busy group on one channel fills channels_redis's default
    100 quickly; ``retry`` lets a command that finds a connection closed by a restarted
    Redis retry on a new one. With this layer and no ``BROKER`` set, the ``redis`` broker
    is used, on the same Redis.
    """
    from django_inngest_realtime.brokers.redis import retry_policy

    host: dict[str, Any] = {"address": url, "socket_timeout": None, "retry": retry_policy()}
    host.update(host_options or {})
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [host], "capacity": capacity, "expiry": expiry, "prefix": prefix},
    }
