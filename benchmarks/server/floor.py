"""Daphne's floor: a no-op ASGI application that only holds each connection open, so the
memory a connection costs the server itself is measured apart from ours."""

from __future__ import annotations

from typing import Any


async def floor_application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/floor/ws``: accept, then wait for the disconnect; ``/floor/sse``: start a
    ``text/event-stream`` response, send one comment, then wait for the disconnect."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b": connected\n\n", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass
