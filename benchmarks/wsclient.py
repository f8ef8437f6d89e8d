"""A lean WebSocket client: the ``websockets`` library's sans-I/O protocol on an
asyncio ``Protocol``, so thousands of connections cost the load generator little
(no task, queue or future per frame)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri


class WebSocketClient(asyncio.Protocol):
    """One connection; ``on_text`` gets each text frame's payload (bytes)."""

    def __init__(self, url: str, on_text: Callable[[bytes], None]) -> None:
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[str] = loop.create_future()

    @classmethod
    async def connect(cls, url: str, on_text: Callable[[bytes], None]) -> WebSocketClient:
        """Connect and complete the handshake; raise if the server refuses it."""
        client = cls(url, on_text)
        uri = client.ws.uri
        await asyncio.get_running_loop().create_connection(lambda: client, uri.host, uri.port)
        await client.opened
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.on_text(bytes(event.data))
            elif isinstance(event, Response) and not self.opened.done():
                if self.ws.state is State.OPEN:
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(
                        ConnectionError(f"handshake refused: HTTP {event.status_code}")
                    )
        self._flush()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"{type(exc).__name__}: {exc}" if exc else f"closed ({self.ws.close_code})"
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        if not self.closed.done():
            self.closed.set_result(reason)

    def _flush(self) -> None:
        if self.transport is None:
            return
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def close(self) -> None:
        """Start the closing handshake, and drop the connection if it lingers."""
        if self.transport is None or self.transport.is_closing():
            return
        if self.ws.state is State.OPEN:
            self.ws.send_close()
            self._flush()
        asyncio.get_running_loop().call_later(2.0, self.transport.abort)
