"""ASGI application of a benchmark server: what ``BENCH_SERVER`` names, over HTTP and WebSocket."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.server.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

http_application = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from benchmarks.server.bare import BareConsumer  # noqa: E402
from django_inngest_realtime.routing import http_application as realtime_http  # noqa: E402
from django_inngest_realtime.routing import websocket_application  # noqa: E402

routes: dict[str, Any] = {"http": http_application}
if settings.SERVER == "floor":
    from benchmarks.server.floor import floor_application

    routes = {"http": floor_application, "websocket": floor_application}
elif settings.SERVER == "ours":
    # The SSE endpoint in front of Django, as the docs mount it (``ours-sse``).
    routes = {"http": realtime_http(http_application), "websocket": websocket_application()}
elif settings.SERVER == "bare":
    routes["websocket"] = URLRouter([path("bare/connect", BareConsumer.as_asgi())])
application = ProtocolTypeRouter(routes)
