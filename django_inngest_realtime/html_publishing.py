"""``publish_html()``: render a live-HTML fragment once and publish it (see ``html.py``)."""

from __future__ import annotations

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
from django_inngest_realtime.middleware import current_run, in_step
from django_inngest_realtime.publishing import _replayed, _step_id, publish, publish_sync
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


def _prepare(
    ref: ChannelRef | TopicRef, action: str, target: str, template: str | None
) -> TopicRef:
    """Check the arguments before anything is rendered."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown live-HTML action {action!r}; one of: {', '.join(ACTIONS)}.")
    check_target(target)
    if action == "remove" and template is not None:
        raise ValueError("'remove' renders no template.")
    if action != "remove" and not template:
        raise ValueError(f"{action!r} needs template= (the fragment to {action}).")
    return _topic_ref(ref)


def _message(ref: TopicRef, action: str, target: str, html: str) -> TopicMessage:
    return ref({"action": action, "target": target, "html": html})


def _placeholder(ref: TopicRef, action: str, target: str) -> TopicMessage:
    """What a replayed step stands for: the action and target; the html is not rendered again."""
    return TopicMessage(
        ref.channel, ref.name, {"action": action, "target": target}, ref.ref.definition
    )


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
    topic_ref = _prepare(ref, action, target, template)
    run = current_run()
    if run is not None and not in_step():
        pending = _placeholder(topic_ref, action, target)
        sent: list[Message] = []
        memo = await run.async_step().run(
            _step_id(pending, step_id),
            _render_and_publish,
            topic_ref,
            action,
            target,
            template,
            context,
            sent,
        )
        return sent[0] if sent else _replayed(pending, memo, run)
    sent = []
    await _render_and_publish(topic_ref, action, target, template, context, sent)
    return sent[0]


async def _render_and_publish(
    ref: TopicRef,
    action: str,
    target: str,
    template: str | None,
    context: dict[str, Any] | None,
    sent: list[Message],
) -> dict[str, Any]:
    html = await sync_to_async(render_fragment)(template, context) if template else ""
    sent.append(await publish(_message(ref, action, target, html)))
    return {"id": sent[0].id, "seq": sent[0].seq}


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
    topic_ref = _prepare(ref, action, target, template)
    run = current_run()
    if run is not None and not in_step():
        pending = _placeholder(topic_ref, action, target)
        sent: list[Message] = []
        memo = run.sync_step().run(
            _step_id(pending, step_id),
            _render_and_publish_sync,
            topic_ref,
            action,
            target,
            template,
            context,
            sent,
        )
        return sent[0] if sent else _replayed(pending, memo, run)
    sent = []
    _render_and_publish_sync(topic_ref, action, target, template, context, sent)
    return sent[0]


def _render_and_publish_sync(
    ref: TopicRef,
    action: str,
    target: str,
    template: str | None,
    context: dict[str, Any] | None,
    sent: list[Message],
) -> dict[str, Any]:
    html = render_fragment(template, context) if template else ""
    sent.append(publish_sync(_message(ref, action, target, html)))
    return {"id": sent[0].id, "seq": sent[0].seq}
