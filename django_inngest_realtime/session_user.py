"""The user behind a WebSocket handshake or an SSE request, from its session cookie.

What Channels' ``AuthMiddlewareStack`` puts in ``scope["user"]``, read once when the
realtime consumer (or the SSE application, ``sse_application.py``) first needs it, instead
of three middleware (cookies, session, user) that each keep their own copy of the scope,
and a coroutine frame, for the life of every connection.
"""

from __future__ import annotations

import functools
from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.http.cookie import parse_cookie


@functools.cache
def anonymous() -> Any:
    """One ``AnonymousUser`` for every connection without a session (it holds no state;
    one each would cost every idle connection its bytes)."""
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def session_key(headers: Any) -> str | None:
    """The session key in the connection's ``Cookie`` headers, if any."""
    cookies = "; ".join(value.decode("latin1") for name, value in headers if name == b"cookie")
    return parse_cookie(cookies).get(settings.SESSION_COOKIE_NAME) if cookies else None


async def session_user(scope: dict[str, Any]) -> Any:
    """``scope["user"]`` where a middleware of yours put one; else the session's user, as
    Channels' ``AuthMiddleware`` finds it (``AnonymousUser`` without a session)."""
    if "user" in scope:
        return scope["user"]
    key = session_key(scope.get("headers", ()))
    if key is None:
        return anonymous()
    store = import_module(settings.SESSION_ENGINE).SessionStore(key)
    return await get_user({"session": store})
