"""The SSE endpoint as a plain ASGI application, in front of Django's
(``routing.http_application``).

Served by Django (``views.sse``), an open stream keeps Django's whole request alive for
its life: the request and its ``META``, its body's temporary file, the response, the
resolver match, and the handler's two tasks per request. Here it keeps the server's own
task for the connection, waiting for the client's disconnect as the server's no-op
floor does, its :class:`SseStream` and its subscription. Under Daphne (direct writes,
``transports/daphne.py``) the hub writes live events to the connection itself and a
pump task runs only while something is waiting to be sent (a backlog, a stream's end, a
ping the writer could not take); elsewhere one pump task streams through ``send``.

It answers exactly as the view does (``sse.py`` holds what they share); Django's
middleware does not run for it. Requests whose ``Host`` is not in ``ALLOWED_HOSTS`` go
to Django, which answers them 400 as for any other URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from django.http import QueryDict

from django_inngest_realtime import origins
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.keepalive import KeepAlive, keepalive
from django_inngest_realtime.session_user import session_user
from django_inngest_realtime.sse import Refused, check_origin, open_stream
from django_inngest_realtime.subscriber import PING, Frame, SubscriberClosed
from django_inngest_realtime.subscriptions import (
    SSE_HEADERS,
    SSE_OPENING,
    SSE_PING,
    SSE_PING_CHUNK,
    SSE_SLOW_CLOSE,
    SseEncoder,
    Subscription,
)
from django_inngest_realtime.transports import FrameWriter, response_writer

logger = logging.getLogger("django_inngest_realtime")

_STREAM_HEADERS = [(name.encode(), value.encode()) for name, value in SSE_HEADERS.items()]


def header(headers: Any, name: str) -> str | None:
    """A request header as Django reads it (repeated ones joined with commas)."""
    wanted = name.lower().encode()
    values = [value.decode("latin1") for key, value in headers if key.lower() == wanted]
    return ",".join(values) if values else None


def query(scope: dict[str, Any]) -> QueryDict:
    """The query string as Django's ``request.GET`` (raises ``UnicodeDecodeError`` where
    Django answers 400)."""
    raw = scope.get("query_string", b"")
    return QueryDict(raw.decode() if isinstance(raw, bytes) else raw)


async def serve_sse(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer one ``GET /v1/realtime/sse`` whose ``Host`` is in ``ALLOWED_HOSTS``: an
    error, or the stream until the client disconnects or the stream ends."""
    stream = await SseStream.open(scope, send)
    if stream is None:
        return
    try:
        # The connection's own task waits here for the disconnect (the server sends one
        # after a stream that ends, too): an idle stream needs no task of ours.
        while (await receive())["type"] != "http.disconnect":
            pass
    finally:
        # Shielded: the server may cancel the application again while it cleans up.
        await asyncio.shield(stream.release())


async def respond(send: Any, refused: Refused, extra: dict[str, str] | None = None) -> None:
    """Answer with a refusal's status and JSON body, as the view's ``JsonResponse``."""
    body = json.dumps(refused.body).encode()
    headers = [(b"Content-Type", b"application/json"), (b"Content-Length", b"%d" % len(body))]
    headers += [(name.encode(), value.encode("latin1")) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _body(data: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": True}


class SseStream:
    """One open SSE response: its subscription, its writer (under Daphne) and its pump."""

    __slots__ = ("encode", "finished", "pump", "send", "sub", "timer", "writer")

    def __init__(self, sub: Subscription, encode: SseEncoder | None, send: Any) -> None:
        self.sub = sub
        #: None: the frames' own JSON events (which direct writes send).
        self.encode = encode
        self.send = send
        self.writer: FrameWriter | None = None
        self.timer: KeepAlive | None = None
        self.pump: asyncio.Task[None] | None = None
        #: True once the response's last body was sent (or the stream was released).
        self.finished = False

    @classmethod
    async def open(cls, scope: dict[str, Any], send: Any) -> SseStream | None:
        """Check the request, subscribe and start the response; None once an error was
        answered instead."""
        headers = scope.get("headers", [])
        origin = header(headers, "origin")
        try:
            check_origin(origin, origins.websocket_host(dict(headers)))
        except Refused as exc:
            await respond(send, exc)
            return None
        cors = origins.cors_headers(origin)
        try:
            sub, encode = await open_stream(
                query(scope), lambda name: header(headers, name), lambda: session_user(scope)
            )
        except Refused as exc:
            await respond(send, exc, cors)
            return None
        stream = cls(sub, encode, send)
        try:
            await stream.start(cors)
        except BaseException:
            await asyncio.shield(stream.release())
            raise
        return stream

    async def start(self, cors: dict[str, str]) -> None:
        """Send the response's start and opening, then stream: directly (Daphne) or
        through a pump task."""
        headers = _STREAM_HEADERS + [(k.encode(), v.encode("latin1")) for k, v in cors.items()]
        send, sub = self.send, self.sub
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(_body(SSE_OPENING))
        if self.encode is None and not sub.until_run_end:
            self.writer = response_writer(len(SSE_OPENING), send)
            if self.writer is not None:
                sub.write_directly(self.writer, Frame.sse_chunk, SSE_PING_CHUNK)
        interval = get_config().SSE_KEEPALIVE
        if interval > 0:
            self.timer = keepalive(interval)
            self.timer.add(sub.subscriber)
        sub.when_woken(self._wake)
        if self.writer is None or not sub.go_direct():
            self._wake()

    def _wake(self) -> None:
        """Start a pump when there is something to send and none runs."""
        if self.pump is None and not self.finished:
            self.pump = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        """Send what waits; end once the hub may write again (direct), or the stream ends."""
        sub, send = self.sub, self.send
        try:
            while True:
                if self.writer is not None and sub.go_direct():
                    self.pump = None  # an idle stream holds no task, running or done
                    return
                try:
                    frame = await sub.next_or_ping()
                except SubscriberClosed as exc:
                    if exc.reason == "slow":
                        await send(
                            {
                                "type": "http.response.body",
                                "body": SSE_SLOW_CLOSE,
                                "more_body": True,
                            }
                        )
                    break
                if frame is PING:
                    body = SSE_PING
                else:
                    body = sub.sse_body(frame, self.encode)
                if body:
                    await send(_body(body))
                if sub.run_ended:
                    break
        except Exception:
            logger.exception("An SSE stream of %r failed; it is closed.", sub.channel)
        await self._finish()

    async def _finish(self) -> None:
        """End the response (the server then reports the disconnect to :func:`serve_sse`)."""
        if self.finished:
            return
        self.finished = True
        try:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:  # the client is gone already
            logger.debug("Could not end an SSE response.", exc_info=True)

    async def release(self) -> None:
        """Stop the pump, the keep-alives and direct writes; leave the channel. Idempotent."""
        self.finished = True
        pump, self.pump = self.pump, None
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
        subscriber = self.sub.subscriber
        if self.timer is not None:
            self.timer.discard(subscriber)
            self.timer = None
        if self.writer is not None:
            subscriber.detach()
            self.writer.close()
            self.writer = None
        await self.sub.close()
