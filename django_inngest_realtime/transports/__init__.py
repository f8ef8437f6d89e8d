"""Ways frames leave the server besides a consumer's ``send``: direct writes to Daphne's
WebSocket and streamed-response (SSE) transports and close codes Daphne's ASGI path
refuses (``daphne.py``), used only when the connection is Daphne's — detected at run
time, never imported under another server — and keys kept out of access logs (``redaction.py``)."""

from __future__ import annotations

import sys
from typing import Any

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.transports.wire import FrameWriter


def direct_writer(send: Any) -> FrameWriter | None:
    """A writer straight to the connection behind the ASGI ``send``, when it is Daphne's
    and direct writes are on; None means: send through the consumer."""
    if not get_config().WEBSOCKET_DIRECT_WRITES or "daphne.server" not in sys.modules:
        return None  # not served by Daphne: Twisted is never imported
    from django_inngest_realtime.transports import daphne

    return daphne.writer_for(send)


def response_writer(sent: int, send: Any = None) -> FrameWriter | None:
    """A writer straight to the connection of a streamed response, when Daphne serves it
    and SSE direct writes are on: the response sent through the ASGI ``send``, or by
    default the one the calling generator streams (a Django view's); ``sent``: the body
    bytes sent (yielded) so far. None means: send through ASGI (yield through Django)."""
    if not get_config().SSE_DIRECT_WRITES or "daphne.server" not in sys.modules:
        return None
    from django_inngest_realtime.transports import daphne

    request = daphne.streaming_request() if send is None else daphne.daphne_request(send)
    return daphne.response_writer(request, sent)


def close_with(send: Any, code: int, reason: str) -> bool:
    """Close a Daphne WebSocket with a code ASGI cannot carry there (1009); False when the
    caller must close through ASGI (another server, or this Daphne cannot)."""
    if "daphne.server" not in sys.modules:
        return False
    from django_inngest_realtime.transports import daphne

    return daphne.close_with(send, code, reason)


def served_by_daphne(send: Any) -> bool:
    """Whether the connection behind ``send`` is Daphne's."""
    if "daphne.server" not in sys.modules:
        return False
    from django_inngest_realtime.transports import daphne

    return daphne.daphne_protocol(send) is not None


__all__ = [
    "FrameWriter",
    "close_with",
    "direct_writer",
    "response_writer",
    "served_by_daphne",
]
