"""Settings of the project ``manage.py inngest_dev`` is tested against (under Daphne)."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.inngest_dev.urls"
ASGI_APPLICATION = "tests.inngest_dev.asgi.application"
