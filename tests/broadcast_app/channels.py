"""The channels the broadcasting test models publish on."""

from __future__ import annotations

import pydantic

from django_inngest_realtime import channel, topic
from django_inngest_realtime.broadcasts import Change
from django_inngest_realtime.html import html_topic


class NoteOut(pydantic.BaseModel):
    id: int
    text: str
    board_id: int


#: JSON changes of a board's notes on ``notes``, their live HTML on ``html``.
board_channel = (
    channel("board:{id}").add_topic(topic("notes").schema(Change[NoteOut])).add_topic(html_topic())
)
