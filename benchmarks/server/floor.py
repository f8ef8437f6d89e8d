"""The server's floor: a no-op ASGI application that holds each connection open and, for
the send path, sends each published message to every connection with nothing between
the publisher and the server's ``send``, so what the server itself costs (memory per
connection, CPU per frame) is measured apart from ours."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from benchmarks.server.schedule import PublishSpec

#: The open WebSocket connections' ``send``, by the channel in their query string.
_sends: dict[str, list[Any]] = {}


async def floor_application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/floor/ws?channel=NAME``: accept, then wait for the disconnect; ``POST
    /bench/publish``: the publish endpoint (``views.publish_view``'s body and answer),
    each message's JSON sent as it is to every connection of the channel; any other
    request: a ``text/event-stream`` response with one comment that waits for the
    disconnect (``/floor/sse``)."""
    if scope["type"] == "websocket":
        await _hold_socket(scope, receive, send)
    elif scope["path"] == "/bench/publish":
        await _publish(receive, send)
    else:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b": connected\n\n", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass


async def _hold_socket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    params = parse_qs(scope.get("query_string", b"").decode("latin1"))
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    sends = _sends.setdefault(params.get("channel", [""])[0], [])
    sends.append(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sends.remove(send)


async def _publish(receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    spec = PublishSpec.parse(body)
    started = time.monotonic()
    async for _, data in spec.messages():
        frame = {"type": "websocket.send", "text": json.dumps(data, separators=(",", ":"))}
        for socket_send in list(_sends.get(spec.channel, ())):
            await socket_send(frame)
    answer = {"sent": spec.count, "seconds": time.monotonic() - started, "seqs": []}
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(answer).encode()})
