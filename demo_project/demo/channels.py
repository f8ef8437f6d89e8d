"""The demo's channels and topics: one per pattern of the Inngest Realtime guide."""

from __future__ import annotations

import pydantic

from django_inngest_realtime import channel, topic


class PostUpdated(pydantic.BaseModel):
    id: str
    likes: int


class PostDeleted(pydantic.BaseModel):
    id: str


#: Stream updates from a single run.
hello_channel = channel(lambda uuid: f"hello-world.{uuid}").add_topic(topic("logs").type(str))

#: Stream updates from multiple runs.
global_channel = channel("global").add_topic(topic("logs").type(str))
post_channel = (
    channel(lambda post_id: f"post:{post_id}")
    .add_topic(topic("updated").schema(PostUpdated))
    .add_topic(topic("deleted").schema(PostDeleted))
)

#: Human in the loop: prompts and their updates on ``messages``, progress on ``logs``.
agentic_channel = (
    channel("agentic-workflow").add_topic(topic("messages")).add_topic(topic("logs").type(str))
)

#: Streamed output (a simulated LLM).
story_channel = channel(lambda uuid: f"story.{uuid}").add_topic(topic("tokens").type(str))
