"""Parsing JSON that clients send: request bodies and WebSocket frames.

``json.loads`` raises ``RecursionError`` on deeply nested input (a 500, and a crashed
consumer); here any such input is a ``ValueError`` the caller answers with a 400 (or
close code 4400), and nesting is limited far below the interpreter's limit.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting of arrays and objects accepted from a client.
MAX_DEPTH = 32


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON from a client; ``ValueError`` says what is wrong with it."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels.") from None
    except ValueError as exc:
        raise ValueError(f"Not JSON: {exc}") from None
    if _depth_over(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels.")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    level = [value]
    depth = 0
    while level:
        containers = [v for v in level if isinstance(v, (dict, list))]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
        ]
    return False
