"""Live HTML: server-rendered fragments with DOM actions, rendered once per publish.

``publish_html(post_channel(1), "append", "comments", template=..., context=...)`` renders
the template once, checks the fragment (``fragments.py``) and publishes it as an ordinary
``data`` message on the channel's live-HTML topic::

    {"action": "append", "target": "comments", "html": "<li id=\\"comment-7\\">...</li>"}

Every viewer applies that same HTML (``widgets.js``, or htmx through the SSE endpoint's
``format=html``). Inngest's own clients see a plain JSON message.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any, Literal, get_args

import pydantic
from django.template.loader import render_to_string

from django_inngest_realtime.envelope import sse_event
from django_inngest_realtime.fragments import check_fragment
from django_inngest_realtime.topics import Channel, Topic

if TYPE_CHECKING:
    from django.db.models import Model

    from django_inngest_realtime.subscriptions import SseEncoder

Action = Literal["append", "prepend", "replace", "update", "remove", "before", "after"]
#: The DOM actions, as in Turbo Streams: each aimed at the element whose id is ``target``.
ACTIONS: tuple[str, ...] = get_args(Action)
#: Actions that put the fragment inside the target (the others act on the target itself).
INSERTS = ("append", "prepend", "update")
MAX_TARGET_LENGTH = 200
_SPACES = re.compile(r"\s+")
_TARGET = re.compile(rf"[^\s]{{1,{MAX_TARGET_LENGTH}}}")


def check_target(target: object) -> str:
    """Return ``target`` if it is a usable element id, else raise ``ValueError``."""
    if not isinstance(target, str) or not _TARGET.fullmatch(target):
        raise ValueError(
            f"A live-HTML target is an element id: 1 to {MAX_TARGET_LENGTH} characters "
            f"without spaces, got {target!r:.80}."
        )
    return target


class LiveHtml(pydantic.BaseModel):
    """The ``data`` of a live-HTML message; validating it checks the fragment."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    action: Action
    target: str
    #: The rendered fragment (empty for ``remove``).
    html: str = ""

    @pydantic.field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return check_target(value)

    @pydantic.model_validator(mode="after")
    def _fragment(self) -> LiveHtml:
        if self.action == "remove" and self.html:
            raise ValueError("'remove' carries no html.")
        check_fragment(self.html, f"The live-HTML fragment for #{self.target}")
        return self


class HtmlTopic(Topic):
    """A topic whose messages are :class:`LiveHtml`; made by :func:`html_topic`."""

    def __init__(self, name: str) -> None:
        super().__init__(name, pydantic.TypeAdapter(LiveHtml))


def html_topic(name: str = "html") -> HtmlTopic:
    """A live-HTML topic for ``channel(...).add_topic(html_topic())``."""
    return HtmlTopic(name)


def html_topic_names(definition: Channel) -> list[str]:
    """The names of a channel definition's live-HTML topics."""
    return [name for name, t in definition.topics.items() if isinstance(t, HtmlTopic)]


def html_topics_of(channel: str) -> frozenset[str]:
    """The live-HTML topics of a concrete channel name (none if no definition matches)."""
    from django_inngest_realtime.topics import registry

    try:
        return frozenset(html_topic_names(registry.resolve(channel).definition))
    except (LookupError, ValueError):
        return frozenset()


def dom_id(instance: Model, prefix: str = "") -> str:
    """The element id of a model instance: ``post-12`` (``prefix`` gives ``card-post-12``)."""
    if instance.pk is None:
        raise ValueError(f"dom_id() needs a saved {type(instance).__name__} (its pk is None).")
    model_name = instance._meta.model_name
    name = f"{model_name}-{_SPACES.sub('_', str(instance.pk))}"
    return check_target(f"{prefix}-{name}" if prefix else name)


def render_fragment(template: str, context: dict[str, Any] | None) -> str:
    """Render ``template`` (escaped by Django) and check the fragment, naming the template."""
    html = render_to_string(template, context or {})
    check_fragment(html, f"Template {template!r}")
    return html


def live_html(data: Any) -> LiveHtml | None:
    """``data`` as :class:`LiveHtml` if it has that shape and passes the checks, else ``None``."""
    try:
        return LiveHtml.model_validate(data)
    except (pydantic.ValidationError, ValueError):
        return None


def html_sse_encoder(channel: str) -> SseEncoder:
    """The SSE encoding of ``?format=html``: each live-HTML message of ``channel`` as an event
    named after its target, carrying the fragment (what htmx's ``sse-swap`` wants); other
    messages are skipped, a gap is an event named ``gap``."""
    topics = html_topics_of(channel)

    def encode(seq: int | None, frame: str) -> str | None:
        if seq is None:
            return sse_event(frame, event="gap")
        return _html_event(seq, frame, topics)

    return encode


@functools.lru_cache(maxsize=32)
def _html_event(seq: int, frame: str, topics: frozenset[str]) -> str | None:
    # Cached: every viewer in this process gets the same frame, decoded once.
    message = json.loads(frame)
    if message.get("kind") != "data" or message.get("topic") not in topics:
        return None
    data = live_html(message.get("data"))
    if data is None:
        return None
    # SSE ends a line at CR as well as LF: one kind of line end, split into data lines.
    html = data.html.replace("\r\n", "\n").replace("\r", "\n")
    return sse_event(html, event_id=str(seq), event=data.target)


__all__ = [
    "ACTIONS",
    "HtmlTopic",
    "LiveHtml",
    "check_target",
    "dom_id",
    "html_sse_encoder",
    "html_topic",
    "live_html",
    "render_fragment",
]
