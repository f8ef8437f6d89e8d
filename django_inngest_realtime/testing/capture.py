"""Record what is published, for assertions in tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from django_inngest_realtime.envelope import Message
from django_inngest_realtime.signals import message_published


class CapturedMessages(list[Message]):
    """The messages published while capturing, in order."""

    def on(self, channel: str, topic: str | None = None) -> list[Message]:
        """Those published on ``channel`` (and ``topic``, when given)."""
        return [m for m in self if m.channel == channel and (topic is None or m.topic == topic)]

    def data(self, channel: str, topic: str | None = None) -> list[Any]:
        """The ``data`` of those published on ``channel`` (and ``topic``), leaving out run
        status messages (see :meth:`statuses`)."""
        return [m.data for m in self.on(channel, topic) if m.kind != "run"]

    def statuses(self, channel: str, topic: str | None = None) -> list[str]:
        """The run statuses (``running``, ``completed``...) published on ``channel`` (and
        ``topic``), in order."""
        return [m.data["status"] for m in self.on(channel, topic) if m.kind == "run"]


@contextlib.contextmanager
def capture_messages() -> Iterator[CapturedMessages]:
    """Capture every message published in this process inside the ``with`` block."""
    captured = CapturedMessages()
    lock = threading.Lock()

    def record(sender: object, message: Message, **kwargs: Any) -> None:
        with lock:
            captured.append(message)

    message_published.connect(record, weak=False)
    try:
        yield captured
    finally:
        message_published.disconnect(record)
