"""Waiting out SQLite's "database is locked".

SQLite has one writer at a time. A statement that must wait for it waits up to the
connection's ``timeout``, except where waiting could deadlock: a transaction that has read
and then wants to write while another connection writes is refused at once. The app's own
writes (a decision, a notice's outcome, a run's status) are small and must not be lost, so
they run again, with a short backoff, until the other writer is done. Other databases wait
on their locks themselves and never see this.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection

T = TypeVar("T")

#: How long a write is retried while SQLite reports "locked", in seconds.
LOCKED_RETRY_SECONDS = 10.0


def when_unlocked(write: Callable[[], T], *, seconds: float = LOCKED_RETRY_SECONDS) -> T:
    """Call ``write``; while it fails with SQLite's "locked", call it again (backing off,
    for at most ``seconds``). Inside the caller's transaction it runs once: a retry of a
    statement is no retry of the transaction around it, which is the caller's."""
    if connection.in_atomic_block:
        return write()
    deadline = time.monotonic() + seconds
    delay = 0.005
    while True:
        try:
            return write()
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 0.2)
