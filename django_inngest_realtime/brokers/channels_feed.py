"""The ``channels`` broker's feed: one channel of the layer per hub, and the task reading it.

The hub's channel joins the group of each (channel, topic) its subscribers use; frames
arrive as ``{"type": "realtime.message", "group", "seq", "prev", "frame"}`` (sent by
``ChannelsBroker.publish``). A failing receive joins the groups again and has the hub's
subscribers catch up from history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from django_inngest_realtime.brokers.base import Feed, Sink

logger = logging.getLogger("django_inngest_realtime")

MESSAGE_TYPE = "realtime.message"
#: How long a feed waits for its reader to end when closing before it lets it go.
_CLOSE_WAIT = 2.0


class ChannelsFeed(Feed):
    """One hub's channel on the layer, and the task reading it."""

    def __init__(self, layer: Any, sink: Sink) -> None:
        self.sink = sink
        self.layer = layer
        self.channel_name: str | None = None
        self.groups: set[str] = set()
        self._reader: asyncio.Task[None] | None = None

    async def join(self, group: str) -> None:
        if self.channel_name is None:
            self.channel_name = await self.layer.new_channel()
        await self.layer.group_add(group, self.channel_name)
        self.groups.add(group)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="inngest-realtime-layer-feed")

    async def leave(self, group: str) -> None:
        self.groups.discard(group)
        if self.channel_name is not None:
            with contextlib.suppress(Exception):  # the layer forgets it anyway on expiry
                await self.layer.group_discard(group, self.channel_name)

    async def _read(self) -> None:
        backoff = 0.1
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Channel layer receive failed (%s); joining again", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                with contextlib.suppress(Exception):
                    for group in list(self.groups):
                        await self.layer.group_add(group, self.channel_name)
                    backoff = 0.1
                    self.sink.resync()
                continue
            group = message.get("group")
            if message.get("type") == MESSAGE_TYPE and group in self.groups:
                self.sink.deliver(group, message["seq"], message["prev"], message["frame"])

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            # Whatever the layer does on cancel, closing does not wait longer than this.
            await asyncio.wait({reader}, timeout=_CLOSE_WAIT)
            if not reader.done():
                logger.warning("The channel layer's receive() did not end on cancel")
        for group in list(self.groups):
            await self.leave(group)
