"""``{% load inngest_realtime %}``: live widgets over the functions in ``widgets.py``."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Model
from django.template import TemplateSyntaxError
from django.utils.safestring import SafeString

from django_inngest_realtime import html, run_widget, widgets
from django_inngest_realtime.topics import ChannelRef

register = template.Library()


def _topics(value: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    return list(value)


@register.simple_tag(takes_context=True)
def inngest_realtime_script(context: template.Context) -> SafeString:
    """Include ``realtime.js`` and the widgets' script (passing a CSP nonce through)."""
    request = context.get("request")
    nonce = context.get("csp_nonce") or getattr(request, "csp_nonce", None)
    return widgets.script_tags(str(nonce) if nonce else None)


@register.simple_tag(takes_context=True)
def realtime_feed(
    context: template.Context,
    channel: ChannelRef | str,
    topics: str | list[str] | None = None,
    limit: int = 50,
    id: str | None = None,
    template: str | None = None,
) -> SafeString:
    """A live list of messages (``topics`` a list or ``"a,b"``); live-HTML messages aimed at
    its ``id`` are its items."""
    if template is not None:
        raise TemplateSyntaxError(
            f"realtime_feed no longer renders items with template={template!r} for each "
            "viewer: render them once when you publish, with publish_html(ref, 'append', "
            "'<feed id>', template=...), and give the feed id='<feed id>' and a live-HTML "
            "topic (docs/live-html.md)."
        )
    return widgets.feed(context.get("request"), channel, _topics(topics), limit=int(limit), id=id)


@register.simple_tag(takes_context=True)
def realtime_html(
    context: template.Context, channel: ChannelRef | str, topics: str | list[str] | None = None
) -> SafeString:
    """Apply what ``publish_html()`` sends on ``channel`` (its live-HTML topics) to this page."""
    return widgets.live_html_source(context.get("request"), channel, _topics(topics))


@register.filter
def dom_id(instance: Model, prefix: str = "") -> str:
    """``{{ post|dom_id }}`` -> ``post-12``: the element id live HTML aims at."""
    return html.dom_id(instance, prefix)


@register.simple_tag(takes_context=True)
def realtime_value(
    context: template.Context,
    channel: ChannelRef | str,
    topic: str,
    field: str | None = None,
    initial: Any = "",
) -> SafeString:
    """One value kept current, such as a like counter."""
    return widgets.value(context.get("request"), channel, topic, field=field, initial=initial)


@register.simple_tag(takes_context=True)
def realtime_confirmations(
    context: template.Context, channel: ChannelRef | str, topic: str
) -> SafeString:
    """Pending approvals on ``channel``/``topic`` with approve / reject buttons, kept live."""
    return widgets.confirmations(context.get("request"), channel, topic)


@register.simple_tag(takes_context=True)
def realtime_run_status(
    context: template.Context, channel: ChannelRef | str, topics: str | list[str] | None = None
) -> SafeString:
    """The status of the last Inngest run on ``channel`` (or of the run whose channel it is):
    running, completed, failed with its error message, cancelled; kept live."""
    return run_widget.run_status(context.get("request"), channel, _topics(topics))


@register.simple_tag(takes_context=True)
def realtime_token(
    context: template.Context, channel: ChannelRef | str, topics: str | list[str] | None = None
) -> dict[str, Any] | SafeString:
    """``{% realtime_token ch "a,b" as token %}{{ token|json_script:"t" }}`` for custom JS.

    When refused, the value is the HTML comment saying why (rendering it shows nothing).
    """
    return widgets.issue(context.get("request"), channel, _topics(topics))
