"""Test settings. ``INNGEST_REALTIME_TEST_CONFIG=scaled`` selects PostgreSQL + channels_redis.

The embedded configuration (the default) needs no services: SQLite and the
in-memory channel layer. The scaled one reads ``TEST_DATABASE_URL``-style parts from
``TEST_PG_*`` and ``TEST_REDIS_URL`` (defaults: the local services).
"""

from __future__ import annotations

import os
from typing import Any

from django_inngest_realtime.scaling import redis_channel_layer

SCALED = os.environ.get("INNGEST_REALTIME_TEST_CONFIG", "embedded") == "scaled"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

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
]
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

if SCALED:
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
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, prefix=PREFIX)}
    INNGEST_REALTIME: dict[str, Any] = {
        "BROKER": "redis",
        "REDIS_URL": REDIS_URL,
        "GROUP_PREFIX": PREFIX,
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }
    INNGEST_REALTIME = {"GROUP_PREFIX": PREFIX}
# Live-server tests may shorten token lifetimes for the child server.
if os.environ.get("TEST_TOKEN_TTL"):
    INNGEST_REALTIME["TOKEN_TTL"] = int(os.environ["TEST_TOKEN_TTL"])
if os.environ.get("TEST_DIRECT_WRITES") == "0":
    INNGEST_REALTIME["WEBSOCKET_DIRECT_WRITES"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(os.path.dirname(__file__), "..", "test-artifacts", "static")
