"""Plain functions behind the template tags: resolve, authorize, render first, embed a token.

Each widget renders server-side from history, embeds the channel's position at render
time (so nothing published between render and subscribe is lost) and a token issued for
the current user; ``widgets.js`` then keeps it live. Message data is only ever inserted
as text, or through a template the developer supplied (Django escapes it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from django.core import signing
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
from django_inngest_realtime.tokens import get_subscription_token
from django_inngest_realtime.topics import ChannelRef

WIDGET_SALT = "django_inngest_realtime.widget"


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


def item_html(message: Message, template: str | None) -> SafeString:
    """One feed item: strings as text, objects as JSON text or through ``template``."""
    if isinstance(message.data, str):
        return conditional_escape(message.data)
    if template:
        return mark_safe(render_to_string(template, {"message": message, "data": message.data}))
    return conditional_escape(json.dumps(message.data, ensure_ascii=False))


def feed(
    request: HttpRequest | None,
    channel: ChannelRef | str,
    topics: Sequence[str] | None = None,
    *,
    limit: int = 50,
    template: str | None = None,
) -> SafeString:
    """A live list of messages, newest last, at most ``limit``."""
    token = issue(request, channel, topics)
    if isinstance(token, SafeString):
        return token
    messages, position = _kept(token["channel"], token["topics"])
    items = [(m, item_html(m, template)) for m in messages[-limit:]] if limit > 0 else []
    render_url = None
    if template:
        spec = signing.dumps({"c": token["channel"], "tpl": template}, salt=WIDGET_SALT)
        render_url = f"{reverse('django_inngest_realtime:render')}?w={spec}"
    return mark_safe(
        render_to_string(
            "django_inngest_realtime/widgets/feed.html",
            {
                "token": token,
                "position": position,
                "limit": limit,
                "items": items,
                "render_url": render_url,
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
