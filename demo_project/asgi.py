"""ASGI entry point of the demo: Django for HTTP (the SSE endpoint in front of it), the
realtime route for WebSockets."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

from channels.routing import ProtocolTypeRouter
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

django_asgi_app = ASGIStaticFilesHandler(get_asgi_application())

from django.urls import path  # noqa: E402

from demo_project.demo.chat import ChatConsumer  # noqa: E402
from django_inngest_realtime.routing import http_application, websocket_application  # noqa: E402

# The realtime route, plus a consumer of the project's own (a chat room).
websocket = websocket_application([path("ws/chat/<str:room>", ChatConsumer.as_asgi())])
application = ProtocolTypeRouter(
    {"http": http_application(django_asgi_app), "websocket": websocket}
)
