"""The demo's channels and topics: one per pattern of the Inngest Realtime guide."""

from __future__ import annotations

from typing import Any

import pydantic
from django.http import HttpRequest

from django_inngest_realtime import channel, topic


class PostUpdated(pydantic.BaseModel):
    id: str
    likes: int


class PostDeleted(pydantic.BaseModel):
    id: str


#: The session key listing the runs this browser session started.
STARTED_RUNS = "demo_started_runs"


def started_here(request: HttpRequest | None, uuid: str) -> None:
    """Remember that this session started the run ``uuid`` (it may then watch it)."""
    if request is not None and hasattr(request, "session"):
        runs = request.session.get(STARTED_RUNS, [])[-49:]
        request.session[STARTED_RUNS] = [*runs, uuid]


def own_run(user: Any, uuid: str, request: HttpRequest | None = None) -> bool:
    """A run's own channel: only for the session that started the run."""
    session = getattr(request, "session", None)
    return session is not None and uuid in session.get(STARTED_RUNS, [])


def staff_or_decider(user: Any, **params: Any) -> bool:
    """The approvals channel carries prompts and confirmation tokens: staff, or users who
    may decide confirmations."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_staff or user.has_perm("django_inngest_realtime.decide_confirmation"))
    )


def anyone(user: Any, **params: Any) -> bool:
    """A public feed, as the seed's are: readable by every visitor."""
    return True


#: Stream updates from a single run.
hello_channel = channel(lambda uuid: f"hello-world.{uuid}", authorize=own_run).add_topic(
    topic("logs").type(str)
)

#: Stream updates from multiple runs.
global_channel = channel("global", authorize=anyone).add_topic(topic("logs").type(str))
post_channel = (
    channel(lambda post_id: f"post:{post_id}", authorize=anyone)
    .add_topic(topic("updated").schema(PostUpdated))
    .add_topic(topic("deleted").schema(PostDeleted))
)

#: Human in the loop: prompts and their updates on ``messages``, progress on ``logs``.
agentic_channel = (
    channel("agentic-workflow", authorize=staff_or_decider)
    .add_topic(topic("messages"))
    .add_topic(topic("logs").type(str))
)

#: Streamed output (a simulated LLM).
story_channel = channel(lambda uuid: f"story.{uuid}", authorize=own_run).add_topic(
    topic("tokens").type(str)
)

#: Run status: a job's progress; its runs' status messages come on the same topic.
job_channel = channel(lambda uuid: f"job.{uuid}", authorize=own_run).add_topic(
    topic("logs").type(str)
)
