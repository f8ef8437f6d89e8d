"""Serialized origins (``https://app.example.com``): parsing, and the check of
``ALLOWED_ORIGINS`` entries that ``conf`` runs when the settings are read."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def parse_origin(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a serialized origin, or None if it is not one."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def check_allowed_origins(value: tuple[str, ...]) -> None:
    """Raise ``ImproperlyConfigured`` for an entry that is neither ``"*"`` nor an origin."""
    for entry in value:
        if entry != "*" and (not isinstance(entry, str) or parse_origin(entry) is None):
            raise ImproperlyConfigured(
                f"INNGEST_REALTIME['ALLOWED_ORIGINS'] entries are origins such as "
                f"'https://app.example.com' (scheme, host and optional port, no path) or '*', "
                f"not {entry!r}."
            )
