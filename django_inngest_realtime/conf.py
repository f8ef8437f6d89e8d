"""The ``INNGEST_REALTIME`` setting, merged over documented defaults.

Every key is documented in ``docs/settings.md``. Read settings through
:func:`get_config` only: it is cached and cleared when Django's settings change
(``override_settings`` included), and it rejects unknown keys by name.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

SETTING_NAME = "INNGEST_REALTIME"


@dataclasses.dataclass(frozen=True)
class RealtimeConfig:
    """Typed view of ``settings.INNGEST_REALTIME``."""

    #: Largest JSON-encoded ``data`` a message may carry, in bytes (Inngest's limit is 512 KB).
    MAX_PAYLOAD_BYTES: int = 512 * 1024
    #: Prefix of every channel-layer group and channel name the app creates.
    GROUP_PREFIX: str = "inngest_rt"
    #: The broker (history and fan-out): ``"local"``, ``"redis"``, ``"channels"`` or the dotted
    #: path of a ``Broker`` subclass; empty: chosen from ``CHANNEL_LAYERS["default"]``.
    BROKER: str = ""
    #: How many messages each channel's history keeps.
    HISTORY_SIZE: int = 1000
    #: How long, in seconds, a message stays in history.
    HISTORY_TTL: int = 3600
    #: Redis URL of the ``"redis"`` broker; empty: the channels_redis default layer's first
    #: host, else ``redis://127.0.0.1:6379/0``.
    REDIS_URL: str = ""
    #: Messages buffered per subscriber before it is dropped as too slow.
    SUBSCRIBER_QUEUE_SIZE: int = 1000
    #: Seconds between keep-alive comments on an idle SSE stream.
    SSE_KEEPALIVE: float = 15.0
    #: Seconds a synchronous publish waits for the broker before raising.
    SYNC_PUBLISH_TIMEOUT: float = 10.0
    #: Seconds a subscription token stays valid for subscribing.
    TOKEN_TTL: int = 300
    #: Absolute base URL put in tokens as ``apiBaseUrl`` (Inngest's JavaScript client connects
    #: to ``<apiBaseUrl>/v1/realtime/connect``); empty: built from the request.
    API_BASE_URL: str = ""
    #: Browser origins (``"https://app.example.com"``) besides this site's own that may use the
    #: WebSocket and SSE endpoints (a separate frontend); ``"*"``: any. Default: same origin.
    ALLOWED_ORIGINS: tuple[str, ...] = ()
    #: Seconds between keep-alive pings on an idle WebSocket.
    WS_PING_INTERVAL: float = 25.0
    #: Under Daphne, let the fan-out hub write live frames straight to each WebSocket's
    #: transport instead of through the consumer's send path (``docs/performance.md``).
    WEBSOCKET_DIRECT_WRITES: bool = True
    #: Under Daphne, let the fan-out hub write each live SSE event straight to the
    #: streamed response's connection instead of through Django's and Daphne's send path.
    SSE_DIRECT_WRITES: bool = True
    #: Largest frame, in bytes, a client may send over the WebSocket.
    MAX_FRAME_BYTES: int = 64 * 1024
    #: Frames a client may send over one WebSocket per second, on average; past the
    #: allowance the socket is closed with 4429.
    INBOUND_FRAMES_PER_SECOND: float = 20.0
    #: Frames a client may send at once before the average applies.
    INBOUND_BURST: int = 60
    #: Seconds after which a process that stopped beating is gone from presence (it beats
    #: every third of it): a killed process's members leave within 5/3 of it (25 s).
    PRESENCE_TTL: float = 15.0
    #: Subscriptions one WebSocket may hold at once.
    MAX_SUBSCRIPTIONS: int = 32
    #: Also send every publish to Inngest's hosted realtime (``POST /v1/realtime/publish``)
    #: through ``INNGEST_CLIENT``.
    FORWARD_TO_INNGEST: bool = False
    #: Dotted path to the project's ``inngest.Inngest`` client (sends approval replies,
    #: forwards publishes to Inngest's hosted realtime).
    INNGEST_CLIENT: str = ""
    #: Publish each Inngest run's lifecycle (``kind: "run"`` messages: running, completed,
    #: failed, cancelled) from the realtime middleware, keeping each run's status in the
    #: database (``docs/run-status.md``).
    RUN_STATUS: bool = True
    #: Seconds a finished run's status rows are kept (``RunRecord``, ``RunTarget``): older
    #: ones are pruned every ``run_status.PRUNE_EVERY``-th run (7 days).
    RUN_STATUS_TTL: int = 7 * 24 * 3600
    #: Name of the event sent when a confirmation is decided.
    CONFIRMATION_EVENT: str = "inngest-realtime/confirmation.decided"
    #: First retry delay, in seconds, of an undelivered confirmation reply (doubles each time).
    OUTBOX_RETRY_BASE: float = 1.0
    #: Longest delay, in seconds, between two delivery attempts of a confirmation reply.
    OUTBOX_RETRY_MAX: float = 300.0
    #: Dotted path to the callable that sends one confirmation notice (a ``Notice``) to one
    #: assignee; empty: no notices. Default: Django's email.
    CONFIRMATION_NOTIFIER: str = "django_inngest_realtime.confirmations.notifiers.send_email"
    #: Seconds before ``expires_at`` at which assignees are reminded; 0: no reminders.
    CONFIRMATION_REMINDER_BEFORE: float = 3600.0
    #: Absolute URL of this site (``"https://example.com/"``) for links sent outside a
    #: request, such as the confirmation page in notices; empty: ``API_BASE_URL``.
    SITE_URL: str = ""


DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(RealtimeConfig)}


@functools.cache
def get_config() -> RealtimeConfig:
    """Return the merged, validated configuration."""
    user = getattr(settings, SETTING_NAME, None) or {}
    if not isinstance(user, dict):
        raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict, not {type(user).__name__}.")
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown key(s) in {SETTING_NAME}: {', '.join(unknown)}. "
            f"Valid keys: {', '.join(sorted(DEFAULTS))}."
        )
    values = dict(user)
    for key, value in user.items():
        expected = type(DEFAULTS[key])
        if expected is tuple and isinstance(value, list):
            value = values[key] = tuple(value)
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if not ok or (isinstance(value, bool) and expected is not bool):
            name = "list" if expected is tuple else expected.__name__
            raise ImproperlyConfigured(f"{SETTING_NAME}[{key!r}] must be {name}, got {value!r}.")
    if "ALLOWED_ORIGINS" in values:
        from django_inngest_realtime.origin_names import check_allowed_origins

        check_allowed_origins(values["ALLOWED_ORIGINS"])
    return RealtimeConfig(**values)


@receiver(setting_changed)
def _reset_config(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTING_NAME, "CHANNEL_LAYERS"):
        get_config.cache_clear()
