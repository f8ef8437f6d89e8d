"""Inngest Realtime for Django: typed channels and topics, publish, subscribe."""

from __future__ import annotations

from django_inngest_realtime.envelope import Message
from django_inngest_realtime.middleware import realtime_middleware
from django_inngest_realtime.publish import (
    PayloadTooLarge,
    PublishError,
    publish,
    publish_stream,
    publish_stream_sync,
    publish_sync,
)
from django_inngest_realtime.subscribe import Subscription, subscribe
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
    "publish",
    "publish_stream",
    "publish_stream_sync",
    "publish_sync",
    "realtime_middleware",
    "subscribe",
    "topic",
]
