"""WebSocket routes, and the ASGI stack to mount them with."""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from django_inngest_realtime.consumers import RealtimeConsumer

websocket_urlpatterns = [
    path("v1/realtime/connect", RealtimeConsumer.as_asgi(), name="inngest_realtime_connect"),
]


class BrowserOriginValidator(OriginValidator):  # type: ignore[misc]
    """Refuse browsers from other sites; let clients that send no Origin through.

    A browser always sends ``Origin``, and only a browser brings ambient cookies, so
    cross-site WebSocket hijacking is stopped; server-side clients (Inngest's Node
    client) send none and authenticate by their token alone.
    """

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    @property
    def allowed_origins(self) -> list[str]:
        """``ALLOWED_HOSTS``, read on each connection (as Django does for HTTP)."""
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        return allowed

    @allowed_origins.setter
    def allowed_origins(self, value: list[str]) -> None:
        pass

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return True
        return bool(super().valid_origin(parsed_origin))


def websocket_application(routes: list[Any] | None = None) -> Any:
    """``ProtocolTypeRouter({"websocket": websocket_application()})``: origin check,
    session authentication and the realtime routes (plus ``routes`` of your own)."""
    return BrowserOriginValidator(
        AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, *(routes or [])]))
    )
