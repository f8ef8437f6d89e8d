"""The WebSocket transport: ``/v1/realtime/connect?token=KEY``.

Speaks Inngest Realtime's wire format (one JSON envelope per frame) so Inngest's own
JavaScript client can subscribe; adds multiplexing (``sub`` / ``unsub`` frames), resume
(``since``) and keep-alive pings. Close codes are listed in ``docs/subscribing.md``.

A key given with the handshake (``?token=`` or ``Authorization: Bearer``) that is refused
is refused *before* the upgrade, as Inngest's server does: Inngest's clients then reject
``subscribe()`` instead of seeing an open socket end silently.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from django_inngest_realtime import jsonbody
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.keepalive import websocket_pings
from django_inngest_realtime.session_user import session_user
from django_inngest_realtime.subscriber import SubscriberClosed
from django_inngest_realtime.subscriptions import Subscription, parse_since, parse_topics
from django_inngest_realtime.tokens import TokenError, bearer_key, verify_token
from django_inngest_realtime.transports import (
    FrameWriter,
    close_with,
    direct_writer,
    served_by_daphne,
)
from django_inngest_realtime.transports.asgi import SendWriter, frame_text

CLOSE_MALFORMED = 4400
CLOSE_SLOW = 4408
CLOSE_TOO_BIG = 1009
#: What a frame over ``MAX_FRAME_BYTES`` closes with where the server cannot send 1009.
CLOSE_TOO_BIG_FALLBACK = 4409
#: Too many subscriptions on one socket (an ``error`` frame), or too many frames (a close).
ERROR_TOO_MANY = 4429
#: The ASGI extension that lets an application answer a handshake with its own HTTP response.
HTTP_RESPONSE_EXTENSION = "websocket.http.response"


class RealtimeConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """One WebSocket, any number of channel subscriptions."""

    # Messages arrive through the per-process hub, so a connection needs no channel-layer
    # channel of its own, and the receive loop below never reads one.
    channel_layer = None

    subscriptions: dict[str, tuple[Subscription, asyncio.Task[None] | None]]
    writer: FrameWriter | None = None
    #: The connection's ping task where no direct writer is (else one timer pings them all).
    pinger: asyncio.Task[None] | None = None
    ping_interval: float | None = None
    closing = False
    #: The session's user, read once, when a token is first checked (``session_user``).
    user: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the connection: one receive loop in the server's own task for it (Channels'
        ``await_many_dispatch`` would add a task and its waiters per connection). Its
        clean-up runs on every way out: a disconnect, a crash of a handler, or the server
        cancelling the application."""
        self.scope = scope
        self.base_send = send
        self.subscriptions = {}
        self.allowance = InboundAllowance()
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # Shielded: the server may cancel the application again while it cleans up.
            await asyncio.shield(self._release())

    async def connect(self) -> None:
        params = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        key = params.get("token", [None])[0] or bearer_key(
            dict(self.scope.get("headers", [])).get(b"authorization")
        )
        if key is not None:  # otherwise a client that will send ``sub`` frames
            try:
                # Joined before the handshake completes: once open, live messages flow.
                await self._subscribe(
                    key,
                    since=parse_since(params.get("since", [None])[0]),
                    topics=parse_topics(params.get("topics", [None])[0]),
                    start_pump=False,
                )
            except TokenError as exc:
                await self._refuse_handshake(exc)
                return
        await self.accept()
        self.writer = direct_writer(self.base_send)
        for name, (sub, _) in self.subscriptions.items():
            if self.writer is not None:
                sub.write_directly(self.writer)
            self.subscriptions[name] = (sub, asyncio.create_task(self._pump(name, sub)))
        if self.writer is not None:
            self.ping_interval = get_config().WS_PING_INTERVAL
            websocket_pings(self.ping_interval).add(self.writer)
        else:
            self.pinger = asyncio.create_task(self._ping())

    async def _refuse_handshake(self, refused: TokenError) -> None:
        """Answer the handshake with HTTP 401 and a JSON body where the server lets us
        (uvicorn); otherwise close before accepting, which Daphne answers with 403."""
        if HTTP_RESPONSE_EXTENSION in (self.scope.get("extensions") or {}):
            body = json.dumps({"error": refused.reason, "code": refused.code}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ]
            await self.base_send(
                {"type": "websocket.http.response.start", "status": 401, "headers": headers}
            )
            await self.base_send({"type": "websocket.http.response.body", "body": body})
        else:
            await self.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        config = get_config()
        if not self.allowance.take():
            reason = f"More than {config.INBOUND_FRAMES_PER_SECOND:g} frames a second."
            await self._close(ERROR_TOO_MANY, reason)
            return
        if text_data is None:
            await self._close(CLOSE_MALFORMED, "Only JSON text frames are accepted.")
            return
        if len(text_data) > config.MAX_FRAME_BYTES:
            await self._close(CLOSE_TOO_BIG, f"Frames are at most {config.MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = jsonbody.loads(text_data)
        except ValueError as exc:
            await self._close(CLOSE_MALFORMED, str(exc))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("kind"), str):
            await self._close(CLOSE_MALFORMED, 'Frames are JSON objects with a "kind".')
            return
        await self.receive_json(frame)

    async def _close(self, code: int, reason: str) -> None:
        """Close, saying why: an ``error`` frame first (Daphne drops close reasons), then the
        close frame with the reason (uvicorn and hypercorn pass it on)."""
        if self.closing:
            return
        self.closing = True
        await self._error(code, reason)
        if code == CLOSE_TOO_BIG:
            if close_with(self.base_send, code, reason):
                return  # Daphne: sent past its ASGI path, which refuses 1009
            if served_by_daphne(self.base_send):
                code = CLOSE_TOO_BIG_FALLBACK
        await self.close(code=code, reason=reason)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content["kind"]
        if kind == "ping":
            await self.send(text_data='{"kind":"pong"}')
        elif kind == "pong":
            return
        elif kind == "sub":
            try:
                sub = await self._subscribe(
                    content.get("data"),
                    since=parse_since(content.get("since")),
                    topics=parse_topics(content.get("topics")),
                    sub_id=content.get("id"),
                )
            except TokenError as exc:
                await self._error(exc.code, exc.reason, content.get("channel"), content.get("id"))
                return
            if sub is not None:  # acknowledged: live messages flow from here on
                ack = {"kind": "sub", "channel": sub.channel, "topics": sub.topics}
                if isinstance(content.get("id"), str):
                    ack["id"] = content["id"]
                await self.send(text_data=json.dumps(ack))
        elif kind == "unsub":
            name = content.get("id") or content.get("channel") or content.get("data")
            if isinstance(name, str) and name in self.subscriptions:
                await self._unsubscribe(name)
            else:
                await self._error(CLOSE_MALFORMED, "No such subscription.", None, name)
        else:
            await self._close(CLOSE_MALFORMED, f"Unknown frame kind {kind[:40]!r}.")

    async def _subscribe(
        self,
        key: Any,
        *,
        since: int | None,
        topics: list[str] | None,
        sub_id: Any = None,
        start_pump: bool = True,
    ) -> Subscription | None:
        """Subscribe under ``sub_id`` (the channel name by default); the same id replaces."""
        if self.user is None:
            self.user = await session_user(self.scope)
        scope = verify_token(key, user=self.user, topics=topics)
        name = sub_id if isinstance(sub_id, str) and sub_id else sys.intern(scope.channel)
        if name in self.subscriptions:
            await self._unsubscribe(name)
        elif len(self.subscriptions) >= get_config().MAX_SUBSCRIPTIONS:
            reason = "Too many subscriptions on this socket."
            await self._error(ERROR_TOO_MANY, reason, scope.channel, sub_id)
            return None
        sub = await Subscription(
            scope.channel, list(topics or scope.topics), since, user=self.user
        ).start()
        if self.writer is not None:  # None until the socket is accepted
            sub.write_directly(self.writer)
        pump = asyncio.create_task(self._pump(name, sub)) if start_pump else None
        self.subscriptions[name] = (sub, pump)
        return sub

    async def _unsubscribe(self, name: str) -> None:
        sub, pump = self.subscriptions.pop(name)
        if pump is not None:
            pump.cancel()
        await sub.close()

    async def _pump(self, name: str, sub: Subscription) -> None:
        # Straight to the server's ``send`` (what ``self.send`` ends in), and every frame
        # already waiting at once: the path of every frame under any ASGI server but
        # Daphne with direct writes.
        send = self.base_send
        if self.writer is None and not sub.writes_directly:
            # Live frames go to that ``send`` from the hub's own call, without waking
            # this task per frame; it sends what had to wait (transports/asgi.py).
            sub.write_directly(SendWriter(send), frame_text)
        try:
            while True:
                # Once everything buffered is sent, the hub writes live frames itself
                # (under Daphne): this task ends and lets go of its entry, and a new one
                # starts when the subscription has something else (a backlog, its end),
                # so an idle subscription holds no task, running or done.
                if sub.go_direct():
                    if self.subscriptions.get(name, (None, None))[0] is sub:
                        self.subscriptions[name] = (sub, None)
                    sub.when_woken(self._wake_pumps)
                    return
                for frame in await sub.next_frames():
                    await send({"type": "websocket.send", "text": frame.text})
        except SubscriberClosed as exc:
            if exc.reason == "slow":
                await self._close(CLOSE_SLOW, "Too slow to keep up; resume from your last seq.")

    def _wake_pumps(self) -> None:
        """Start a pump for each subscription without one (one of them has something to
        take; the others' pumps find nothing and end at once). One bound method per
        subscription, rather than a ``partial`` naming it."""
        for name, (sub, pump) in list(self.subscriptions.items()):
            if pump is None:
                self.subscriptions[name] = (sub, asyncio.create_task(self._pump(name, sub)))

    async def _ping(self) -> None:
        interval = get_config().WS_PING_INTERVAL
        while True:
            await asyncio.sleep(interval)
            await self.send(text_data='{"kind":"ping"}')

    async def _error(self, code: int, reason: str, channel: Any = None, sub_id: Any = None) -> None:
        frame: dict[str, Any] = {"kind": "error", "code": code, "reason": reason}
        if isinstance(channel, str):
            frame["channel"] = channel
        if isinstance(sub_id, str):
            frame["id"] = sub_id
        await self.send(text_data=json.dumps(frame))

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Stop pinging, leave every subscription and give the transport back; idempotent."""
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        if self.ping_interval is not None and self.writer is not None:
            websocket_pings(self.ping_interval).discard(self.writer)
            self.ping_interval = None
        for name in list(self.subscriptions):
            await self._unsubscribe(name)
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class InboundAllowance:
    """A token bucket of frames a client may send: ``INBOUND_FRAMES_PER_SECOND`` on
    average, ``INBOUND_BURST`` at once."""

    __slots__ = ("burst", "level", "rate", "updated")

    def __init__(self) -> None:
        config = get_config()
        self.rate = config.INBOUND_FRAMES_PER_SECOND
        self.burst = float(config.INBOUND_BURST)
        self.level = self.burst
        self.updated = time.monotonic()

    def take(self) -> bool:
        """Count one frame; False when the client is over its allowance."""
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.updated) * self.rate)
        self.updated = now
        if self.level < 1:
            return False
        self.level -= 1
        return True
