"""What only Daphne needs: direct writes of fanned-out frames to its WebSocket transport,
close codes its ASGI path refuses, and keys out of its access log.

Loaded only when ``daphne.server`` is already running in this process (``transports``);
the one module that touches Daphne's, autobahn's and Twisted's private attributes.
Tested with the Daphne and Twisted versions bounded in ``pyproject.toml``; when what it
reads is missing, it warns once and the normal ASGI path is taken.

Close codes: Daphne passes a ``websocket.close`` code to autobahn's ``sendClose``, which
refuses every code but 1000 and 3000-4999, so "message too big" (1009) cannot be sent
through ASGI (the consumer would crash, and its clean-up never run).
:func:`close_with` sends such a close frame itself.

Direct writes:

Under Daphne, every frame a consumer sends goes through Channels' send wrappers, Daphne's
``handle_reply`` and autobahn's framing, after the connection's pump task has woken up
for it. For the live messages the hub fans out to thousands of connections, that
per-frame path is most of the server's work. A :class:`DirectWriter` lets the hub write
a live frame's wire bytes, an unmasked RFC 6455 text frame built once per message and
shared by every connection, straight to the connection's Twisted transport.

It is used only when all of these hold, and the normal path is taken otherwise:

* the consumer's ``send`` is Daphne's (Channels' test communicator takes the normal path);
* the connection negotiated no WebSocket extension (no per-message compression) and
  is plain TCP (behind Daphne's own TLS endpoint, the normal path is taken);
* the socket is open and the transport's send buffer has room. The writer registers as
  the transport's streaming producer: when Twisted's buffer fills up (a slow client), it
  is paused and frames queue in the subscriber's bounded buffer again, so a client that
  falls ``SUBSCRIBER_QUEUE_SIZE`` frames behind is closed as slow, as on the normal path.
  Daphne leaves the HTTP channel that upgraded the connection registered as its
  producer (it stops reading from a client it cannot write to); the writer takes its
  place, passes every pause and resume on to it, and puts it back when it closes.

When nothing waits in the transport's buffer, a frame is sent at once with the
transport's own ``writeSomeData`` (one ``send()``), as asyncio's transports do, instead
of being buffered until the reactor's next write cycle; whatever the socket does not
take goes to the transport's buffer, in order.

Server-Sent Events the same way (:func:`response_writer`, ``SSE_DIRECT_WRITES``): each
event, built once per message as one HTTP/1.1 chunk, is written to the connection of the
streamed response. The SSE application in front of Django (``sse_application.py``) has
Daphne's ``send``; Django's ASGI handler does not hand a view its ``send``, so the SSE
view's generator finds it as the ``send`` argument of the coroutine its task runs
(Django's ``process_request``, :func:`streaming_request`). The writer is used only when
all of these hold, else every event goes through ASGI (and Django) as before:

* that ``send`` is Daphne's, for an HTTP/1.1 request over plain TCP (not HTTP/2, not TLS);
* the response is chunked and started, not finished, and carries no
  ``Content-Encoding``; and what Daphne has sent of its body so far is exactly what the
  application sent (no middleware rewrites the stream, as ``GZipMiddleware`` would).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from django_inngest_realtime.transports.wire import Wakers

logger = logging.getLogger("django_inngest_realtime")

_MAX_UNWRAP = 8
#: What :meth:`DirectWriter.write` reads of Twisted's TCP transport to see that its
#: buffer is empty (``twisted.internet.abstract.FileDescriptor``).
_TRANSPORT_ATTRIBUTES = (
    "dataBuffer",
    "offset",
    "_tempDataLen",
    "disconnecting",
    "producer",
    "streamingProducer",
    "writeSomeData",
    "registerProducer",
    "unregisterProducer",
)
#: What it reads of Daphne's (autobahn's) WebSocket protocol.
_PROTOCOL_ATTRIBUTES = ("state", "STATE_OPEN", "send_queue", "transport")
#: What it reads of Daphne's HTTP request (``twisted.web.http.Request``) and its channel.
_REQUEST_ATTRIBUTES = (
    "finished",
    "_disconnected",
    "chunked",
    "startedWriting",
    "sentLength",
    "responseHeaders",
    "channel",
    "channel.transport",
)

_supported: dict[str, bool] = {}


def _has(obj: Any, dotted: str) -> bool:
    for name in dotted.split("."):
        if not hasattr(obj, name):
            return False
        obj = getattr(obj, name)
    return True


def _check(kind: str, protocol: Any, attributes: tuple[str, ...], transport: Any) -> bool:
    """Whether this Twisted and Daphne have what direct writes of ``kind`` read, checked
    once, on the first such connection (most are instance attributes)."""
    known = _supported.get(kind)
    if known is None:
        missing = [a for a in attributes if not _has(protocol, a)]
        missing += [f"transport.{a}" for a in _TRANSPORT_ATTRIBUTES if not hasattr(transport, a)]
        known = _supported[kind] = not missing
        if missing:
            logger.warning(
                "%s direct writes are off: this Daphne/Twisted lacks %s; frames take the "
                "ASGI send path (see the tested versions in pyproject.toml).",
                kind,
                ", ".join(missing),
            )
    return known


def supported(protocol: Any) -> bool:
    """Whether WebSocket direct writes can be used with this Daphne protocol's versions."""
    return _check("WebSocket", protocol, _PROTOCOL_ATTRIBUTES, protocol.transport)


def _served(send: Any) -> Any | None:
    """Daphne's protocol object (WebSocket protocol or HTTP request) behind an ASGI
    ``send``, or None when it is not Daphne's.

    Looks through Channels' session middleware, which wraps ``send`` in a method that
    passes messages on unchanged.
    """
    server_module = sys.modules.get("daphne.server")
    if server_module is None:
        return None
    for _ in range(_MAX_UNWRAP):
        if isinstance(send, functools.partial):
            owner = getattr(send.func, "__self__", None)
            if isinstance(owner, server_module.Server) and send.args:
                return send.args[0]
            return None
        inner = getattr(getattr(send, "__self__", None), "real_send", None)
        if inner is None:
            return None
        send = inner
    return None


def daphne_protocol(send: Any) -> Any | None:
    """The Daphne WebSocket protocol behind an ASGI ``send``, or None when it is not Daphne's."""
    ws_module = sys.modules.get("daphne.ws_protocol")
    protocol = _served(send)
    if ws_module is None or not isinstance(protocol, ws_module.WebSocketProtocol):
        return None
    return protocol


def daphne_request(send: Any) -> Any | None:
    """The Daphne HTTP request behind an ASGI ``send``, or None when it is not Daphne's."""
    http_module = sys.modules.get("daphne.http_protocol")
    request = _served(send)
    if http_module is None or not isinstance(request, http_module.WebRequest):
        return None
    return request


def close_with(send: Any, code: int, reason: str) -> bool:
    """Close the Daphne WebSocket behind ``send`` with any close code (1009 included);
    False when it is not Daphne's or this autobahn lacks ``sendCloseFrame``."""
    protocol = daphne_protocol(send)
    close_frame = getattr(protocol, "sendCloseFrame", None)
    if protocol is None or close_frame is None:
        return False
    if protocol.state == protocol.STATE_OPEN:
        close_frame(code=code, reasonUtf8=reason.encode()[:123], isReply=False)
    return True


def redact_access_log(scrub: Callable[[Any], Any]) -> None:
    """Have Daphne's access log (written straight to a stream, not through ``logging``)
    pass each request's details through ``scrub`` first."""
    from daphne.access import AccessLogGenerator

    call = AccessLogGenerator.__call__
    if getattr(call, "_scrubbed", False):
        return
    try:
        params = list(inspect.signature(call).parameters)
    except (TypeError, ValueError):
        params = []
    if params != ["self", "protocol", "action", "details"]:
        logger.warning(
            "Daphne's access log is not redacted: AccessLogGenerator.__call__ takes %s, "
            "not (protocol, action, details); subscription keys in query strings may be "
            "logged. Tested with Daphne 4.1-4.2.",
            params,
        )
        return

    @functools.wraps(call)
    def scrubbed(self: Any, protocol: Any, action: Any, details: Any) -> Any:
        return call(self, protocol, action, scrub(details))

    scrubbed._scrubbed = True  # type: ignore[attr-defined]
    AccessLogGenerator.__call__ = scrubbed


def writer_for(send: Any) -> DirectWriter | None:
    """A writer for the connection behind ``send`` when direct writes can be used."""
    protocol = daphne_protocol(send)
    if protocol is None or getattr(protocol, "websocket_extensions_in_use", None):
        return None
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, tcp.Connection) or not transport.connected:
        return None  # TLS or already gone
    if not supported(protocol):
        return None
    if transport.producer is not None and not transport.streamingProducer:
        return None  # a pull producer is writing: leave it alone
    return DirectWriter(protocol)


def response_writer(request: Any, sent: int) -> ResponseWriter | None:
    """A writer for the response streamed on ``request`` (Daphne's, or None), when the
    body Daphne has sent so far is the ``sent`` bytes the application sent."""
    if request is None:
        return None
    from twisted.web import http

    channel = getattr(request, "channel", None)
    if not isinstance(channel, http.HTTPChannel):
        return None  # HTTP/2, or the request is over
    transport = getattr(channel, "transport", None)
    if not isinstance(transport, tcp.Connection) or not transport.connected:
        return None  # TLS or already gone
    if not _check("SSE", request, _REQUEST_ATTRIBUTES, transport):
        return None
    if (
        request.finished
        or request._disconnected
        or not request.chunked
        or not request.startedWriting
        or request.sentLength != sent
        or request.responseHeaders.hasHeader(b"content-encoding")
    ):
        return None  # not streaming, or a middleware changes what is sent
    if transport.producer is not None and not transport.streamingProducer:
        return None
    return ResponseWriter(request)


def streaming_request() -> Any | None:
    """The Daphne request of the response this task streams: Django's ASGI handler runs
    each request in a task of ``process_request(request, send)``, whose ``send`` it is,
    if Daphne's. (Only that one frame's locals are read: reading a frame's locals keeps
    a copy on it for as long as the frame lives.)"""
    task = asyncio.current_task()
    frame = getattr(task.get_coro(), "cr_frame", None) if task is not None else None
    if frame is None or "send" not in frame.f_code.co_varnames:
        return None
    return daphne_request(frame.f_locals.get("send"))


@implementer(IPushProducer)
class DirectWriter(Wakers):
    """Writes frames to one Daphne WebSocket connection; a Twisted streaming producer."""

    __slots__ = ("_previous", "_protocol", "_transport", "_wakers", "paused")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._take(protocol.transport)

    def _open(self) -> bool:
        """Whether frames may be written to the connection now."""
        protocol = self._protocol
        return bool(protocol.state == protocol.STATE_OPEN and not protocol.send_queue)

    def _take(self, transport: Any) -> None:
        self._transport = transport
        self._wakers: list[Callable[[], None]] = []
        #: The producer registered before this writer, kept informed and put back on close.
        self._previous: Any = transport.producer
        #: True while the transport's send buffer is full (or the connection is gone).
        self.paused = bool(self._previous is not None and transport.producerPaused)
        if self._previous is not None:
            transport.unregisterProducer()
        transport.registerProducer(self, True)

    def write(self, data: bytes) -> bool:
        """Write one frame; False when it cannot be written now (the caller queues it)."""
        if self.paused or not self._open():
            return False
        transport = self._transport
        if (
            not transport._tempDataLen
            and transport.offset == len(transport.dataBuffer)
            and not transport.disconnecting
        ):
            sent = transport.writeSomeData(data)
            if not isinstance(sent, int):
                return True  # the connection is lost; Twisted notices on its next read
            if sent == len(data):
                return True
            data = data[sent:]
        transport.write(data)
        return True

    def close(self) -> None:
        """Stop writing; give the transport back to the producer it had before."""
        self.paused = True
        self._wakers.clear()
        transport = self._transport
        if transport.producer is self:
            transport.unregisterProducer()
            if self._previous is not None and transport.connected:
                transport.registerProducer(self._previous, True)
        self._previous = None

    # Twisted's IPushProducer
    def pauseProducing(self) -> None:
        self.paused = True
        if self._previous is not None:
            self._previous.pauseProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        if self._previous is not None:
            self._previous.resumeProducing()
        for wake in list(self._wakers):
            wake()

    def stopProducing(self) -> None:
        self.paused = True
        if self._previous is not None:
            self._previous.stopProducing()
        for wake in list(self._wakers):
            wake()


class ResponseWriter(DirectWriter):
    """Writes HTTP chunks to the connection of one streamed Daphne response."""

    __slots__ = ()

    def __init__(self, request: Any) -> None:
        self._protocol = request
        self._take(request.channel.transport)

    def _open(self) -> bool:
        request = self._protocol
        return not (request.finished or request._disconnected)
