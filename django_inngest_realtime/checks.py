"""System checks; every id is listed in ``docs/checks.md``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, get_script_prefix, reverse

from django_inngest_realtime.brokers.selection import IN_MEMORY_LAYER, REDIS_LAYERS

SSE_PATH = "/v1/realtime/sse"


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``INNGEST_REALTIME``, the channel layer and the ASGI application."""
    from django_inngest_realtime.conf import get_config

    errors: list[CheckMessage] = []
    try:
        get_config()
    except ImproperlyConfigured as exc:
        errors.append(
            Error(
                str(exc),
                hint="See docs/settings.md for every key and its type.",
                id="django_inngest_realtime.E004",
            )
        )

    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    default = layers.get("default")
    if not default:
        errors.append(
            Error(
                "CHANNEL_LAYERS has no 'default' layer; published messages cannot reach "
                "subscribers.",
                hint=f"Add CHANNEL_LAYERS = {{'default': {{'BACKEND': '{IN_MEMORY_LAYER}'}}}} "
                "for one process, or channels_redis for several (docs/scaling.md).",
                id="django_inngest_realtime.E001",
            )
        )
    if not getattr(settings, "ASGI_APPLICATION", None):
        errors.append(
            Error(
                "ASGI_APPLICATION is not set; WebSocket and SSE subscriptions need an ASGI server.",
                hint="Set ASGI_APPLICATION = 'yourproject.asgi.application' and add 'daphne' "
                "at the top of INSTALLED_APPS.",
                id="django_inngest_realtime.E002",
            )
        )
    if default:
        backend = default.get("BACKEND", "")
        if backend == IN_MEMORY_LAYER and not settings.DEBUG:
            errors.append(
                Warning(
                    "The in-memory channel layer is used with DEBUG=False; messages published "
                    "in one process never reach subscribers in another.",
                    hint="Use channels_redis.core.RedisChannelLayer in production "
                    "(docs/scaling.md), or silence this check if you run one process.",
                    id="django_inngest_realtime.W001",
                )
            )
        if backend in REDIS_LAYERS:
            errors.extend(_check_redis_hosts(default.get("CONFIG", {})))
    errors.extend(_check_inngest_client())
    errors.extend(_check_broker())
    return errors


def _check_broker() -> list[CheckMessage]:
    """The broker against the channel layer: every mix that would lose messages."""
    from django_inngest_realtime.brokers import build_broker, redis_url
    from django_inngest_realtime.brokers.selection import broker_name, default_layer

    try:
        name = broker_name()
        backend = default_layer().get("BACKEND", "")
    except ImproperlyConfigured:
        return []  # E004 says what is wrong with the settings
    if name == "local" and backend and backend != IN_MEMORY_LAYER:
        return [
            Warning(
                f"BROKER is 'local' but the channel layer ({backend}) reaches other processes: "
                "each process keeps its own history and sequence, so a client that resumes "
                "on another process gets a gap, and publishes never reach other processes.",
                hint="Leave BROKER unset (it follows the channel layer), or set it to 'redis' "
                "or 'channels' (docs/scaling.md). Silence this if you run one process.",
                id="django_inngest_realtime.W003",
            )
        ]
    if name == "channels" and backend == IN_MEMORY_LAYER:
        return [
            Error(
                "BROKER is 'channels' but the channel layer is the in-memory one, which cannot "
                "carry messages between event loops or processes.",
                hint="Use the 'local' broker for one process (leave BROKER unset), or a channel "
                "layer that reaches other processes (docs/scaling.md).",
                id="django_inngest_realtime.E009",
            )
        ]
    try:
        build_broker()
    except (ImproperlyConfigured, ImportError, TypeError, ValueError) as exc:
        return [
            Error(
                f"INNGEST_REALTIME['BROKER'] = {name!r} cannot be used: {exc}",
                hint="Use 'local', 'redis', 'channels' or the dotted path of a "
                "django_inngest_realtime.brokers.base.Broker subclass.",
                id="django_inngest_realtime.E008",
            )
        ]
    if name == "redis":
        return _check_redis_reachable(redis_url())
    return []


def _check_redis_reachable(url: str) -> list[CheckMessage]:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        return [
            Warning(
                f"The redis broker cannot reach Redis at {url}: {exc}. Publishing and "
                "subscribing fail until it answers.",
                hint="Start Redis, or set INNGEST_REALTIME['REDIS_URL'] (by default the "
                "channels_redis layer's first host).",
                id="django_inngest_realtime.W004",
            )
        ]
    return []


def _check_inngest_client() -> list[CheckMessage]:
    from django_inngest_realtime.client import get_inngest_client
    from django_inngest_realtime.conf import get_config

    try:
        config = get_config()
        if not config.INNGEST_CLIENT and not config.FORWARD_TO_INNGEST:
            return []
        if not config.INNGEST_CLIENT:
            return [
                Error(
                    "FORWARD_TO_INNGEST is on but INNGEST_CLIENT is not set: every publish "
                    "would fail to reach Inngest's hosted realtime.",
                    hint="Set INNGEST_REALTIME['INNGEST_CLIENT'] to the dotted path of your "
                    "inngest.Inngest client, or turn FORWARD_TO_INNGEST off.",
                    id="django_inngest_realtime.E007",
                )
            ]
        client = get_inngest_client()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="See docs/settings.md.", id="django_inngest_realtime.E006")]
    return _client_problems(repr(config.INNGEST_CLIENT), client)


def _client_problems(label: str, client: Any) -> list[CheckMessage]:
    """E005 / W002 for one Inngest client (``label`` says where it comes from)."""
    from django_inngest_realtime.serve import signing_key_problem

    problem = signing_key_problem(client, label)
    if problem:
        return [
            Error(
                problem,
                hint="Set INNGEST_SIGNING_KEY (from the Inngest dashboard), or INNGEST_DEV=1 "
                "for local development with the Dev Server or `manage.py inngest_dev`.",
                id="django_inngest_realtime.E005",
            )
        ]
    if not client.is_production and not settings.DEBUG:
        return [
            Warning(
                f"The Inngest client {label} runs in dev mode with "
                "DEBUG=False: its serve endpoint accepts unsigned requests.",
                hint="Pass is_production=True (or unset INNGEST_DEV) and set "
                "INNGEST_SIGNING_KEY in production.",
                id="django_inngest_realtime.W002",
            )
        ]
    return []


@register(Tags.urls)
def check_urls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Where the realtime URLs are mounted; the clients of ``serve_inngest()`` endpoints."""
    from django_inngest_realtime.client import get_inngest_client
    from django_inngest_realtime.serve import served_endpoints

    errors = _check_mount()
    try:
        covered = {id(get_inngest_client())}  # already checked by check_settings
    except ImproperlyConfigured:
        covered = set()
    for endpoint in served_endpoints():
        if id(endpoint.client) not in covered:
            covered.add(id(endpoint.client))
            label = f"{endpoint.client.app_id!r} (served by serve_inngest())"
            errors.extend(_client_problems(label, endpoint.client))
    return errors


def _check_mount() -> list[CheckMessage]:
    try:
        where = reverse("django_inngest_realtime:sse")
    except NoReverseMatch:
        return [
            Warning(
                "django_inngest_realtime.urls is not in the URLconf: there is no SSE "
                "endpoint, token refresh for the widgets, or confirmation page.",
                hint='Add path("", include("django_inngest_realtime.urls")) to urlpatterns.',
                id="django_inngest_realtime.W005",
            )
        ]
    prefix = get_script_prefix()  # FORCE_SCRIPT_NAME is the deployment's, not the URLconf's
    if where.startswith(prefix):
        where = "/" + where[len(prefix) :]
    if where == SSE_PATH:
        return []
    return [
        Error(
            f"django_inngest_realtime.urls is mounted under a prefix (the SSE endpoint is "
            f"{where}, not {SSE_PATH}): Inngest's JavaScript client and the widgets request "
            "<apiBaseUrl>/v1/realtime/..., which is the site root.",
            hint='Include it at the root: path("", include("django_inngest_realtime.urls")). '
            "If a proxy serves it under a prefix, set API_BASE_URL and silence this check.",
            id="django_inngest_realtime.E010",
        )
    ]


def _check_redis_hosts(config: dict[str, Any]) -> list[CheckMessage]:
    hosts = config.get("hosts") or [("localhost", 6379)]
    for host in hosts:
        # redis-py 8 defaults socket_timeout to 5 s, which kills idle channels_redis
        # receivers (BZPOPMIN); only a dict host can say socket_timeout=None.
        if not isinstance(host, dict) or host.get("socket_timeout", 0) is not None:
            return [
                Error(
                    "A channels_redis host has no 'socket_timeout': None; with redis-py 8 idle "
                    "subscribers fail with 'Timeout reading from' after 5 s.",
                    hint="Describe each host as a dict, for example "
                    "{'address': 'redis://127.0.0.1:6379/0', 'socket_timeout': None}, or build "
                    "the layer with django_inngest_realtime.scaling.redis_channel_layer().",
                    id="django_inngest_realtime.E003",
                )
            ]
    return []
