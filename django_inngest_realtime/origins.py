"""Which browser origins may use the realtime endpoints: this site's own, and those listed in
``INNGEST_REALTIME["ALLOWED_ORIGINS"]`` (a separate frontend); and the CORS headers the SSE
endpoint answers them with.

The WebSocket and SSE endpoints authenticate by token, so a listed origin gets CORS
headers *without* credentials: its pages subscribe with tokens minted for them by their
own server, never with this site's cookies. Requests with no ``Origin`` (server-side
clients, which bring no cookies) are not browsers' and pass; they rely on their token.
"""

from __future__ import annotations

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.origin_names import DEFAULT_PORTS, parse_origin


def listed(origin: str) -> bool:
    """True when ``origin`` is in ``ALLOWED_ORIGINS`` (or the list holds ``"*"``)."""
    allowed = get_config().ALLOWED_ORIGINS
    if "*" in allowed:
        return True
    parsed = parse_origin(origin)
    return parsed is not None and any(parse_origin(entry) == parsed for entry in allowed)


def same_origin(origin: str, host: str | None) -> bool:
    """True when ``origin`` is the site the request came to (``host``: its validated
    ``Host``, port included when not the default)."""
    parsed = parse_origin(origin)
    if parsed is None or not host:
        return False
    domain, port = split_domain_port(host.lower())
    return (parsed[1], parsed[2]) == (domain.strip("[]"), int(port or DEFAULT_PORTS[parsed[0]]))


def allowed(origin: str | None, host: str | None) -> bool:
    """May a browser on ``origin`` use the endpoints of the site at ``host``?"""
    return origin is None or same_origin(origin, host) or listed(origin)


def websocket_host(headers: dict[bytes, bytes]) -> str | None:
    """The handshake's host as Django's ``request.get_host()`` finds it, or None when it is
    not in ``ALLOWED_HOSTS``."""
    host = headers.get(b"host", b"")
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        host = headers[b"x-forwarded-host"]
    text = host.decode("latin1").strip()
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(text)
    return text if domain and validate_host(domain, allowed_hosts) else None


def cors_headers(origin: str | None) -> dict[str, str]:
    """The CORS headers for a listed ``origin`` (no credentials), else none."""
    if origin is None or not listed(origin):
        return {}
    value = "*" if "*" in get_config().ALLOWED_ORIGINS else origin
    return {"Access-Control-Allow-Origin": value, "Vary": "Origin"}


#: What a cross-origin client may send to the SSE endpoint (answered to preflights).
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Last-Event-ID, Cache-Control",
    "Access-Control-Max-Age": "600",
}
