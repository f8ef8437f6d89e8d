"""Live WebSocket frames handed to the server's own ASGI ``send`` from the hub's call
(uvicorn, Hypercorn, Daphne without direct writes): see :class:`SendWriter`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from django_inngest_realtime.transports.wire import Wakers

if TYPE_CHECKING:
    from django_inngest_realtime.subscriber import Frame


class SendWriter(Wakers):
    """Hands a subscription's live frames to the server's ASGI ``send`` from the hub's
    own call, without a task wake-up per frame: a frame's ``send`` is run at once and
    almost always completes without waiting (uvicorn, Hypercorn and Daphne write to the
    transport and return).

    A ``send`` that has to wait (the transport's buffer is full) is finished by a task;
    until then the writer is paused, so later frames queue in the subscriber, in order,
    and its owner sends them (and a client too slow to drain is closed as ``"slow"``).
    A ``send`` that fails (the connection is gone) leaves the writer paused for good:
    the owner's own ``send`` meets the same end.
    """

    __slots__ = ("_pending", "_send", "_wakers", "paused")

    def __init__(self, send: Any) -> None:
        self._send = send
        self._wakers: list[Callable[[], None]] = []
        self._pending: asyncio.Task[None] | None = None
        self.paused = False

    def write(self, data: str) -> bool:
        """Send one text frame; False when it cannot be sent now (the caller queues it)."""
        if self.paused:
            return False
        coro = self._send({"type": "websocket.send", "text": data})
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return True
        except Exception:
            self.paused = True  # the connection is gone
            return False
        # The send waits (on the transport): a task finishes it, later frames queue.
        self.paused = True
        self._pending = asyncio.get_running_loop().create_task(self._finish(coro, waiting_on))
        return True

    async def _finish(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        """Run ``coro`` on from where it waits on ``waiting_on``, as a task would; wake the
        owner once it is done."""
        try:
            while True:
                if waiting_on is None:  # a bare yield (``asyncio.sleep(0)``)
                    await asyncio.sleep(0)
                elif asyncio.isfuture(waiting_on):
                    waiting_on._asyncio_future_blocking = False
                    await asyncio.wait((waiting_on,))
                else:
                    raise RuntimeError(f"send yielded {waiting_on!r}, not a future")
                try:
                    waiting_on = coro.send(None)
                except StopIteration:
                    break
        except asyncio.CancelledError:
            # As a task's cancel: what the send waits on is cancelled, and so is the send.
            if asyncio.isfuture(waiting_on):
                waiting_on.cancel()
            with contextlib.suppress(BaseException):
                coro.throw(asyncio.CancelledError())
            coro.close()
            raise
        except Exception:
            coro.close()
            return  # the connection is gone: paused for good
        finally:
            self._pending = None
        self.paused = False
        for wake in list(self._wakers):
            wake()

    def close(self) -> None:
        """Stop writing; a send still under way is cancelled."""
        self.paused = True
        self._wakers.clear()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


def frame_text(frame: Frame) -> str:
    """What a :class:`SendWriter` is given for a live frame: its JSON text."""
    return frame.text
