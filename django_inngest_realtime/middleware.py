"""Inngest SDK glue: the middleware that binds a function run to ``publish()``.

This module and the confirmations' step helpers are the only places that reach into
the ``inngest`` SDK. It relies on two execution details of inngest 0.5 (pinned in
``pyproject.toml``): the step context variable set around a function call, and the
context variable that marks code running inside ``step.run``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import typing
import uuid

import inngest
from inngest._internal import execution_lib
from inngest._internal.execution_lib import models as _execution_models

from django_inngest_realtime.client import get_inngest_client
from django_inngest_realtime.envelope import Message

_NAMESPACE = uuid.UUID("6c1b1c1e-9a43-4a7e-9d0e-6a1d2f3b4c5d")


@dataclasses.dataclass
class RunContext:
    """The function run the current code belongs to."""

    step: inngest.Step | inngest.StepSync
    run_id: str
    fn_id: str
    #: Memoized steps when this request started: with ``published`` it gives each
    #: message an id that is the same when the same code runs again after a retry.
    memo_count: int
    published: int = 0

    def async_step(self) -> inngest.Step:
        """The run's step tools, for code in an async function."""
        if not isinstance(self.step, inngest.Step):
            raise TypeError(
                "This is a sync Inngest function: use publish_sync() / publish_stream_sync()."
            )
        return self.step

    def sync_step(self) -> inngest.StepSync:
        """The run's step tools, for code in a sync function."""
        if not isinstance(self.step, inngest.StepSync):
            raise TypeError(
                "This is an async Inngest function: use `await publish(...)` / publish_stream()."
            )
        return self.step

    def next_message_id(self) -> str:
        self.published += 1
        key = f"{self.run_id}:{self.memo_count}:{self.published}"
        return uuid.uuid5(_NAMESPACE, key).hex


_current_run: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "inngest_realtime_run", default=None
)


def current_run() -> RunContext | None:
    """Return the run whose function is executing here, or ``None`` outside any run."""
    run = _current_run.get()
    if run is None:
        return None
    try:
        if execution_lib.get_step_context() is not run.step:
            return None
    except LookupError:
        return None
    return run


def in_step() -> bool:
    """True inside a ``step.run`` handler."""
    return bool(_execution_models._in_step.get())


class RealtimeMiddleware(inngest.MiddlewareSync):
    """Attaches the run to ``publish()``; works for async and sync functions."""

    def transform_input(
        self,
        ctx: inngest.Context | inngest.ContextSync,
        function: inngest.Function[typing.Any],
        steps: inngest.StepMemos,
    ) -> None:
        _current_run.set(
            RunContext(step=ctx.step, run_id=ctx.run_id, fn_id=function.id, memo_count=steps.size)
        )

    def before_response(self) -> None:
        _current_run.set(None)


def realtime_middleware() -> type[RealtimeMiddleware]:
    """Return the middleware class to pass to ``inngest.Inngest(middleware=[...])``."""
    return RealtimeMiddleware


async def forward_to_inngest(message: Message) -> None:
    """Send a message of any kind to Inngest's hosted realtime through ``INNGEST_CLIENT``, as
    Inngest's SDKs publish (with the run's ``run_id``; streams streamed: ``forwarding.py``).

    Raises ``forwarding.ForwardError`` when Inngest refuses it.
    """
    from django_inngest_realtime.forwarding import forward

    await forward(get_inngest_client(), message)
