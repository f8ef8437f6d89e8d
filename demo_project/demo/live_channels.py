"""The channels of the demo's live-HTML pages (``live.py``)."""

from __future__ import annotations

import pydantic

from django_inngest_realtime import channel, topic
from django_inngest_realtime.broadcasts import Change
from django_inngest_realtime.html import html_topic


class PostOut(pydantic.BaseModel):
    id: int
    title: str


#: A live-HTML feed that everyone on the page shares.
activity_channel = channel("activity").add_topic(html_topic())

#: The posts list: every change to a Post, as JSON (``changes``) and as live HTML (``html``).
posts_list_channel = (
    channel("posts").add_topic(topic("changes").schema(Change[PostOut])).add_topic(html_topic())
)
