"""The double's state and scheduling: functions, events, runs, waits, timers, invokes.

Everything here runs on the server's event loop; other threads read through
:class:`Engine`'s lock and wait on its condition.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import threading
from typing import Any

import httpx

from django_inngest_realtime.testing.inngest_server import limits
from django_inngest_realtime.testing.inngest_server.executor import Executor
from django_inngest_realtime.testing.inngest_server.expressions import Expression, ExpressionError
from django_inngest_realtime.testing.inngest_server.models import (
    FunctionDef,
    PublishedMessage,
    Run,
)
from django_inngest_realtime.testing.inngest_server.timing import now_ms, seconds_until, ulid

logger = logging.getLogger("django_inngest_realtime.testing.inngest_server")
FAILED_EVENT = "inngest/function.failed"
CANCELLED_EVENT = "inngest/function.cancelled"
INVOKED_EVENT = "inngest/function.invoked"


@dataclasses.dataclass
class Options:
    """Settings of one double; the mutable ones are read each time they apply."""

    signing_key: str | None = None
    signing_key_fallback: str | None = None
    event_key: str | None = None
    #: Multiplies every server-side delay (sleeps, wait and invoke timeouts, Retry-After,
    #: future event ``ts``, function timeouts).
    time_scale: float = 1.0
    #: Upper bound, in seconds, of any such delay after scaling; ``None``: no bound.
    max_sleep: float | None = None
    #: Seconds between retries when the app gives no ``Retry-After``.
    retry_delay: float = 0.05
    request_timeout: float = 60.0
    check_response_signatures: bool = True
    allow_unsupported_config: bool = False
    server_kind: str | None = None
    #: Inngest's limits, in bytes: one step's output, a run's state, one reply from the app.
    max_step_output_bytes: int = limits.MAX_STEP_OUTPUT_BYTES
    max_state_bytes: int = limits.MAX_STATE_BYTES
    max_response_bytes: int = limits.MAX_RESPONSE_BYTES


@dataclasses.dataclass
class _Wait:
    run: Run
    name: str
    expression: Expression | None
    future: asyncio.Future[dict[str, Any] | None]


class Engine:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.functions: dict[str, FunctionDef] = {}
        self.runs: dict[str, Run] = {}
        self.events: list[dict[str, Any]] = []
        self.published: list[PublishedMessage] = []
        self.errors: list[str] = []
        self.publish_refusal: tuple[int, dict[str, Any]] | None = None
        self.executors: dict[str, Executor] = {}
        self._waits: list[_Wait] = []
        self._done: dict[str, asyncio.Future[Run]] = {}
        self._seen_ids: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    # -- RunHost -----------------------------------------------------------------------
    @property
    def signing_key(self) -> str | None:
        return self.options.signing_key

    @property
    def signing_key_fallback(self) -> str | None:
        return self.options.signing_key_fallback

    @property
    def server_kind(self) -> str:
        return self.options.server_kind or ("cloud" if self.options.signing_key else "dev")

    @property
    def check_response_signatures(self) -> bool:
        return self.options.check_response_signatures

    @property
    def request_timeout(self) -> float:
        return self.options.request_timeout

    @property
    def max_step_output_bytes(self) -> int:
        return self.options.max_step_output_bytes

    @property
    def max_state_bytes(self) -> int:
        return self.options.max_state_bytes

    @property
    def max_response_bytes(self) -> int:
        return self.options.max_response_bytes

    def scaled(self, seconds: float) -> float:
        value = max(0.0, seconds * self.options.time_scale)
        cap = self.options.max_sleep
        return value if cap is None else min(value, cap)

    async def timer(self, seconds: float) -> None:
        await asyncio.sleep(self.scaled(seconds))

    def retry_seconds(self, retry_after: str | None) -> float:
        """The pause before a retry: what ``Retry-After`` asks for, else ``retry_delay``."""
        if not retry_after:
            return self.options.retry_delay
        try:
            return float(retry_after)
        except ValueError:
            return seconds_until(retry_after)

    async def retry_pause(self, retry_after: str | None, seconds: float) -> None:
        """``Retry-After`` is a server-side delay (scaled); ``retry_delay`` is real time."""
        await (self.timer(seconds) if retry_after else asyncio.sleep(seconds))

    def record(self, run: Run, **changes: Any) -> None:
        with self.changed:
            if "step" in changes:
                run.steps.append(changes.pop("step"))
            if "call" in changes:
                run.calls.append(changes.pop("call"))
            for name, value in changes.items():
                setattr(run, name, value)
            if run.finished and run.ended_at is None:
                run.ended_at = datetime.datetime.now(datetime.UTC)
                # Under the lock: whoever sees the run finished sees its system event too.
                self._finished(run)
            self.changed.notify_all()

    async def wait_for_event(
        self, run: Run, name: str, expression: Expression | None, timeout: float
    ) -> dict[str, Any] | None:
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        wait = _Wait(run, name, expression, future)
        self._waits.append(wait)
        try:
            return await asyncio.wait_for(future, self.scaled(timeout))
        except TimeoutError:
            return None
        finally:
            if wait in self._waits:
                self._waits.remove(wait)

    async def invoke(
        self, parent: Run, function_id: str, data: Any, timeout: float | None
    ) -> dict[str, Any]:
        fn = self.functions.get(function_id)
        if fn is None:
            return {"error": {"name": "Error", "message": f"function {function_id!r} not found"}}
        event = self.normalize({"name": INVOKED_EVENT, "data": data or {}})
        with self.lock:
            self.events.append(event)
        child = self.start_run(fn, event)
        done = self._done[child.run_id]
        try:
            finished = await asyncio.wait_for(
                asyncio.shield(done), None if timeout is None else self.scaled(timeout)
            )
        except TimeoutError:
            message = f"timed out waiting for the invoked function {function_id!r}"
            return {"error": {"name": "InngestInvokeTimeoutError", "message": message}}
        if finished.status == "Completed":
            return {"data": finished.output}
        return {"error": finished.error}

    # -- events and runs ---------------------------------------------------------------
    def normalize(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise ValueError(f"an event needs a non-empty string 'name': {raw!r}")
        event = dict(raw)
        event["data"] = event.get("data") or {}
        event["ts"] = int(event.get("ts") or now_ms())
        if not event.get("id"):
            event["id"] = ulid()
        return event

    def ingest(self, raw_events: list[Any]) -> list[str]:
        """Accept events (loop thread only): resume matching waits, start triggered runs."""
        events = [self.normalize(raw) for raw in raw_events]
        ids = []
        for event in events:
            internal_id = ulid()
            ids.append(internal_id)
            with self.changed:
                self.events.append(event)
                duplicate = event["id"] in self._seen_ids
                self._seen_ids.add(event["id"])
                self.changed.notify_all()
            if not duplicate:
                self._dispatch(event)
        return ids

    def _dispatch(self, event: dict[str, Any]) -> None:
        for wait in list(self._waits):
            if wait.name != event["name"] or wait.future.done():
                continue
            try:
                hit = wait.expression is None or wait.expression.evaluate(
                    {"event": wait.run.event, "async": event}
                )
            except ExpressionError as exc:
                # Inngest logs "error evaluating pause expression" and keeps waiting.
                self.error(f"run {wait.run.run_id} waiting for {wait.name!r}: {exc}")
                continue
            if hit:
                self._waits.remove(wait)
                wait.future.set_result(event)
        for fn in list(self.functions.values()):
            for trigger in fn.triggers:
                try:
                    hit = trigger.matches(event)
                except ExpressionError as exc:
                    self.error(f"trigger of {fn.id!r} on event {event['name']!r}: {exc}")
                    hit = False
                if hit:
                    self.start_run(fn, event)
                    break

    def start_run(self, fn: FunctionDef, event: dict[str, Any]) -> Run:
        if self._client is None:
            self._client = httpx.AsyncClient()
        run = Run(run_id=ulid(), function_id=fn.id, event=event)
        executor = Executor(self, fn, run, self._client)
        with self.changed:
            self.runs[run.run_id] = run
            self.executors[run.run_id] = executor
            self.changed.notify_all()
        self._done[run.run_id] = asyncio.get_running_loop().create_future()
        task = asyncio.get_running_loop().create_task(executor.execute())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    def _finished(self, run: Run) -> None:
        done = self._done.pop(run.run_id, None)
        if done is not None and not done.done():
            done.set_result(run.copy())
        system = {"Failed": FAILED_EVENT, "Cancelled": CANCELLED_EVENT}.get(run.status)
        if system and run.event.get("name") not in (FAILED_EVENT, CANCELLED_EVENT):
            data = {
                "function_id": run.function_id,
                "run_id": run.run_id,
                "error": run.error,
                "event": run.event,
            }
            self.ingest([{"name": system, "data": data}])

    def error(self, message: str) -> None:
        logger.error("inngest server double: %s", message)
        with self.changed:
            self.errors.append(message)
            self.changed.notify_all()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
