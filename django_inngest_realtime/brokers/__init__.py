"""The broker: the one path every message takes (``docs/scaling.md``).

``INNGEST_REALTIME["BROKER"]`` names it — ``"local"``, ``"redis"``, ``"channels"`` or the
dotted path of a :class:`~django_inngest_realtime.brokers.base.Broker` subclass taking
the configuration. Left empty, it follows ``CHANNEL_LAYERS["default"]``: the in-memory
layer (or none) gives ``local``, a channels_redis layer gives ``redis`` on that layer's
Redis, any other layer gives ``channels``.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from django_inngest_realtime.brokers.base import Broker
from django_inngest_realtime.brokers.selection import BROKERS, broker_name, redis_url
from django_inngest_realtime.conf import get_config

_broker: Broker | None = None
_lock = threading.Lock()


def build_broker() -> Broker:
    """A new broker as the settings describe it."""
    name = broker_name()
    cls = import_string(BROKERS.get(name, name))
    if not (isinstance(cls, type) and issubclass(cls, Broker)):
        raise ImproperlyConfigured(
            f"INNGEST_REALTIME['BROKER'] = {name!r} is not a Broker subclass."
        )
    broker: Broker = cls(get_config())
    return broker


def get_broker() -> Broker:
    """The process's broker, built on first use."""
    global _broker
    with _lock:
        if _broker is None:
            _broker = build_broker()
        return _broker


def reset_broker() -> None:
    """Forget the broker, so the next use builds one from the current settings."""
    global _broker
    with _lock:
        broker, _broker = _broker, None
    if broker is not None:
        broker.close()


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("INNGEST_REALTIME", "CHANNEL_LAYERS"):
        reset_broker()


setting_changed.connect(_settings_changed, dispatch_uid="django_inngest_realtime.brokers")

__all__ = [
    "BROKERS",
    "Broker",
    "broker_name",
    "build_broker",
    "get_broker",
    "redis_url",
    "reset_broker",
]
