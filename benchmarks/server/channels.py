"""The channel every benchmark publishes on: ``bench:{id}``, topic ``tick``."""

from __future__ import annotations

import pydantic

from django_inngest_realtime import channel, topic

TOPIC = "tick"


class Tick(pydantic.BaseModel):
    """One benchmark message: its index, the publish call's wall-clock time, padding."""

    i: int
    t: float
    p: str = ""


bench = channel("bench:{id}").add_topic(topic(TOPIC).schema(Tick))

#: Where the approvals scenario's confirmations publish their state.
approvals = channel("approvals:{id}").add_topic(topic("state"))
