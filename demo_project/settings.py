"""Demo settings: SQLite and the in-memory channel layer, or Redis/PostgreSQL by environment.

``REDIS_URL`` switches to channels_redis and the redis broker; ``DATABASE_URL``
(``postgres://user@host:port/name``) to PostgreSQL. For local development only.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from django_inngest_realtime.scaling import redis_channel_layer

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-secret-key")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

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
    "demo_project.demo",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "demo_project.urls"
ASGI_APPLICATION = "demo_project.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASE_URL = os.environ.get("DATABASE_URL")
if DATABASE_URL:
    _db = urlparse(DATABASE_URL)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db.path.lstrip("/"),
            "USER": _db.username or "",
            "PASSWORD": _db.password or "",
            "HOST": _db.hostname or "",
            "PORT": str(_db.port or ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DEMO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
    INNGEST_REALTIME = {"BROKER": "redis", "REDIS_URL": REDIS_URL}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }
    INNGEST_REALTIME = {}
# Confirmation replies are sent through the demo's Inngest client.
INNGEST_REALTIME["INNGEST_CLIENT"] = "demo_project.demo.inngest_functions.inngest_client"
# Approval notices link here (the launcher passes its port), and print on the console.
INNGEST_REALTIME["SITE_URL"] = f"http://127.0.0.1:{os.environ.get('DEMO_PORT', '8000')}/"
INNGEST_REALTIME["CONFIRMATION_REMINDER_BEFORE"] = 300  # 5 minutes before a 15m timeout
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "approvals@demo.invalid"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"failed_run": {"()": "demo_project.demo.logs.FailedRunAccessLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_inngest_realtime": {"handlers": ["console"], "level": "INFO"},
        # Daphne's access log: a failed run's 500 is the SDK's protocol, not a server error.
        "django.channels.server": {"filters": ["failed_run"]},
    },
}
