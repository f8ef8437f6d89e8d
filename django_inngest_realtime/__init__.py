"""Inngest Realtime for Django: typed channels and topics, publish, subscribe.

Names are re-exported lazily (PEP 562), so ``import django_inngest_realtime`` costs
almost nothing: the Inngest SDK, pydantic and Channels load when a name is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_inngest_realtime.envelope import Message
    from django_inngest_realtime.html_publishing import publish_html, publish_html_sync
    from django_inngest_realtime.middleware import realtime_middleware, run_status_function
    from django_inngest_realtime.presences import presence, presence_sync
    from django_inngest_realtime.publishing import (
        PayloadTooLarge,
        PublishError,
        publish,
        publish_stream,
        publish_stream_sync,
        publish_sync,
    )
    from django_inngest_realtime.subscriptions import Subscription, subscribe
    from django_inngest_realtime.tokens import get_subscription_token
    from django_inngest_realtime.topics import (
        Channel,
        ChannelRef,
        Topic,
        TopicMessage,
        TopicRef,
        channel,
        topic,
    )

_EXPORTS = {
    "Message": "envelope",
    "realtime_middleware": "middleware",
    "run_status_function": "middleware",
    "PayloadTooLarge": "publishing",
    "PublishError": "publishing",
    "publish": "publishing",
    "publish_stream": "publishing",
    "publish_stream_sync": "publishing",
    "publish_sync": "publishing",
    "Subscription": "subscriptions",
    "subscribe": "subscriptions",
    "get_subscription_token": "tokens",
    "presence": "presences",
    "publish_html": "html_publishing",
    "publish_html_sync": "html_publishing",
    "presence_sync": "presences",
    "Channel": "topics",
    "ChannelRef": "topics",
    "Topic": "topics",
    "TopicMessage": "topics",
    "TopicRef": "topics",
    "channel": "topics",
    "topic": "topics",
}

__all__ = [
    "Channel",
    "ChannelRef",
    "Message",
    "PayloadTooLarge",
    "PublishError",
    "Subscription",
    "Topic",
    "TopicMessage",
    "TopicRef",
    "channel",
    "get_subscription_token",
    "presence",
    "presence_sync",
    "publish",
    "publish_html",
    "publish_html_sync",
    "publish_stream",
    "publish_stream_sync",
    "publish_sync",
    "realtime_middleware",
    "run_status_function",
    "subscribe",
    "topic",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'django_inngest_realtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"django_inngest_realtime.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
