"""Inngest time strings, ISO instants and ULID-shaped ids."""

from __future__ import annotations

import datetime
import os
import re
import time

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def parse_duration(text: str) -> float:
    """Seconds in a time string such as ``"1m30s"`` or ``"300ms"`` (ValueError if not one)."""
    text = text.strip()
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not an Inngest time string: {text!r}")
    return total


def parse_instant(text: str) -> datetime.datetime:
    """An ISO 8601 / RFC 3339 instant; naive values are taken as UTC."""
    value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def seconds_until(text: str) -> float:
    """Seconds from now to ``text``: an ISO instant or a time string (never negative)."""
    try:
        return parse_duration(text)
    except ValueError:
        pass
    delta = parse_instant(text) - datetime.datetime.now(datetime.UTC)
    return max(0.0, delta.total_seconds())


def now_ms() -> int:
    return int(time.time() * 1000)


def ulid() -> str:
    """A 26-character ULID (48-bit millisecond time + 80 random bits), like Inngest's ids."""
    value = (now_ms() << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
