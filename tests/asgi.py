"""ASGI application the live-server tests run under Daphne: HTTP (with static files; the
SSE endpoint served in front of Django, its view also at ``/django-view/v1/realtime/sse``)
and the realtime WebSocket route."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from channels.routing import ProtocolTypeRouter
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

django_application = ASGIStaticFilesHandler(get_asgi_application())

from django_inngest_realtime.routing import http_application, websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {"http": http_application(django_application), "websocket": websocket_application()}
)
