"""``publish_html()``: render a live-HTML fragment once and publish it (see ``html.py``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from asgiref.sync import sync_to_async

from django_inngest_realtime.envelope import Message
from django_inngest_realtime.html import (
    ACTIONS,
    HtmlTopic,
    check_target,
    html_topic_names,
    render_fragment,
)
from django_inngest_realtime.publishing import _replayed, _step_id, publish, publish_sync
from django_inngest_realtime.run_context import RunContext, current_run, in_step
from django_inngest_realtime.topics import ChannelRef, TopicMessage, TopicRef


def _topic_ref(ref: ChannelRef | TopicRef) -> TopicRef:
    if isinstance(ref, TopicRef):
        if not isinstance(ref.topic, HtmlTopic):
            raise LookupError(
                f"Topic {ref.name!r} of channel {ref.channel!r} is not a live-HTML topic: "
                "define it with html_topic()."
            )
        return ref
    if not isinstance(ref, ChannelRef):
        raise TypeError(
            "publish_html() takes a channel reference such as post_channel(1), or one of its "
            f"live-HTML topics; got {type(ref).__name__}."
        )
    names = html_topic_names(ref.definition)
    if len(names) != 1:
        found = f"several ({', '.join(names)}): pass one, e.g. ref.topic(name)" if names else "none"
        raise LookupError(
            f"Channel {ref.name!r} needs exactly one live-HTML topic for publish_html(); it has "
            f"{found}. Add one with .add_topic(html_topic())."
        )
    return ref.topic(names[0])


@dataclasses.dataclass
class _Job:
    """One publish_html() call: rendered and published once, in a step or not."""

    ref: TopicRef
    action: str
    target: str
    template: str | None
    context: dict[str, Any] | None
    sent: list[Message] = dataclasses.field(default_factory=list)

    def render(self) -> str:
        return render_fragment(self.template, self.context) if self.template else ""

    def message(self, html: str) -> TopicMessage:
        return self.ref({"action": self.action, "target": self.target, "html": html})

    async def run(self) -> dict[str, Any]:
        html = await sync_to_async(self.render)()
        self.sent.append(await publish(self.message(html)))
        return {"id": self.sent[0].id, "seq": self.sent[0].seq}

    def run_sync(self) -> dict[str, Any]:
        self.sent.append(publish_sync(self.message(self.render())))
        return {"id": self.sent[0].id, "seq": self.sent[0].seq}

    def placeholder(self) -> TopicMessage:
        """What a replayed step stands for: the action and target, not rendered again."""
        data = {"action": self.action, "target": self.target}
        return TopicMessage(self.ref.channel, self.ref.name, data, self.ref.ref.definition)

    def result(self, memo: Any, run: RunContext) -> Message:
        return self.sent[0] if self.sent else _replayed(self.placeholder(), memo, run)


def _prepare(
    ref: ChannelRef | TopicRef,
    action: str,
    target: str,
    template: str | None,
    context: dict[str, Any] | None,
) -> _Job:
    """Check the arguments before anything is rendered."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown live-HTML action {action!r}; one of: {', '.join(ACTIONS)}.")
    check_target(target)
    if action == "remove" and template is not None:
        raise ValueError("'remove' renders no template.")
    if action != "remove" and not template:
        raise ValueError(f"{action!r} needs template= (the fragment to {action}).")
    return _Job(_topic_ref(ref), action, target, template, context)


async def publish_html(
    ref: ChannelRef | TopicRef,
    action: str,
    target: str,
    *,
    template: str | None = None,
    context: dict[str, Any] | None = None,
    step_id: str | None = None,
) -> Message:
    """Render ``template`` with ``context`` once and publish it for every viewer to apply
    ``action`` to the element ``#target``; returns the envelope as sent.

    In an Inngest function run, outside a step, rendering and publishing run as one step
    (``step_id``, default ``"publish:<channel>"``): a replay renders nothing again.
    """
    job = _prepare(ref, action, target, template, context)
    run = current_run()
    if run is None or in_step():
        await job.run()
        return job.sent[0]
    step = _step_id(job.placeholder(), step_id)
    return job.result(await run.async_step().run(step, job.run), run)


def publish_html_sync(
    ref: ChannelRef | TopicRef,
    action: str,
    target: str,
    *,
    template: str | None = None,
    context: dict[str, Any] | None = None,
    step_id: str | None = None,
) -> Message:
    """Synchronous :func:`publish_html`, for sync Inngest functions, views and other threads."""
    job = _prepare(ref, action, target, template, context)
    run = current_run()
    if run is None or in_step():
        job.run_sync()
        return job.sent[0]
    step = _step_id(job.placeholder(), step_id)
    return job.result(run.sync_step().run(step, job.run_sync), run)
