"""Settings of the benchmark servers; see :mod:`benchmarks.server`."""

from __future__ import annotations

import os
import tracemalloc

from django_inngest_realtime.scaling import redis_channel_layer

SERVER = os.environ.get("BENCH_SERVER", "ours")
LAYER = os.environ.get("BENCH_LAYER", "memory")
PREFIX = os.environ.get("BENCH_PREFIX", f"bench{os.getpid()}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Serve the function-latency scenario's Inngest function (``benchmarks.server.functions``).
FUNCTIONS = os.environ.get("BENCH_FUNCTIONS") == "1"

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "benchmarks.server.urls"
ASGI_APPLICATION = "benchmarks.server.asgi.application"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "django_inngest_realtime",
]
if SERVER == "eventstream":
    INSTALLED_APPS.append("django_eventstream")
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
if os.environ.get("BENCH_DB") == "postgres":  # the approvals scenario
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": f"bench_{PREFIX}",
            "USER": os.environ.get("BENCH_PG_USER", "postgres"),
            "HOST": os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
        }
    }
if os.environ.get("BENCH_SQLITE"):  # the function-latency scenario: a migrated file
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_SQLITE"]}
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if LAYER == "redis":
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, prefix=PREFIX)}
    INNGEST_REALTIME = {"BROKER": "redis", "REDIS_URL": REDIS_URL, "GROUP_PREFIX": PREFIX}
    if SERVER == "eventstream":
        # django-eventstream's multi-process mode: Redis pub/sub on its fixed channel.
        EVENTSTREAM_REDIS = {"host": "127.0.0.1", "port": 6379, "db": 0}
elif LAYER == "rabbitmq":  # the channels broker (publish cost only)
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_rabbitmq.core.RabbitmqChannelLayer",
            "CONFIG": {"host": os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1/")},
        }
    }
    INNGEST_REALTIME = {"BROKER": "channels", "GROUP_PREFIX": PREFIX}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }
    INNGEST_REALTIME = {"GROUP_PREFIX": PREFIX}
if os.environ.get("BENCH_INNGEST_CLIENT"):
    INNGEST_REALTIME["INNGEST_CLIENT"] = os.environ["BENCH_INNGEST_CLIENT"]
if os.environ.get("BENCH_RUN_STATUS") == "0":  # the function-latency pass without it
    INNGEST_REALTIME["RUN_STATUS"] = False
if os.environ.get("BENCH_DIRECT_WRITES") == "0":  # every frame through the ASGI send path
    INNGEST_REALTIME["WEBSOCKET_DIRECT_WRITES"] = False
    INNGEST_REALTIME["SSE_DIRECT_WRITES"] = False
if os.environ.get("BENCH_TRACEMALLOC") == "1":  # the capacity scenario's breakdown
    tracemalloc.start()
