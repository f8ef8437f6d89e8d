"""ASGI application for the double's end-to-end tests (plain HTTP: Inngest and SSE)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.inngest_double.settings")

from django.core.asgi import get_asgi_application

application = get_asgi_application()
