"""WebSocket frames and HTTP chunks as bytes, and what writes them to a connection directly."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Protocol


def text_frame(text: str) -> bytes:
    """The server-to-client WebSocket frame (FIN, text, unmasked) carrying ``text``."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def http_chunk(data: bytes) -> bytes:
    """``data`` as one chunk of an HTTP/1.1 response in chunked transfer coding."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class FrameWriter(Protocol):
    """Writes whole frames (WebSocket frames, or HTTP chunks of a streamed response) to
    one connection, bypassing the ASGI application's ``send``."""

    #: True while the connection cannot take more (its send buffer is full, or it is gone).
    paused: bool

    def write(self, data: Any) -> bool:
        """Write one frame, as the owner encoded it (bytes for a connection, text for an
        ASGI ``send``); False when it cannot be written now (the caller queues it)."""

    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when writing can resume after a pause."""

    def remove_waker(self, wake: Callable[[], None]) -> None:
        """Stop calling ``wake``."""

    def close(self) -> None:
        """Stop writing; the connection is the consumer's again."""


class Wakers:
    """The waker list every :class:`FrameWriter` keeps (``_wakers`` in its slots)."""

    __slots__ = ()
    _wakers: list[Callable[[], None]]

    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when writing can resume after a pause."""
        self._wakers.append(wake)

    def remove_waker(self, wake: Callable[[], None]) -> None:
        if wake in self._wakers:
            self._wakers.remove(wake)
