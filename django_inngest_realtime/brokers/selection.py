"""Which broker the settings choose, and where its Redis is (no broker is built here)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from django_inngest_realtime.conf import get_config

BROKERS = {
    "local": "django_inngest_realtime.brokers.local.LocalBroker",
    "redis": "django_inngest_realtime.brokers.redis.RedisBroker",
    "channels": "django_inngest_realtime.brokers.channels.ChannelsBroker",
}
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
REDIS_LAYERS = (
    "channels_redis.core.RedisChannelLayer",
    "channels_redis.pubsub.RedisPubSubChannelLayer",
)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def default_layer() -> dict[str, Any]:
    """``CHANNEL_LAYERS["default"]``, or an empty dict."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    layer = layers.get("default")
    return layer if isinstance(layer, dict) else {}


def broker_name() -> str:
    """The configured broker's name (or dotted path), the default derived from the layer."""
    configured = get_config().BROKER
    if configured:
        return configured
    backend = default_layer().get("BACKEND", "")
    if not backend or backend == IN_MEMORY_LAYER:
        return "local"
    if backend in REDIS_LAYERS:
        return "redis"
    return "channels"


def redis_url() -> str:
    """``REDIS_URL``, else the Redis of a channels_redis default layer, else the local one."""
    configured = get_config().REDIS_URL
    if configured:
        return configured
    layer = default_layer()
    if layer.get("BACKEND") in REDIS_LAYERS:
        hosts = (layer.get("CONFIG") or {}).get("hosts") or []
        host: Any = hosts[0] if hosts else None
        if isinstance(host, dict):
            host = host.get("address")
        if isinstance(host, str):
            return host
        if isinstance(host, (tuple, list)) and len(host) == 2:
            return f"redis://{host[0]}:{host[1]}/0"
    return DEFAULT_REDIS_URL
