"""An SSE request, read and checked: what the Django view (``views.sse``) and the ASGI
application in front of Django (``sse_application.py``) share, so that both answer the
same request the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django_inngest_realtime import origins
from django_inngest_realtime.html import html_sse_encoder
from django_inngest_realtime.subscriptions import (
    SseEncoder,
    Subscription,
    parse_since,
    parse_topics,
)
from django_inngest_realtime.tokens import TokenError, bearer_key, verify_token


class Refused(Exception):
    """The request is answered with ``status`` and the JSON :attr:`body` instead of a stream."""

    def __init__(self, status: int, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.code = code

    @property
    def body(self) -> dict[str, Any]:
        """``{"error": reason}``, with the token error's ``code`` when there is one."""
        body: dict[str, Any] = {"error": self.reason}
        if self.code is not None:
            body["code"] = self.code
        return body


def check_origin(origin: str | None, host: str | None) -> None:
    """Refuse (403) a browser on an origin that may not use the endpoint (``origins.py``)."""
    if not origins.allowed(origin, host):
        raise Refused(403, f"Origin {origin!r} is not in INNGEST_REALTIME['ALLOWED_ORIGINS'].")


async def open_stream(
    query: Mapping[str, str],
    header: Callable[[str], str | None],
    user: Callable[[], Awaitable[Any]],
) -> tuple[Subscription, SseEncoder | None]:
    """The started subscription a request asks for, and its events' encoder (None: the
    default JSON events); raise :class:`Refused` when it is not served.

    ``query``: the query string's values (Django's ``QueryDict``: the last of repeated
    names); ``header(name)``: a request header; ``user()``: the request's user.
    """
    who = await user()
    since_raw = header("Last-Event-ID") or query.get("since")
    fmt = query.get("format", "json")
    if fmt not in ("json", "html"):
        raise Refused(400, "'format' is 'json' (the default) or 'html'.")
    try:
        topics = parse_topics(query.get("topics"))
        key = query.get("token") or bearer_key(header("Authorization"))
        scope = verify_token(key, user=who, topics=topics)
        since = parse_since(since_raw)
    except TokenError as exc:
        raise Refused(exc.status, exc.reason, exc.code) from None
    sub = await Subscription(scope.channel, list(topics or scope.topics), since, user=who).start()
    if fmt == "html":  # live-HTML fragments as named events, for htmx's SSE extension
        return sub, html_sse_encoder(scope.channel)
    return sub, None
