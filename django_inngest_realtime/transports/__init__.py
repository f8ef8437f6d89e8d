"""Ways frames leave the server besides a consumer's ``send``: today, direct writes to
Daphne's WebSocket transport (``daphne_direct.py``), used only when the connection is
Daphne's — detected at runtime, never imported under another server."""

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
    from django_inngest_realtime.transports import daphne_direct

    return daphne_direct.writer_for(send)


__all__ = ["FrameWriter", "direct_writer"]
