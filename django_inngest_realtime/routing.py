"""WebSocket routes, and the ASGI stacks to mount them with: ``websocket_application()``
and ``http_application(django_asgi_app)`` (the SSE endpoint in front of Django)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from asgiref.sync import markcoroutinefunction
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.urls import path

from django_inngest_realtime import origins
from django_inngest_realtime.consumers import RealtimeConsumer
from django_inngest_realtime.sse_application import serve_sse

#: The realtime WebSocket route, as Inngest's clients build it.
REALTIME_ROUTE = "v1/realtime/connect"
#: The SSE route (``urls.py`` mounts the view at the same path).
SSE_ROUTE = "v1/realtime/sse"

#: For an ASGI stack of your own (behind ``AuthMiddlewareStack``, so that user-bound
#: tokens find the session's user); ``websocket_application()`` mounts it lighter.
websocket_urlpatterns = [
    path(REALTIME_ROUTE, RealtimeConsumer.as_asgi(), name="inngest_realtime_connect"),
]


def origin_allowed(scope: dict[str, Any]) -> bool:
    """May the browser that opened this handshake use it? (See ``BrowserOriginValidator``.)"""
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin")
    text = None if origin is None else origin.decode("latin1")
    return origins.allowed(text, origins.websocket_host(headers))


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
        return await self.admit(scope, receive, send)

    def admit(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[Any]:
        """The connection's application, called: ``inner``'s if the origin is allowed,
        else a denial."""
        if scope["type"] != "websocket":
            raise ValueError("BrowserOriginValidator only guards WebSocket connections.")
        if origin_allowed(scope):
            return self.inner(scope)(scope, receive, send)  # type: ignore[no-any-return]
        return WebsocketDenier()(scope, receive, send)  # type: ignore[no-any-return]

    def inner(self, scope: dict[str, Any]) -> Any:
        """The application an admitted connection goes to."""
        return self.application


class RealtimeWebSocket(BrowserOriginValidator):
    """The origin check, then the realtime route served straight (its consumer reads the
    session's user itself, once, when a token needs it) and every other route behind
    Channels' ``AuthMiddlewareStack``.

    An idle realtime connection keeps only its consumer: no middleware's copy of the scope,
    no router's frame (``docs/performance.md``, memory per idle connection).
    """

    def __init__(self, routes: list[Any]) -> None:
        super().__init__(AuthMiddlewareStack(URLRouter(routes)))

    # Not ``async def``: it returns the admitted application's coroutine for
    # ``ProtocolTypeRouter`` to await, so no frame of its own stays alive for the life of
    # each connection; marked, so that it still reads as an ASGI 3 application.
    @markcoroutinefunction
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return self.admit(scope, receive, send)

    def inner(self, scope: dict[str, Any]) -> Any:
        return RealtimeConsumer() if realtime_route(scope) else self.application


def realtime_route(scope: dict[str, Any], route_name: str = REALTIME_ROUTE) -> bool:
    """Is this connection for ``route_name``? (The path as ``URLRouter`` and Django's URL
    resolver match it: below ``root_path``.)"""
    route = scope.get("path_remaining")
    if route is None:
        route, root = scope.get("path", ""), scope.get("root_path", "")
        if root:
            if not route.startswith(root):
                return False
            route = route[len(root) :]
    return bool(route.lstrip("/") == route_name)


def websocket_application(routes: list[Any] | None = None) -> Any:
    """``ProtocolTypeRouter({"websocket": websocket_application()})``: origin check,
    session authentication and the realtime routes (plus ``routes`` of your own)."""
    return RealtimeWebSocket(list(routes or []))


class RealtimeHttp:
    """``GET /v1/realtime/sse`` served in front of Django (``sse_application.py``: an
    idle stream keeps no Django request alive); every other request, the SSE URL's
    ``OPTIONS`` preflights and requests whose ``Host`` is not in ``ALLOWED_HOSTS``
    included, goes to ``application`` unchanged."""

    def __init__(self, application: Any) -> None:
        self.application = application

    # Not ``async def``, as ``RealtimeWebSocket.__call__``: no frame of its own stays alive.
    @markcoroutinefunction
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if (
            scope["type"] == "http"
            and scope.get("method") == "GET"
            and realtime_route(scope, SSE_ROUTE)
        ):
            host = origins.websocket_host(dict(scope.get("headers", [])))
            if host is not None and _decodable(scope.get("query_string", b"")):
                return serve_sse(scope, receive, send)
        return self.application(scope, receive, send)


def _decodable(query_string: Any) -> bool:
    """Whether Django would read the query string (else it answers 400 itself)."""
    try:
        query_string.decode() if isinstance(query_string, bytes) else query_string
    except UnicodeDecodeError:
        return False
    return True


def http_application(application: Any) -> Any:
    """``ProtocolTypeRouter({"http": http_application(get_asgi_application())})``: the
    SSE endpoint served in front of ``application`` (Django's), everything else by it."""
    return RealtimeHttp(application)
