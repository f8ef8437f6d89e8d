"""The function run the current code belongs to, as the realtime middleware set it.

With ``middleware.py`` this is the only place that reaches into the ``inngest`` SDK's
execution. It relies on two details of inngest 0.5 (pinned in ``pyproject.toml``): the
step context variable set around a function call, and the context variable that marks
code running inside ``step.run``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import uuid

import inngest
from inngest._internal import execution_lib
from inngest._internal.execution_lib import models as _execution_models

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
    #: (channel, topic) pairs this request published to, in order (run status goes to them).
    targets: dict[tuple[str, str], None] = dataclasses.field(default_factory=dict)

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

    def published_to(self, channel: str, topic: str) -> None:
        """Remember that this run published on (channel, topic) (``run_status.py``)."""
        self.targets[(channel, topic)] = None


_current_run: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "inngest_realtime_run", default=None
)


def set_current_run(run: RunContext | None) -> None:
    """Bind ``run`` to the code that runs next in this context (the middleware calls it)."""
    _current_run.set(run)


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
