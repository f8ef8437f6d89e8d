"""Function ``timeouts`` and runs scheduled for their event's future ``ts``.

Inngest (docs, "Cancel on timeouts"): "``timeouts.start`` limits how long a run waits in
the queue for the first step to start. Once the first attempt of a step begins, the
``timeouts.start`` property no longer applies. Instead, the ``timeouts.finish`` duration
begins." "Step duration is unaffected by timeouts": a step that is executing finishes, then
the run is cancelled. Inngest's executor starts a run at its event's ``ts`` when that is in
the future ("Schedule functions in the future if there's a future event ``ts`` field").

The double compresses server-side delays (``time_scale``, ``max_sleep``). So that a sleep
and a timeout still happen in the order their real durations give, each run keeps a clock:
real time spent (calls, waits ended by an event) plus the full length of every delay that
ran out. A delay that would carry the clock past ``finish`` cancels the run when the
deadline comes, compressed like the delay around it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from django_inngest_realtime.testing.inngest_server.timing import parse_duration

T = TypeVar("T")
Timer = Callable[[float], Awaitable[None]]

#: ``run.error`` of a cancelled run, as in Inngest's ``inngest/function.cancelled`` event.
CANCELLED_ERROR = {"name": "Error", "message": "function cancelled"}


class RunCancelled(Exception):
    """The run is cancelled (a timeout passed); ``reason`` says which."""


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """A function's ``timeouts`` in seconds; ``None``: no such timeout."""

    start: float | None = None
    finish: float | None = None

    @classmethod
    def from_config(cls, raw: Any) -> Timeouts:
        """From the sync payload's ``timeouts`` (``{"start": "10s", "finish": "1h"}``)."""
        if not raw:
            return cls()
        if not isinstance(raw, dict):
            raise ValueError(f"timeouts must be an object, not {raw!r}")
        start, finish = (raw.get(key) for key in ("start", "finish"))
        return cls(
            start=parse_duration(str(start)) if start else None,
            finish=parse_duration(str(finish)) if finish else None,
        )


async def queued(delay: float, start: float | None, timer: Timer) -> None:
    """Wait ``delay`` seconds (a future ``ts``) before the run starts; a ``start`` timeout
    shorter than that cancels the run when it passes."""
    if start is not None and start < delay:
        await timer(start)
        raise RunCancelled(f"not started within timeouts.start ({start:g} s)")
    if delay > 0:
        await timer(delay)


class RunClock:
    """Seconds since the run started, on which ``timeouts.finish`` is enforced."""

    def __init__(self, finish: float | None) -> None:
        self.finish = finish
        self.cancelled = False
        self._started = time.monotonic()
        self._skipped = 0.0

    def now(self) -> float:
        return time.monotonic() - self._started + self._skipped

    def check(self) -> None:
        """Cancel the run if its ``finish`` deadline has passed (Inngest checks before
        each step, and cancels a run whose step outlived the deadline)."""
        left = self._left()
        if left is not None and left < 0:
            self._cancel()

    async def sleep(self, seconds: float, timer: Timer) -> None:
        """A server-side delay of ``seconds`` (compressed by ``timer``)."""
        begun, left = self.now(), self._left()
        if left is not None and seconds > left:
            await timer(max(left, 0.0))
            self._cancel()
        await timer(seconds)
        self._advance_to(begun + seconds)

    async def wait(
        self, seconds: float | None, awaitable: Awaitable[T], timed_out: Callable[[T], bool]
    ) -> T:
        """Something that ends on its own (an event, a child run) or after ``seconds``
        (compressed), such as ``wait_for_event``; real time counts while it waits."""
        begun, left = self.now(), self._left()
        if left is None or (seconds is not None and seconds <= left):
            result = await awaitable
        else:
            task = asyncio.ensure_future(awaitable)
            try:
                done, _ = await asyncio.wait({task}, timeout=max(left, 0.0))
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            if not done or timed_out(task.result()):
                self._cancel()  # its timeout would come after the deadline
            result = task.result()
        if seconds is not None and timed_out(result):
            self._advance_to(begun + seconds)
        return result

    def _left(self) -> float | None:
        return None if self.finish is None else self.finish - self.now()

    def _advance_to(self, instant: float) -> None:
        self._skipped += max(0.0, instant - self.now())

    def _cancel(self) -> NoReturn:
        self.cancelled = True
        raise RunCancelled(f"not finished within timeouts.finish ({self.finish:g} s)")
