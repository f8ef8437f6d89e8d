"""WebSocket routes, and the ASGI stack to mount them with."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.urls import path

from django_inngest_realtime import origins
from django_inngest_realtime.consumers import RealtimeConsumer

websocket_urlpatterns = [
    path("v1/realtime/connect", RealtimeConsumer.as_asgi(), name="inngest_realtime_connect"),
]


class BrowserOriginValidator:
    """Let a browser's WebSocket in from this site's own origin or one listed in
    ``INNGEST_REALTIME["ALLOWED_ORIGINS"]``; let clients that send no ``Origin`` through.

    A browser always sends ``Origin``, and only a browser brings ambient cookies, so
    cross-site WebSocket hijacking is stopped; server-side clients (Inngest's Node client)
    send none and authenticate by their token alone. "This site" is the handshake's
    ``Host`` (``X-Forwarded-Host`` with ``USE_X_FORWARDED_HOST``), which must be in
    ``ALLOWED_HOSTS``, as for Django's own CSRF origin check. A refused handshake is closed
    before it is accepted (HTTP 403).
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("BrowserOriginValidator only guards WebSocket connections.")
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        text = None if origin is None else origin.decode("latin1")
        if origins.allowed(text, origins.websocket_host(headers)):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def websocket_application(routes: list[Any] | None = None) -> Any:
    """``ProtocolTypeRouter({"websocket": websocket_application()})``: origin check,
    session authentication and the realtime routes (plus ``routes`` of your own)."""
    return BrowserOriginValidator(
        AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, *(routes or [])]))
    )
