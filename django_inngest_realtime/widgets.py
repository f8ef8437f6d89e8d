"""Plain functions behind the template tags: resolve, authorize, render first, embed a token.

Each widget renders server-side from history, embeds the channel's position at render
time (so nothing published between render and subscribe is lost) and a token issued for
the current user; ``widgets.js`` then keeps it live. Message data is only ever inserted
as text, or as live HTML: fragments ``publish_html()`` rendered once from a developer's
template (escaped by Django) and checked (``fragments.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.envelope import Message
from django_inngest_realtime.fragments import UnsafeFragment, check_fragment
from django_inngest_realtime.html import INSERTS, check_target, html_topics_of
from django_inngest_realtime.tokens import get_subscription_token
from django_inngest_realtime.topics import ChannelRef


def refused_comment(channel: object, why: str) -> SafeString:
    """The only output of a widget the user may not see: an HTML comment saying why."""
    name = Truncator(str(channel)).chars(80)
    text = str(conditional_escape(f"inngest-realtime: {why} ({name})")).replace("--", "- -")
    return mark_safe(f"<!-- {text} -->")


def issue(
    request: HttpRequest | None, channel: ChannelRef | str, topics: Sequence[str] | None
) -> dict[str, Any] | SafeString:
    """A token for the request's user, or the refusal comment."""
    if request is not None:
        get_token(request)  # the CSRF cookie realtime.js sends when it refreshes tokens
    try:
        return get_subscription_token(channel, topics or None, request=request)
    except PermissionDenied:
        return refused_comment(channel, "not allowed to subscribe")
    except (LookupError, ValueError) as exc:
        return refused_comment(channel, f"no such channel or topic: {exc}")


def _kept(channel: str, topics: Sequence[str]) -> tuple[list[Message], int]:
    replay = get_broker().history_sync(channel, 0)
    return [m for m in replay.messages if m.topic in topics and m.kind == "data"], replay.position


def _text(message: Message) -> str:
    data = message.data
    return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)


def _feed_items(
    messages: list[Message], html_topics: frozenset[str], target: str | None, limit: int
) -> list[SafeString]:
    """The feed's first render: plain messages as text items; live-HTML messages aimed at the
    feed (``append``, ``prepend``, ``update``) as their fragments, in the order they came."""
    items: list[tuple[bool, str]] = []  # (is a fragment, text or html)
    if limit <= 0:
        return []
    for m in messages:
        if m.topic not in html_topics:
            items.append(
                (
                    False,
                    format_html(
                        '<li data-id="{}" data-seq="{}" data-topic="{}">{}</li>',
                        m.id,
                        m.seq,
                        m.topic,
                        _text(m),
                    ),
                )
            )
            del items[:-limit]
            continue
        data = m.data if isinstance(m.data, dict) else {}
        html = data.get("html")
        if (
            data.get("target") != target
            or data.get("action") not in INSERTS
            or not isinstance(html, str)
        ):
            continue
        if data["action"] == "prepend":  # newest first: the oldest go from the end
            items.insert(0, (True, html))
            del items[limit:]
        else:
            items = [*items, (True, html)] if data["action"] == "append" else [(True, html)]
            del items[:-limit]
    # Checked again (history may come from another process), only what is shown.
    return [mark_safe(html) for fragment, html in items if not fragment or _safe(html)]


def _safe(html: str) -> bool:
    try:
        check_fragment(html, "A stored live-HTML fragment")
    except UnsafeFragment:
        return False
    return True


def feed(
    request: HttpRequest | None,
    channel: ChannelRef | str,
    topics: Sequence[str] | None = None,
    *,
    limit: int = 50,
    id: str | None = None,
) -> SafeString:
    """A live list of messages, newest last, at most ``limit``: text, or live HTML (items
    ``publish_html()`` rendered once, aimed at the list's ``id``)."""
    if id is not None:
        check_target(id)
    token = issue(request, channel, topics)
    if isinstance(token, SafeString):
        return token
    messages, position = _kept(token["channel"], token["topics"])
    html_topics = html_topics_of(token["channel"]) & frozenset(token["topics"])
    return mark_safe(
        render_to_string(
            "django_inngest_realtime/widgets/feed.html",
            {
                "token": token,
                "position": position,
                "limit": limit,
                "id": id,
                "html_topics": ",".join(sorted(html_topics)),
                "items": _feed_items(messages, html_topics, id, limit),
            },
        )
    )


def live_html_source(
    request: HttpRequest | None, channel: ChannelRef | str, topics: Sequence[str] | None = None
) -> SafeString:
    """Applies what ``publish_html()`` sends on ``channel`` to this page's elements, from the
    position the page was rendered at (Turbo's ``turbo_stream_from``)."""
    name = channel.name if isinstance(channel, ChannelRef) else channel
    html_topics = html_topics_of(name)
    wanted = list(topics) if topics else sorted(html_topics)
    others = [t for t in wanted if t not in html_topics]
    if not wanted or others:
        why = f"not live-HTML topics: {', '.join(others)}" if others else "no live-HTML topic"
        return refused_comment(channel, why)
    token = issue(request, channel, wanted)
    if isinstance(token, SafeString):
        return token
    return mark_safe(
        render_to_string(
            "django_inngest_realtime/widgets/html.html",
            {
                "token": token,
                "position": get_broker().position_sync(token["channel"]),
                "html_topics": ",".join(wanted),
            },
        )
    )


def value(
    request: HttpRequest | None,
    channel: ChannelRef | str,
    topic: str,
    *,
    field: str | None = None,
    initial: Any = "",
) -> SafeString:
    """One value kept current: the latest message's ``field`` (or whole data)."""
    token = issue(request, channel, [topic])
    if isinstance(token, SafeString):
        return token
    messages, position = _kept(token["channel"], [topic])
    current = initial
    if messages:
        data = messages[-1].data
        current = data.get(field, initial) if field and isinstance(data, dict) else data
    return mark_safe(
        render_to_string(
            "django_inngest_realtime/widgets/value.html",
            {
                "token": token,
                "position": position,
                "field": field or "",
                "topic": topic,
                "value": current if isinstance(current, str) else json.dumps(current),
            },
        )
    )


def script_tags(nonce: str | None) -> SafeString:
    """The widgets' stylesheet, and ``<script>`` tags for ``realtime.js`` and ``widgets.js``
    (with the CSP nonce)."""
    from django.templatetags.static import static

    css = static("django_inngest_realtime/widgets.css")
    tags = [format_html('<link rel="stylesheet" href="{}">', css)] + [
        format_html(
            '<script src="{}" defer{}></script>',
            static(f"django_inngest_realtime/{js}"),
            format_html(' nonce="{}"', nonce) if nonce else "",
        )
        for js in ("realtime.js", "widgets.js")
    ]
    return mark_safe("\n".join(tags))


def confirmation_url_template() -> str:
    """The confirmation page's path with an all-zero token, for ``widgets.js`` to fill in."""
    try:
        return reverse("django_inngest_realtime:confirmation", args=[uuid.UUID(int=0)])
    except NoReverseMatch:
        return ""


def confirmations(request: HttpRequest | None, channel: ChannelRef | str, topic: str) -> SafeString:
    """Pending approvals announced on ``channel``/``topic``, with approve / reject buttons
    for users who may decide them; plain forms, so it works without JavaScript."""
    from django_inngest_realtime.confirmations.service import can_decide
    from django_inngest_realtime.confirmations.state import confirmation_url
    from django_inngest_realtime.models import Confirmation

    token = issue(request, channel, [topic])
    if isinstance(token, SafeString):
        return token
    user = getattr(request, "user", None)
    position = get_broker().position_sync(token["channel"])
    pending = Confirmation.objects.filter(
        channel=token["channel"], topic=topic, status=Confirmation.Status.PENDING
    ).order_by("requested_at")
    items = [
        {"c": c, "url": confirmation_url(c), "can_decide": can_decide(user, c)} for c in pending
    ]
    return mark_safe(
        render_to_string(
            "django_inngest_realtime/widgets/confirmations.html",
            {
                "token": token,
                "position": position,
                "topic": topic,
                "items": items,
                "csrf_token": get_token(request) if request is not None else "",
                "url_template": confirmation_url_template(),
            },
        )
    )
