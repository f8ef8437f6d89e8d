"""Signed subscription tokens: scoped to one channel and its listed topics, expiring,
optionally bound to the user they were issued to.

Keys are made with Django's signing (``SECRET_KEY``, a dedicated salt; keys signed with
a key in ``SECRET_KEY_FALLBACKS`` still verify, so secrets can be rotated).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from django.core import signing
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.topics import ChannelRef, registry

SALT = "django_inngest_realtime.subscription-token"


class TokenError(Exception):
    """A token was refused; ``code`` is the WebSocket close code, ``status`` the HTTP one."""

    code = 4401
    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenMalformed(TokenError):
    """Missing, truncated or not a token at all."""

    code, status = 4400, 400


class TokenInvalid(TokenError):
    """The signature does not verify (forged or tampered)."""

    code, status = 4401, 401


class TokenForbidden(TokenError):
    """Valid, but not for this user, channel or topic."""

    code, status = 4403, 403


class TokenExpired(TokenError):
    """Valid, but older than ``TOKEN_TTL``."""

    code, status = 4410, 410


@dataclasses.dataclass(frozen=True)
class TokenScope:
    """What a verified token allows."""

    channel: str
    topics: tuple[str, ...]
    user_id: str | None


def _user_id(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _resolve(channel: ChannelRef | str) -> ChannelRef:
    if isinstance(channel, ChannelRef):
        return channel
    try:
        return registry.resolve(channel)
    except ValueError as exc:
        raise LookupError(str(exc)) from None


def authorize(
    channel: ChannelRef | str, user: Any, request: HttpRequest | None = None
) -> ChannelRef:
    """Run the channel's ``authorize(user, **params)``; raise ``PermissionDenied`` if refused.

    An ``authorize`` that names a ``request`` parameter also gets the request the token is
    issued for (``None`` without one), to decide by the session, for example.
    """
    ref = _resolve(channel)
    check = ref.definition.authorize
    if check is None:
        return ref
    extra = {"request": request} if _takes_request(check) else {}
    if not check(user, **ref.params, **extra):
        raise PermissionDenied(f"Not allowed to subscribe to channel {ref.name!r}.")
    return ref


@functools.lru_cache(maxsize=256)
def _takes_request(check: Callable[..., bool]) -> bool:
    try:
        return "request" in inspect.signature(check).parameters
    except (TypeError, ValueError):  # a callable without a signature
        return False


def get_subscription_token(
    channel: ChannelRef | str,
    topics: Sequence[str] | None = None,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    bind_user: bool = True,
) -> dict[str, Any]:
    """Issue a token for ``topics`` of ``channel`` (all its topics by default).

    Runs the channel's ``authorize``; a refusal raises ``PermissionDenied``. With
    ``bind_user`` (the default) a token issued to a signed-in user only works for that user.
    Returns ``{"channel", "topics", "key", "apiBaseUrl"}``, the shape Inngest's
    JavaScript ``subscribe()`` takes; ``apiBaseUrl`` is ``API_BASE_URL``, else built from
    ``request``, and with neither it raises ``ImproperlyConfigured``.
    """
    base_url = api_base_url(request)
    if user is None and request is not None:
        user = getattr(request, "user", None)
    ref = authorize(channel, user, request)
    wanted = _topics(ref, topics)
    key = _sign(ref.name, wanted, _user_id(user) if bind_user else None)
    return {"channel": ref.name, "topics": wanted, "key": key, "apiBaseUrl": base_url}


def server_subscription_key(channel: ChannelRef | str, topics: Sequence[str] | None = None) -> str:
    """A key for ``topics`` of ``channel`` (all its topics by default) that carries no user
    and skips the channel's ``authorize``.

    For trusted server code only: what ``POST /v1/realtime/token`` answers an Inngest SDK
    that authenticated with the signing key (as Inngest's own server does). Raises
    ``LookupError`` for an unknown channel or topic.
    """
    ref = _resolve(channel)
    return _sign(ref.name, _topics(ref, topics), None)


def _topics(ref: ChannelRef, topics: Sequence[str] | None) -> list[str]:
    wanted = list(dict.fromkeys(topics)) if topics else ref.topics
    unknown = [t for t in wanted if t not in ref.definition.topics]
    if unknown or not wanted:
        raise LookupError(
            f"Channel {ref.name!r} has no topic(s) {unknown} (topics: {ref.topics or 'none'})."
        )
    return wanted


def _sign(channel: str, topics: list[str], user_id: str | None) -> str:
    return signing.dumps({"c": channel, "t": topics, "u": user_id}, salt=SALT, compress=True)


def api_base_url(request: HttpRequest | None = None) -> str:
    """The absolute base URL clients connect to: ``API_BASE_URL``, else the request's site.

    Inngest's clients build ``<apiBaseUrl>/v1/realtime/connect`` with ``new URL()``, which
    throws on a relative URL, so there is no relative fallback.
    """
    configured = get_config().API_BASE_URL
    if configured:
        if not configured.startswith(("http://", "https://")):
            raise ImproperlyConfigured(
                f"INNGEST_REALTIME['API_BASE_URL'] must be an absolute http(s) URL such as "
                f"'https://example.com/', not {configured!r}."
            )
        return configured
    if request is not None:
        return request.build_absolute_uri("/")
    raise ImproperlyConfigured(
        "A subscription token needs an absolute apiBaseUrl (Inngest's clients connect to "
        "<apiBaseUrl>/v1/realtime/connect): set INNGEST_REALTIME['API_BASE_URL'] (for example "
        "'https://example.com/'), or pass request= (template tags take the request from the "
        "template context: add 'django.template.context_processors.request')."
    )


def bearer_key(header: str | bytes | None) -> str | None:
    """The key in an ``Authorization: Bearer KEY`` header value, or None."""
    if isinstance(header, bytes):
        header = header.decode("latin1")
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def verify_token(
    key: Any,
    *,
    user: Any = None,
    channel: str | None = None,
    topics: Sequence[str] | None = None,
) -> TokenScope:
    """Check a key and return its scope, or raise the matching :class:`TokenError`.

    ``channel`` and ``topics``, when given, must lie within the token's scope.
    """
    if not isinstance(key, str) or not key or len(key) > 4096:
        raise TokenMalformed("No token, or not a token.")
    try:
        payload = signing.loads(key, salt=SALT, max_age=get_config().TOKEN_TTL)
    except signing.SignatureExpired:
        raise TokenExpired("The token has expired; ask for a new one.") from None
    except signing.BadSignature:
        if key.count(":") < 2:
            raise TokenMalformed("Not a token.") from None
        raise TokenInvalid("The token's signature does not verify.") from None
    except Exception:
        raise TokenMalformed("Not a token.") from None
    try:
        scope = TokenScope(
            channel=str(payload["c"]),
            topics=tuple(str(t) for t in payload["t"]),
            user_id=None if payload.get("u") is None else str(payload["u"]),
        )
    except (KeyError, TypeError):
        raise TokenMalformed("The token's content is not a subscription.") from None
    if scope.user_id is not None and scope.user_id != _user_id(user):
        raise TokenForbidden("The token was issued to another user.")
    if channel is not None and channel != scope.channel:
        raise TokenForbidden(f"The token is not for channel {channel!r}.")
    outside = [t for t in topics or () if t not in scope.topics]
    if outside:
        raise TokenForbidden(f"The token does not cover topic(s) {outside}.")
    return scope
