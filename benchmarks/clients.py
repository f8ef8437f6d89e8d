"""Load-generating clients: subscriber processes holding many WebSocket or SSE connections.

Each worker process opens its share of the connections (bounded concurrency), reports
``ready``, and on ``go`` counts every benchmark message each connection receives and its
publish-to-receipt latency (from the ``t`` in its data) until every connection has what
it expects, nothing arrives for ``idle_timeout`` seconds, or ``deadline`` passes. It
reports its own CPU time, so a saturated load generator shows.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import re
import resource
import time
from typing import Any

import httpx

from benchmarks.wsclient import WebSocketClient

Pipe = multiprocessing.connection.Connection

#: ``"i":<index>,"t":<time>`` in any of the servers' encodings.
TICK = re.compile(rb'"i":\s*(\d+),\s*"t":\s*([0-9.eE+-]+)')


@dataclasses.dataclass
class ClientSpec:
    """What one worker process does."""

    kind: str  # "ws" or "sse"
    urls: list[str]  # one per connection
    expected: int  # messages each connection should receive
    connect_concurrency: int = 100
    idle_timeout: float = 10.0
    deadline: float = 120.0


@dataclasses.dataclass
class ClientResult:
    connected: int
    failed: int
    connect_started: float
    connect_ended: float
    received: list[int]  # distinct messages per connection
    duplicates: int
    latencies: bytes  # array("d") of seconds
    first_receipt: float
    last_receipt: float
    cpu_seconds: float
    errors: list[str]


class Tally:
    """What the connections of one worker received."""

    def __init__(self, connections: int, expected: int) -> None:
        self.expected = expected
        self.seen = [bytearray(expected) for _ in range(connections)]
        self.counts = [0] * connections
        self.duplicates = 0
        self.complete = 0
        self.latencies = array.array("d")
        self.first = 0.0
        self.last = 0.0
        self.done = asyncio.Event()

    def feed(self, index: int, payload: bytes) -> None:
        now = time.time()
        seen = self.seen[index]
        for match in TICK.finditer(payload):
            i = int(match[1])
            if i >= self.expected:
                continue
            if seen[i]:
                self.duplicates += 1
                continue
            seen[i] = 1
            self.latencies.append(now - float(match[2]))
            self.counts[index] += 1
            if self.counts[index] == self.expected:
                self.complete += 1
                if self.complete == len(self.counts):
                    self.done.set()
            if not self.first:
                self.first = now
            self.last = now


class Connections:
    """The open connections of one worker."""

    def __init__(self, spec: ClientSpec, tally: Tally) -> None:
        self.spec, self.tally = spec, tally
        self.sockets: list[WebSocketClient] = []
        self.streams: list[asyncio.Task[None]] = []
        self.errors: list[str] = []
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(60, read=None),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        )

    async def open_all(self) -> int:
        limit = asyncio.Semaphore(self.spec.connect_concurrency)

        async def one(index: int) -> bool:
            async with limit:
                try:
                    await asyncio.wait_for(self._open(index), 60)
                except Exception as exc:
                    self.errors.append(f"connection {index}: {type(exc).__name__}: {exc}")
                    return False
            return True

        return sum(await asyncio.gather(*(one(i) for i in range(len(self.spec.urls)))))

    async def _open(self, index: int) -> None:
        url = self.spec.urls[index]
        if self.spec.kind == "ws":
            feed = self.tally.feed
            self.sockets.append(await WebSocketClient.connect(url, lambda b: feed(index, b)))
            return
        opened = asyncio.Event()
        task = asyncio.create_task(self._read_sse(url, index, opened))
        self.streams.append(task)
        waiter = asyncio.create_task(opened.wait())
        try:
            await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not opened.is_set():
            reason = _failure(task)
            self.streams.remove(task)
            task.cancel()
            raise ConnectionError(reason)

    async def _read_sse(self, url: str, index: int, opened: asyncio.Event) -> None:
        async with self.http.stream("GET", url) as res:
            res.raise_for_status()
            buffer = b""
            async for chunk in res.aiter_raw():
                buffer += chunk
                end = buffer.rfind(b"\n\n")
                if end < 0:
                    continue
                events, buffer = buffer[: end + 2], buffer[end + 2 :]
                opened.set()  # the first event: the server has registered this listener
                self.tally.feed(index, events)

    def lost(self) -> list[str]:
        """Why connections ended before they were closed (all should still be open)."""
        lost = [c.closed.result() for c in self.sockets if c.closed.done()]
        return lost + [_failure(t) for t in self.streams if t.done()]

    async def close_all(self) -> None:
        for client in self.sockets:
            client.close()
        for task in self.streams:
            task.cancel()
        pending: list[asyncio.Future[Any]] = [c.closed for c in self.sockets]
        pending += self.streams
        if pending:
            await asyncio.wait(pending, timeout=10)
        await self.http.aclose()


async def _run(spec: ClientSpec, conn: Pipe) -> None:
    tally = Tally(len(spec.urls), spec.expected)
    connections = Connections(spec, tally)
    started, cpu_started = time.time(), time.process_time()
    connected = await connections.open_all()
    ended = time.time()
    ready = {"connected": connected, "failed": len(spec.urls) - connected}
    conn.send(("ready", {**ready, "cpu_seconds": time.process_time() - cpu_started}))
    command = await asyncio.to_thread(conn.recv)
    if command == "go":
        cpu0 = time.process_time()
        if spec.expected:
            await _collect(tally, spec)
        cpu = time.process_time() - cpu0
        conn.send(("done", _result(connections, tally, connected, (started, ended), cpu)))
        await asyncio.to_thread(conn.recv)  # "close": once the parent has read the servers' CPU
    await connections.close_all()
    conn.send(("closed", None))


def _result(
    connections: Connections,
    tally: Tally,
    connected: int,
    connecting: tuple[float, float],
    cpu: float,
) -> ClientResult:
    errors = connections.errors + [f"connection lost: {r}" for r in connections.lost()]
    return ClientResult(
        connected=connected,
        failed=len(connections.spec.urls) - connected,
        connect_started=connecting[0],
        connect_ended=connecting[1],
        received=tally.counts,
        duplicates=tally.duplicates,
        latencies=tally.latencies.tobytes(),
        first_receipt=tally.first,
        last_receipt=tally.last,
        cpu_seconds=cpu,
        errors=errors[:20],
    )


async def _collect(tally: Tally, spec: ClientSpec) -> None:
    """Wait until every connection has everything, or progress stops, or the deadline."""
    deadline = time.monotonic() + spec.deadline
    last_progress, last_total = time.monotonic(), -1
    while not tally.done.is_set() and time.monotonic() < deadline:
        total = sum(tally.counts)
        if total != last_total:
            last_progress, last_total = time.monotonic(), total
        elif time.monotonic() - last_progress > spec.idle_timeout:
            return
        try:
            await asyncio.wait_for(tally.done.wait(), 0.2)
        except TimeoutError:
            pass


def _failure(task: asyncio.Task[None]) -> str:
    if not task.done():
        return "still open"
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc else "closed by the server"


def worker(spec: ClientSpec, conn: Pipe) -> None:
    """Entry point of a client process."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_run(spec, conn))


class ClientPool:
    """Client processes: start them, wait for ``ready``, say ``go``, collect the results,
    then ``close`` (the connections stay open until then, so closing them costs the servers
    nothing inside a measurement)."""

    def __init__(self, specs: list[ClientSpec]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.procs: list[Any] = []
        for spec in specs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(spec, child), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def _receive(self, pipe: Pipe, what: str, timeout: float) -> Any:
        if not pipe.poll(timeout):
            raise TimeoutError(f"a client process sent no {what!r} within {timeout:.0f} s")
        tag, value = pipe.recv()
        if tag != what:
            raise RuntimeError(f"a client process sent {tag!r}, expected {what!r}")
        return value

    def ready(self, timeout: float) -> list[dict[str, Any]]:
        """Each worker's ``connected`` and ``failed`` counts, and the CPU seconds it spent
        connecting."""
        return [self._receive(pipe, "ready", timeout) for pipe in self.pipes]

    def send(self, command: str) -> None:
        for pipe in self.pipes:
            pipe.send(command)

    def results(self, timeout: float) -> list[ClientResult]:
        return [self._receive(pipe, "done", timeout) for pipe in self.pipes]

    def close(self, timeout: float = 30) -> None:
        """Close every connection and wait until the workers have."""
        self.send("close")
        for pipe in self.pipes:
            self._receive(pipe, "closed", timeout)

    def stop(self) -> None:
        """End the workers (after ``close``, or at once on an error)."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("close")
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
