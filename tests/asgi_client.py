"""A minimal ASGI HTTP client that streams the response body and can disconnect."""

from __future__ import annotations

import asyncio
from typing import Any


class StreamingResponse:
    def __init__(
        self, app: Any, path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver"), *(headers or [])],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        self.app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._started = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.buffer = ""

    async def __aenter__(self) -> StreamingResponse:
        await self._inbox.put({"type": "http.request", "body": b"", "more_body": False})
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        await asyncio.wait_for(self._started.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def _receive(self) -> dict[str, Any]:
        return await self._inbox.get()

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            self._started.set()
        elif message["type"] == "http.response.body":
            await self.chunks.put(message.get("body", b""))

    async def read_event(self, timeout: float = 10) -> str:
        """Return the next complete SSE event (comments included)."""
        while "\n\n" not in self.buffer:
            chunk = await asyncio.wait_for(self.chunks.get(), timeout)
            self.buffer += chunk.decode()
        event, self.buffer = self.buffer.split("\n\n", 1)
        return event

    async def read_data_event(self, timeout: float = 10) -> str:
        """Skip comments; return the next event that carries data."""
        while True:
            event = await self.read_event(timeout)
            if any(line.startswith("data: ") for line in event.split("\n")):
                return event

    async def disconnect(self) -> None:
        if self.task is not None and not self.task.done():
            await self._inbox.put({"type": "http.disconnect"})
            await asyncio.wait_for(self.task, 10)
