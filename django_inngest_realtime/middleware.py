"""Inngest SDK glue: the middleware that binds a function run to ``publish()`` and
publishes the run's lifecycle (``run_status.py``), and the function that publishes the
ends the SDK never sees (a run that failed outside it, a cancelled run).

The middleware is an ``inngest.MiddlewareSync``, so one class serves async and sync
functions. Its hooks that publish do so in place on the sync path; on the async path they
return the coroutine, which inngest 0.5's middleware manager awaits (it awaits whatever a
hook returns there; ``pyproject.toml`` pins inngest below 0.6).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Awaitable

import inngest

from django_inngest_realtime import run_status
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.run_context import RunContext, set_current_run
from django_inngest_realtime.run_status import Outcome

#: Inngest's system events: runs they trigger (failure handlers, cleanups, the function
#: below) publish no status of their own.
SYSTEM_EVENT_PREFIX = "inngest/"
FAILED_EVENT = "inngest/function.failed"
CANCELLED_EVENT = "inngest/function.cancelled"
#: The id (within the app) of the function :func:`run_status_function` makes.
RUN_STATUS_FUNCTION_ID = "inngest-realtime-run-status"
#: Inngest's default retries of a function without ``retries`` (so 5 attempts).
DEFAULT_RETRIES = 4


class RealtimeMiddleware(inngest.MiddlewareSync):
    """Attaches the run to ``publish()`` and publishes its status; for async and sync
    functions."""

    def __init__(self, client: inngest.Inngest, raw_request: object) -> None:
        super().__init__(client, raw_request)
        self._run: RunContext | None = None
        self._async = False
        #: Whether this run's status is published (``RUN_STATUS``, not a system event's run).
        self._tracked = False
        self._final_attempt = False
        self._outcome: Outcome | None = None

    def transform_input(  # type: ignore[override]  # returns an awaitable on the async path
        self,
        ctx: inngest.Context | inngest.ContextSync,
        function: inngest.Function[typing.Any],
        steps: inngest.StepMemos,
    ) -> Awaitable[object] | None:
        run = RunContext(step=ctx.step, run_id=ctx.run_id, fn_id=function.id, memo_count=steps.size)
        set_current_run(run)
        self._run = run
        self._async = isinstance(ctx.step, inngest.Step)
        self._tracked = get_config().RUN_STATUS and not ctx.event.name.startswith(
            SYSTEM_EVENT_PREFIX
        )
        self._final_attempt = ctx.attempt >= _retries(function)
        if not self._tracked or steps.size:
            return None  # a run starts with no memoized steps (its retries too: sent once)
        if self._async:
            return run_status.begin(run.run_id, run.fn_id)
        run_status.begin_sync(run.run_id, run.fn_id)
        return None

    def transform_output(self, result: inngest.TransformOutputResult) -> None:
        if not self._tracked or result.step is not None:
            return  # a step's result: the run goes on
        if result.error is None:
            if result.has_output():
                self._outcome = Outcome.completed(result.output)
        elif self._final_attempt or getattr(result.error, "is_retriable", True) is False:
            # Named as the SDK reports it to Inngest (and Inngest in inngest/function.failed).
            self._outcome = Outcome.failed(type(result.error).__name__, str(result.error))

    def before_response(self) -> Awaitable[object] | None:  # type: ignore[override]
        run, self._run = self._run, None
        set_current_run(None)
        if run is None or not self._tracked or (self._outcome is None and not run.targets):
            return None
        outcome = self._outcome or Outcome.running()
        targets = list(run.targets)
        if self._async:
            return run_status.end(run.run_id, run.fn_id, outcome, targets)
        run_status.end_sync(run.run_id, run.fn_id, outcome, targets)
        return None


def realtime_middleware() -> type[RealtimeMiddleware]:
    """Return the middleware class to pass to ``inngest.Inngest(middleware=[...])``."""
    return RealtimeMiddleware


@functools.lru_cache(maxsize=1024)
def _retries_of(function: inngest.Function[typing.Any]) -> int:
    for step in function.get_config("").main.steps.values():
        if step.retries is not None:
            return step.retries.attempts
    return DEFAULT_RETRIES


def _retries(function: inngest.Function[typing.Any]) -> int:
    """How many times Inngest retries ``function`` after its first attempt."""
    try:
        return _retries_of(function)
    except Exception:  # an SDK whose config reads differently: Inngest's default
        return DEFAULT_RETRIES


def run_status_function(client: inngest.Inngest) -> inngest.Function[typing.Any]:
    """The function that publishes the ends of runs the SDK never sees end: runs Inngest
    cancelled (``inngest/function.cancelled``) and runs that failed outside your code
    (``inngest/function.failed``: a timeout, a step output over the limit...).

    Add it to the functions you serve: ``serve_inngest(client, [*functions,
    run_status_function(client)])``. Only runs of this app that publish status are
    concerned (these events come for every app of the environment), and a run whose end
    was already published is left alone.
    """

    @client.create_function(
        fn_id=RUN_STATUS_FUNCTION_ID,
        name="Inngest Realtime: run status",
        trigger=[
            inngest.TriggerEvent(event=FAILED_EVENT),
            inngest.TriggerEvent(event=CANCELLED_EVENT),
        ],
    )
    def publish_run_end(ctx: inngest.ContextSync) -> str:
        data = ctx.event.data
        run_id = data.get("run_id")
        if not isinstance(run_id, str) or not run_id or not get_config().RUN_STATUS:
            return "skipped"
        fn_id = str(data.get("function_id") or "")
        if ctx.event.name == CANCELLED_EVENT:
            outcome = Outcome.cancelled()
        else:
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            outcome = Outcome.failed(
                str(error.get("name") or "Error"), str(error.get("message") or "")
            )
        sent = run_status.end_sync(run_id, fn_id, outcome, known_only=True)
        return f"{outcome.status}: {len(sent)} message(s)" if sent else "already published"

    return publish_run_end
