"""A chat room: a plain Channels consumer of your own that subscribes to one of our channels.

It is the worked example of ``docs/subscribing.md`` ("Your own Channels consumer"):
``subscribe()`` inside any ``AsyncJsonWebsocketConsumer``, a task forwarding what arrives,
``publish()`` for what the client sends, and cleanup in ``disconnect()``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pydantic
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from django_inngest_realtime import (
    Subscription,
    channel,
    presence_sync,
    publish,
    subscribe,
    topic,
)


class ChatMessage(pydantic.BaseModel):
    author: str = pydantic.Field(max_length=150)
    text: str = pydantic.Field(min_length=1, max_length=500)


#: ``presence=True``: who is in the room is tracked (and announced on its ``presence`` topic).
chat_channel = channel("chat:{room}", presence=True).add_topic(
    topic("messages").schema(ChatMessage)
)


class ChatConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """``/ws/chat/<room>``: the room's recent messages, then live ones; send ``{"text": ...}``."""

    subscription: Subscription | None = None
    forwarder: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.room = self.scope["url_route"]["kwargs"]["room"]
        user = self.scope.get("user")
        self.author = user.get_username() if user and user.is_authenticated else "guest"
        # since=0: what the room's history still holds, then live messages, in order.
        self.subscription = await subscribe(chat_channel(self.room), since=0, user=user)
        await self.accept()
        self.forwarder = asyncio.create_task(self.forward(self.subscription))

    async def forward(self, subscription: Subscription) -> None:
        async for message in subscription:
            await self.send_json(message.to_dict())
        # The iteration ends when the subscription is closed: as too slow, close the socket.
        await self.close(code=4408)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        text = content.get("text") if isinstance(content, dict) else None
        try:
            message = chat_channel(self.room).messages({"author": self.author, "text": text})
        except pydantic.ValidationError:
            await self.send_json({"kind": "error", "reason": 'Send {"text": "..."} (1-500).'})
            return
        await publish(message)

    async def disconnect(self, code: int) -> None:
        if self.forwarder is not None:
            self.forwarder.cancel()
        if self.subscription is not None:
            await self.subscription.close()


def chat_page(request: HttpRequest, room: str = "lobby") -> HttpResponse:
    members = [m.to_dict() for m in presence_sync(chat_channel(room))]
    return render(request, "demo/chat.html", {"room": room, "members": members})
