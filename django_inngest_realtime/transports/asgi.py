"""The server's own ASGI ``send`` behind Channels' session middleware.

``channels.sessions.InstanceSessionWrapper.send`` (under ``AuthMiddlewareStack``) looks
at the session on every message and acts only on ``http.response.start``; on the
WebSocket send path that look costs about as much per frame as the server's own framing.
A consumer's frames go straight to the ``send`` it wraps (its ``real_send``); anything
that is not such a wrapper is returned as it is.
"""

from __future__ import annotations

from typing import Any

from channels.sessions import InstanceSessionWrapper


def frame_send(send: Any) -> Any:
    """The ``send`` that WebSocket frames (``websocket.send``) may go to: ``send`` with
    Channels' session wrappers, which do nothing for them, taken off."""
    while True:
        wrapper = getattr(send, "__self__", None)
        if (
            not isinstance(wrapper, InstanceSessionWrapper)
            or getattr(send, "__func__", None) is not InstanceSessionWrapper.send
            or "websocket.send" in wrapper.save_message_types
            or "websocket.send" in wrapper.cookie_response_message_types
        ):
            return send
        inner = getattr(wrapper, "real_send", None)
        if inner is None:
            return send
        send = inner
