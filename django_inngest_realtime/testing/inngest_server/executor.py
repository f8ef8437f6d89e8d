"""Drives one function run over HTTP: call requests, opcodes, memoized state, retries,
size limits and timeouts."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from typing import Any

import httpx

from django_inngest_realtime.testing.inngest_server import limits
from django_inngest_realtime.testing.inngest_server.calls import (
    Reply,
    RunFailed,
    RunHost,
    call_app,
    double_error,
)
from django_inngest_realtime.testing.inngest_server.expressions import (
    ExpressionError,
    compile_expression,
)
from django_inngest_realtime.testing.inngest_server.models import FunctionDef, Run, StepRecord
from django_inngest_realtime.testing.inngest_server.timeouts import (
    CANCELLED_ERROR,
    RunCancelled,
    RunClock,
    queued,
)
from django_inngest_realtime.testing.inngest_server.timing import (
    now_ms,
    parse_duration,
    seconds_until,
)

#: More call requests than this for one run means the function is not deterministic.
MAX_CALLS_PER_RUN = 1000


__all__ = ["Executor", "RunFailed", "RunHost"]


class Executor:
    """One run: discovery calls, then each reported step resolved and memoized in turn."""

    def __init__(self, host: RunHost, fn: FunctionDef, run: Run, client: httpx.AsyncClient):
        self.host, self.fn, self.run, self.client = host, fn, run, client
        self.memo: dict[str, Any] = {}
        self.stack: list[str] = []
        self.disable_immediate_execution = False
        self.calls = 0
        self.state = limits.StateMeter(run.event)
        self.clock = RunClock(None)
        #: Seconds until the event's ``ts`` when it is in the future: the run is queued.
        self.delay = max(0.0, (int(run.event.get("ts") or 0) - now_ms()) / 1000)
        if self.delay > 0:
            run.status = "Queued"

    async def execute(self) -> None:
        try:
            await queued(self.delay, self.fn.timeouts.start, self.host.timer)
            self.clock = RunClock(self.fn.timeouts.finish)
            if self.run.status == "Queued":
                self.host.record(self.run, status="Running", started_at=_instant(0))
            output = await self._drive()
        except RunCancelled:
            self.host.record(self.run, status="Cancelled", error=dict(CANCELLED_ERROR))
        except RunFailed as failed:
            self.host.record(self.run, status="Failed", error=failed.error)
        except Exception as exc:
            error = {"name": "InngestServerDoubleError", "message": f"{type(exc).__name__}: {exc}"}
            self.host.record(self.run, status="Failed", error=error)
        else:
            self.host.record(self.run, status="Completed", output=output)

    async def _drive(self) -> Any:
        attempt = 0
        while True:
            reply = await self._call(None, attempt)
            if reply.error is not None:
                if reply.retriable and attempt + 1 < self.fn.max_attempts:
                    attempt += 1
                    await self._retry_pause(reply.retry_after)
                    continue
                raise RunFailed(reply.error)
            if reply.status == 200:
                return reply.output
            first = reply.ops[0]
            if len(reply.ops) == 1 and first["op"] == "StepError" and reply.retriable:
                if attempt + 1 < self.fn.max_attempts:
                    self._record(first, attempt=attempt, error=first.get("error"))
                    attempt += 1
                    await self._retry_pause(reply.retry_after)
                    continue
            if len(reply.ops) == 1:
                await self._resolve(first, attempt)
            else:
                # Parallel steps: from now on the SDK must plan every step (SDK spec 5.5).
                self.disable_immediate_execution = True
                try:
                    async with asyncio.TaskGroup() as group:
                        for op in reply.ops:
                            group.create_task(self._resolve(op, attempt))
                except BaseExceptionGroup as group_error:
                    raise _first(group_error) from None
            attempt = 0

    async def _resolve(self, op: dict[str, Any], attempt: int) -> None:
        code = op["op"]
        opts = op.get("opts") or {}
        if code == "StepRun":
            self._memoize(op, {"data": op.get("data")}, attempt=attempt, data=op.get("data"))
        elif code in ("StepError", "StepFailed"):
            error = op.get("error") or {"name": "Error", "message": "step failed"}
            self._memoize(op, {"error": error}, attempt=attempt, error=error)
        elif code == "StepPlanned":
            self._record(op)
            await self._run_planned(op)
        elif code == "Sleep":
            until = str(opts.get("duration") or op.get("name") or "")
            seconds = _parse(until, seconds_until, op, "sleep duration")
            self.host.record(self.run, sleeping_until=_instant(seconds))
            try:
                await self.clock.sleep(seconds, self.host.timer)
            finally:
                self.host.record(self.run, sleeping_until=None)
            self._memoize(op, None)
        elif code == "WaitForEvent":
            await self._wait(op, opts)
        elif code == "InvokeFunction":
            payload = opts.get("payload") or {}
            timeout = opts.get("timeout")
            limit = _parse(str(timeout), parse_duration, op, "timeout") if timeout else None
            invoked = self.host.invoke(
                self.run, str(opts.get("function_id")), payload.get("data"), limit
            )
            result = await self.clock.wait(limit, invoked, _invoke_timed_out)
            self._memoize(op, result, data=result.get("data"), error=result.get("error"))
        else:
            failure = double_error(
                "UnsupportedOpcode",
                f"The Inngest server double does not support the opcode {code!r} "
                f"(step {_display(op)!r} of function {self.fn.id!r}).",
            )
            self._record(op, attempt=attempt, error=failure.error)
            raise failure

    async def _wait(self, op: dict[str, Any], opts: dict[str, Any]) -> None:
        name = str(opts.get("event") or op.get("name") or "")
        source = opts.get("if")
        try:
            expression = compile_expression(str(source)) if source else None
        except ExpressionError as exc:
            raise double_error(
                "UnsupportedExpression", f"step {_display(op)!r}: wait_for_event: {exc}"
            ) from None
        timeout = _parse(str(opts.get("timeout") or ""), parse_duration, op, "timeout")
        self.host.record(self.run, waiting_for={"event": name, "if": source, "timeout": timeout})
        try:
            waited = self.host.wait_for_event(self.run, name, expression, timeout)
            event = await self.clock.wait(timeout, waited, lambda matched: matched is None)
        finally:
            self.host.record(self.run, waiting_for=None)
        self._memoize(op, event, data=event, timed_out=event is None)

    async def _run_planned(self, op: dict[str, Any]) -> None:
        attempt = 0
        while True:
            reply = await self._call(op["id"], attempt)
            found = [o for o in reply.ops if o.get("id") == op["id"]]
            if reply.error is None and (reply.status != 206 or len(found) != 1):
                raise double_error(
                    "StepNotFound",
                    f"planned step {_display(op)!r} was targeted, but the app answered "
                    f"HTTP {reply.status} with {reply.ops or reply.output!r}.",
                )
            result = found[0] if found else {}
            if reply.error is not None or result.get("op") == "StepError":
                if reply.retriable and attempt + 1 < self.fn.max_attempts:
                    if result:
                        self._record(result, attempt=attempt, error=result.get("error"))
                    attempt += 1
                    await self._retry_pause(reply.retry_after)
                    continue
                if reply.error is not None:
                    raise RunFailed(reply.error)
            if result.get("op") not in ("StepRun", "StepError", "StepFailed"):
                raise double_error(
                    "UnexpectedOpcode",
                    f"planned step {_display(op)!r} answered with opcode {result.get('op')!r}",
                )
            await self._resolve(result, attempt)
            return

    async def _retry_pause(self, retry_after: str | None) -> None:
        seconds = self.host.retry_seconds(retry_after)
        await self.clock.sleep(seconds, lambda s: self.host.retry_pause(retry_after, s))

    def _memoize(self, op: dict[str, Any], value: Any, **fields: Any) -> None:
        overflow = self.state.add(value, self.host.max_state_bytes)
        if overflow is not None:
            self._record(op, error=overflow)
            raise RunFailed(overflow)
        self.memo[op["id"]] = value
        self.stack.append(op["id"])
        self._record(op, **fields)

    def _record(self, op: dict[str, Any], **fields: Any) -> None:
        record = StepRecord(
            id=op["id"], op=op["op"], display_name=_display(op), opts=op.get("opts"), **fields
        )
        self.host.record(self.run, step=record)

    async def _call(self, step_id: str | None, attempt: int) -> Reply:
        self.calls += 1
        if self.calls > MAX_CALLS_PER_RUN:
            raise double_error(
                "TooManyCalls",
                f"{MAX_CALLS_PER_RUN} call requests without finishing: is the function "
                "deterministic (same steps, same ids, on every call)?",
            )
        body = self._request_body(attempt)
        call = asyncio.ensure_future(
            call_app(self.host, self.client, self.run, self.fn.url, body, step_id, attempt)
        )
        try:
            reply = await asyncio.shield(call)
        except asyncio.CancelledError:
            try:
                if self.clock.cancelled:  # another branch cancelled the run: this step finishes
                    await asyncio.wait({call})
            finally:
                call.cancel()
            raise
        self.clock.check()
        return reply

    def _request_body(self, attempt: int) -> dict[str, Any]:
        # Inngest's driver sends the memoized steps only while the run's state fits in a
        # request (MaxSDKRequestBodySize less 1 KiB); past that the SDK fetches them from
        # the API (``GET /v0/runs/{id}/actions``).
        use_api = self.state.size > limits.MAX_REQUEST_BYTES - 1024
        return {
            "event": self.run.event,
            "events": [self.run.event],
            "steps": {} if use_api else dict(self.memo),
            "use_api": use_api,
            "ctx": {
                "run_id": self.run.run_id,
                "fn_id": self.fn.id,
                "attempt": attempt,
                "max_attempts": self.fn.max_attempts,
                "disable_immediate_execution": self.disable_immediate_execution,
                "use_api": use_api,
                "stack": {"stack": list(self.stack), "current": len(self.stack)},
            },
        }


def _display(op: dict[str, Any]) -> str:
    return str(op.get("displayName") or op.get("name") or op.get("id"))


def _parse(text: str, parser: Callable[[str], float], op: dict[str, Any], what: str) -> float:
    try:
        return float(parser(text))
    except ValueError:
        raise double_error(
            "BadStepOptions", f"step {_display(op)!r} ({op['op']}): cannot read {what} {text!r}"
        ) from None


def _invoke_timed_out(result: dict[str, Any]) -> bool:
    return (result.get("error") or {}).get("name") == "InngestInvokeTimeoutError"


def _instant(seconds: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error
