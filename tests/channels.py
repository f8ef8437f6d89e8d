"""Channels shared by the test process and the live servers it starts."""

from __future__ import annotations

import pydantic

from django_inngest_realtime import channel, topic
from django_inngest_realtime.html import html_topic


class Vote(pydantic.BaseModel):
    id: str
    likes: int


def only_owner(user: object, owner: str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "username", "") == owner


live = (
    channel("live:{id}").add_topic(topic("logs").type(str)).add_topic(topic("votes").schema(Vote))
)
private = channel("private:{owner}", authorize=only_owner).add_topic(topic("logs").type(str))
#: Any JSON on ``messages``: what a confirmations widget listens to.
approvals = channel("approvals:{id}").add_topic(topic("messages"))
#: A room that tracks who is subscribed.
room = channel("room:{id}", presence=True).add_topic(topic("chat").type(str))

#: Live HTML (``html``) beside plain text (``logs``): the live-HTML pages of the tests.
pages = channel("page:{id}").add_topic(topic("logs").type(str)).add_topic(html_topic())
