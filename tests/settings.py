"""Test settings, in three configurations chosen by ``INNGEST_REALTIME_TEST_CONFIG``.

The embedded configuration (the default) needs no services: SQLite and the in-memory
channel layer. ``scaled`` is PostgreSQL + channels_redis; ``channels`` is PostgreSQL +
channels_rabbitmq. They read ``TEST_PG_*``, ``TEST_REDIS_URL`` and ``TEST_RABBITMQ_URL``
(defaults: the local services).
"""

from __future__ import annotations

import os
from typing import Any

from django_inngest_realtime.scaling import redis_channel_layer

#: embedded (SQLite, in-memory layer: the local broker), scaled (PostgreSQL, channels_redis:
#: the redis broker) or channels (PostgreSQL, channels_rabbitmq: the channels broker).
CONFIG = os.environ.get("INNGEST_REALTIME_TEST_CONFIG", "embedded")
SCALED = CONFIG == "scaled"
#: Whether publishes reach other processes (the local broker's do not).
CROSS_PROCESS = CONFIG != "embedded"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")

SECRET_KEY = "tests-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.urls"
ASGI_APPLICATION = "tests.asgi.application"
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_inngest_realtime",
    "tests.broadcast_app",
]
if os.environ.get("TEST_WITHOUT_DAPHNE") == "1":  # as under uvicorn or hypercorn
    INSTALLED_APPS.remove("daphne")
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# Each run gets its own prefix so runs sharing one Redis never see each other's messages.
PREFIX = os.environ.setdefault("INNGEST_REALTIME_TEST_PREFIX", f"irt{os.getpid()}")

if CONFIG in ("scaled", "channels"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("TEST_PG_NAME", "django_inngest_realtime"),
            "USER": os.environ.get("TEST_PG_USER", "postgres"),
            "HOST": os.environ.get("TEST_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("TEST_PG_PORT", "5432"),
            # One test database per run, so runs sharing a server never collide.
            "TEST": {"NAME": f"test_{PREFIX}"},
        }
    }
else:
    # A file (TEST_SQLITE_PATH) when child processes must share the database.
    sqlite = os.environ.get("TEST_SQLITE_PATH", ":memory:")
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite}}
if CONFIG == "scaled":
    # No BROKER: a channels_redis layer gives the redis broker, on the layer's Redis.
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, prefix=PREFIX)}
elif CONFIG == "channels":
    # A layer that is not channels_redis: the channels broker, history in PostgreSQL.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_rabbitmq.core.RabbitmqChannelLayer",
            "CONFIG": {
                "host": RABBITMQ_URL,
                "local_capacity": 10_000,
                "remote_capacity": 10_000,
                "groups_exchange": f"{PREFIX}-groups",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }
INNGEST_REALTIME: dict[str, Any] = {"GROUP_PREFIX": PREFIX}
# A child process of a test runs on the broker its parent test uses.
if os.environ.get("TEST_BROKER"):
    INNGEST_REALTIME["BROKER"] = os.environ["TEST_BROKER"]
# The test process mints tokens without a request: they name this base URL. The servers
# the tests start build it from each request instead (child_env() clears it).
if os.environ.get("TEST_API_BASE_URL", "http://testserver/"):
    INNGEST_REALTIME["API_BASE_URL"] = os.environ.get("TEST_API_BASE_URL", "http://testserver/")
# Live-server tests may shorten token lifetimes for the child server.
if os.environ.get("TEST_TOKEN_TTL"):
    INNGEST_REALTIME["TOKEN_TTL"] = int(os.environ["TEST_TOKEN_TTL"])
if os.environ.get("TEST_ALLOWED_ORIGINS"):
    INNGEST_REALTIME["ALLOWED_ORIGINS"] = os.environ["TEST_ALLOWED_ORIGINS"].split(",")
if os.environ.get("TEST_PRESENCE_TTL"):
    INNGEST_REALTIME["PRESENCE_TTL"] = float(os.environ["TEST_PRESENCE_TTL"])
if os.environ.get("TEST_SUBSCRIBER_QUEUE_SIZE"):
    INNGEST_REALTIME["SUBSCRIBER_QUEUE_SIZE"] = int(os.environ["TEST_SUBSCRIBER_QUEUE_SIZE"])
if os.environ.get("TEST_INNGEST_CLIENT"):  # where a child server sends confirmation replies
    INNGEST_REALTIME["INNGEST_CLIENT"] = os.environ["TEST_INNGEST_CLIENT"]
if os.environ.get("TEST_DIRECT_WRITES") == "0":
    INNGEST_REALTIME["WEBSOCKET_DIRECT_WRITES"] = False
    INNGEST_REALTIME["SSE_DIRECT_WRITES"] = False
if os.environ.get("TEST_WS_PING_INTERVAL"):
    INNGEST_REALTIME["WS_PING_INTERVAL"] = float(os.environ["TEST_WS_PING_INTERVAL"])
if os.environ.get("TEST_SSE_KEEPALIVE"):
    INNGEST_REALTIME["SSE_KEEPALIVE"] = float(os.environ["TEST_SSE_KEEPALIVE"])
if os.environ.get("TEST_GZIP") == "1":  # a middleware that rewrites streamed responses
    MIDDLEWARE.insert(0, "django.middleware.gzip.GZipMiddleware")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(os.path.dirname(__file__), "..", "test-artifacts", "static")
