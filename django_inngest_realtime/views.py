"""HTTP transports: the SSE endpoint, Inngest's token endpoint and the token-refresh view."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from django_inngest_realtime import origins, signing_keys
from django_inngest_realtime.sse import Refused, check_origin, open_stream
from django_inngest_realtime.tokens import (
    TokenError,
    bearer_key,
    get_subscription_token,
    server_subscription_key,
    verify_token,
)


def _error(status: int, reason: str, code: int | None = None) -> JsonResponse:
    return JsonResponse(Refused(status, reason, code).body, status=status)


@require_http_methods(["GET", "OPTIONS"])
async def sse(request: HttpRequest) -> HttpResponseBase:
    """``GET /v1/realtime/sse?token=KEY[&since=N][&topics=a,b][&format=html]``: a
    ``text/event-stream``; ``format=html`` sends live-HTML fragments (``html.py``).

    The key may come in ``Authorization: Bearer KEY`` instead. ``Last-Event-ID`` (sent by
    browsers when they reconnect) takes precedence over ``since``. Browsers on this site or
    on an origin in ``ALLOWED_ORIGINS`` only (CORS without credentials; ``OPTIONS`` answers
    preflights). ``routing.http_application`` serves the same URL in front of Django,
    lighter; this view serves it for projects that do not wrap their HTTP application.
    """
    origin = request.headers.get("Origin")
    try:
        check_origin(origin, request.get_host())
    except Refused as exc:
        return _error(exc.status, exc.reason, exc.code)
    if request.method == "OPTIONS":
        response: HttpResponseBase = HttpResponse(status=204, headers=origins.PREFLIGHT_HEADERS)
    else:
        try:
            sub, encode = await open_stream(
                request.GET, request.headers.get, lambda: request_user(request)
            )
        except Refused as exc:
            response = _error(exc.status, exc.reason, exc.code)
        else:
            response = sub.sse_response(encode=encode)
    for name, value in origins.cors_headers(origin).items():
        response[name] = value
    return response


@require_GET
async def presence_view(request: HttpRequest) -> HttpResponse:
    """``GET /v1/realtime/presence?token=KEY``: who is subscribed to the token's channel
    now (a ``presence=True`` channel), as ``{"channel", "members": [...]}``."""
    from django_inngest_realtime.presences import has_presence, presence

    try:
        key = request.GET.get("token") or bearer_key(request.headers.get("Authorization"))
        scope = verify_token(key, user=await request_user(request))
    except TokenError as exc:
        return _error(exc.status, exc.reason, exc.code)
    if not has_presence(scope.channel):
        return _error(404, f"Channel {scope.channel!r} does not track presence.")
    members = [m.to_dict() for m in await presence(scope.channel)]
    return JsonResponse({"channel": scope.channel, "members": members})


@csrf_exempt
@require_POST
def inngest_token(request: HttpRequest) -> HttpResponse:
    """``POST /v1/realtime/token``: Inngest's token endpoint, for an Inngest SDK's
    ``getSubscriptionToken`` on the project's servers (server to server).

    Authenticated by the signing key (``signing_keys.py``), not by a session: the key it
    answers (``201 {"jwt": KEY}``) carries no user and skips the channel's ``authorize``,
    as on Inngest. Body: ``[{"channel": "post:1", "name": "updated", "kind": "run"}, ...]``.
    """
    if not signing_keys.authenticated(request.headers.get("Authorization")):
        return _error(401, "Not authenticated")
    try:
        channel, topics = _inngest_topics(json.loads(request.body or b"null"))
    except ValueError as exc:  # JSONDecodeError included
        return _error(400, f"Invalid request: must provide a list of topics ({exc})")
    try:
        key = server_subscription_key(channel, topics)
    except LookupError as exc:
        return _error(404, str(exc))
    return JsonResponse({"jwt": key}, status=201)


def _inngest_topics(topics: Any) -> tuple[str, list[str]]:
    """The channel and topic names of Inngest's token request body."""
    if not isinstance(topics, list) or not topics:
        raise ValueError("expected a non-empty list of {channel, name, kind} objects.")
    for item in topics:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(field), str) and item[field] for field in ("channel", "name")
        ):
            raise ValueError(f"each topic needs a 'channel' and a 'name' (got {item!r:.80}).")
        if item.get("kind", "run") != "run":
            raise ValueError(f"only 'run' topics exist here (got kind {item['kind']!r:.40}).")
    channels = {item["channel"] for item in topics}
    if len(channels) != 1:
        raise ValueError("a token covers exactly one channel.")
    return channels.pop(), [item["name"] for item in topics]


@require_POST
def token_refresh(request: HttpRequest) -> HttpResponse:
    """``POST /v1/realtime/token/refresh``: a fresh token for the signed-in (or anonymous)
    user, for ``realtime.js`` on this site's pages.

    Body: ``{"channel": "post:1", "topics": ["updated"]}`` (JSON or form data), or
    Inngest's shape ``[{"channel": "post:1", "name": "updated"}, ...]``. CSRF-protected,
    same origin only (no CORS), runs the channel's ``authorize``.
    """
    try:
        channel, topics = _token_request(request)
    except ValueError as exc:
        return _error(400, str(exc))
    try:
        token = get_subscription_token(channel, topics or None, request=request)
    except PermissionDenied as exc:
        return _error(403, str(exc) or "Not allowed.")
    except LookupError as exc:
        return _error(404, str(exc))
    return JsonResponse({**token, "jwt": token["key"]})


def _token_request(request: HttpRequest) -> tuple[str, list[str]]:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise ValueError("The body is not JSON.") from None
    else:
        body = {"channel": request.POST.get("channel"), "topics": request.POST.getlist("topics")}
    if isinstance(body, list):  # Inngest's token request shape
        return _inngest_topics(body)
    if not isinstance(body, dict):
        raise ValueError("Expected a JSON object with 'channel' and 'topics'.")
    channel, topics = body.get("channel"), body.get("topics") or []
    if not isinstance(channel, str) or not channel:
        raise ValueError("'channel' is required.")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ValueError("'topics' must be a list of names.")
    return channel, topics


async def request_user(request: HttpRequest) -> Any:
    """The request's user; anonymous without ``AuthenticationMiddleware`` (token-only access)."""
    if hasattr(request, "auser"):
        return await request.auser()
    return AnonymousUser()
