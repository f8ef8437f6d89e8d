"""``{% load inngest_realtime %}``: live widgets over the functions in ``widgets.py``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from django_inngest_realtime import widgets
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
    template: str | None = None,
) -> SafeString:
    """A live list of messages (``topics`` a list or ``"a,b"``; ``template`` renders objects)."""
    return widgets.feed(
        context.get("request"), channel, _topics(topics), limit=int(limit), template=template
    )


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
def realtime_token(
    context: template.Context, channel: ChannelRef | str, topics: str | list[str] | None = None
) -> dict[str, Any] | SafeString:
    """``{% realtime_token ch "a,b" as token %}{{ token|json_script:"t" }}`` for custom JS.

    When refused, the value is the HTML comment saying why (rendering it shows nothing).
    """
    return widgets.issue(context.get("request"), channel, _topics(topics))
