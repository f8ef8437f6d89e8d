"""Run an asyncio service on its own thread and loop, or on the caller's running loop,
and call into it safely from either side."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
S = TypeVar("S", bound="LoopService")


class LoopService:
    """Subclasses implement ``_serve()`` (start listening) and ``_shutdown()``."""

    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    async def _serve(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    def start(self: S) -> S:
        """Serve on a new thread with its own event loop; returns once listening."""
        if self._loop is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:
                failure.append(exc)
            ready.set()
            if not failure:
                loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=main, name=type(self).__name__, daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            self._loop = self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop a service started with :meth:`start` (or :meth:`start_async`, if not on it)."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        if thread is None:
            self._blocking(self.stop_async(), "stop_async()")
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._loop = self._thread = None

    async def start_async(self: S) -> S:
        """Serve on the running event loop (for example the test's own)."""
        if self._loop is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._loop = asyncio.get_running_loop()
        try:
            await self._serve()
        except BaseException:
            self._loop = None
            raise
        return self

    async def stop_async(self) -> None:
        if self._loop is None:
            return
        if self._thread is not None:
            await asyncio.to_thread(self.stop)
            return
        await self._shutdown()
        self._loop = None

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self: S) -> S:
        return await self.start_async()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()

    # -- calling in ----------------------------------------------------------------------
    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"start the {type(self).__name__} first")
        return self._loop

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _run(self, fn: Callable[[], T]) -> T:
        """Call the quick ``fn`` on the service's loop and return its result, from anywhere."""
        loop = self._require_loop()
        if self._on_loop():
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(30)

    def _blocking(self, coro: Coroutine[Any, Any, T], alternative: str) -> T:
        """Run ``coro`` on the service's loop and wait for it (never from that loop)."""
        loop = self._require_loop()
        if self._on_loop():
            coro.close()
            raise RuntimeError(
                f"this would block the event loop the service runs on: use `await {alternative}`"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def _aio(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the service's loop from any loop."""
        if self._on_loop():
            return await coro
        future = asyncio.run_coroutine_threadsafe(coro, self._require_loop())
        return await asyncio.wrap_future(future)
