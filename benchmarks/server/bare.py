"""The baseline: a bare Channels consumer per connection, joined to the group itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

MESSAGE_TYPE = "bench.message"


def bare_group(prefix: str, channel: str) -> str:
    """The channel-layer group of a benchmark channel (names are ``bench:<id>``)."""
    return f"{prefix}.bare.{channel.replace(':', '_')}"


class BareConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """``/bare/connect?channel=NAME``: group_add, then forward each group message."""

    async def connect(self) -> None:
        from django.conf import settings

        params = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        self.group = bare_group(settings.PREFIX, params["channel"][0])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bench_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
