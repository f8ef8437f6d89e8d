"""What ``POST /bench/publish`` asks for, and its messages on that schedule: one place for
the Django view (``views.publish_view``) and the server's floor (``floor.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any


@dataclasses.dataclass(frozen=True)
class PublishSpec:
    """The body ``{"channel": "bench:x", "count": N, "rate": R, "size": B}``."""

    channel: str
    count: int
    rate: float
    pad: str

    @classmethod
    def parse(cls, body: bytes) -> PublishSpec:
        spec = json.loads(body)
        return cls(
            channel=str(spec["channel"]),
            count=int(spec["count"]),
            rate=float(spec.get("rate", 0)),
            pad="x" * int(spec.get("size", 0)),
        )

    async def messages(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """Each message's index and data (``t``: the wall-clock time it is handed out),
        ``rate`` per second on a fixed schedule (0: back to back), yielding to the event
        loop once after each."""
        started = time.monotonic()
        for i in range(self.count):
            if self.rate > 0:
                delay = started + i / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield i, {"i": i, "t": time.time(), "p": self.pad}
            await asyncio.sleep(0)
