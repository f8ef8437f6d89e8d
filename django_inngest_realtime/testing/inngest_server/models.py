"""What the double records: functions, runs, steps, calls, events and realtime publishes."""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
from typing import Any, Literal

from django_inngest_realtime.testing.inngest_server.expressions import (
    Expression,
    compile_expression,
)
from django_inngest_realtime.testing.inngest_server.timeouts import Timeouts

#: Inngest's default when a function does not set ``retries``: 4 retries, 5 attempts.
DEFAULT_RETRIES = 4
#: Function options that change which runs happen or which events they see: refused.
REFUSED_CONFIG = ("batchEvents", "debounce", "cancel", "rateLimit", "idempotency", "singleton")
#: Function options that only limit how fast runs go: accepted and ignored.
IGNORED_CONFIG = ("concurrency", "throttle", "priority")

#: ``Queued`` only while a run waits for its event's future ``ts``.
RunStatus = Literal["Queued", "Running", "Completed", "Failed", "Cancelled"]
FINISHED: tuple[RunStatus, ...] = ("Completed", "Failed", "Cancelled")


class RegistrationError(ValueError):
    """A synced function the double cannot run faithfully."""


@dataclasses.dataclass(frozen=True)
class Trigger:
    event: str | None = None
    expression: Expression | None = None
    cron: str | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        if self.event is None or not fnmatch.fnmatchcase(str(event.get("name")), self.event):
            return False
        return self.expression is None or self.expression.evaluate({"event": event})


@dataclasses.dataclass(frozen=True)
class FunctionDef:
    """A synced function: its composite id, where to call it, its triggers, retries and
    ``timeouts``."""

    id: str
    name: str
    url: str
    triggers: tuple[Trigger, ...]
    retries: int
    app_url: str
    config: dict[str, Any]
    ignored_config: tuple[str, ...] = ()
    timeouts: Timeouts = dataclasses.field(default_factory=Timeouts)

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    @classmethod
    def from_config(cls, config: dict[str, Any], app_url: str, strict: bool) -> FunctionDef:
        fn_id = str(config.get("id", ""))
        present = [key for key in REFUSED_CONFIG if config.get(key)]
        if present and strict:
            raise RegistrationError(
                f"function {fn_id!r} uses {', '.join(present)}, which the Inngest server "
                "double does not implement (pass allow_unsupported_config=True to ignore)."
            )
        try:
            step = config["steps"]["step"]
            url = str(step["runtime"]["url"])
        except (KeyError, TypeError):
            raise RegistrationError(f"function {fn_id!r} has no steps.step.runtime.url") from None
        attempts = (step.get("retries") or {}).get("attempts")
        triggers = []
        for raw in config.get("triggers") or []:
            if "cron" in raw:
                triggers.append(Trigger(cron=str(raw["cron"])))
                continue
            expression = raw.get("expression")
            triggers.append(
                Trigger(
                    event=str(raw["event"]),
                    expression=compile_expression(expression, ("event",)) if expression else None,
                )
            )
        try:
            timeouts = Timeouts.from_config(config.get("timeouts"))
        except ValueError as exc:
            raise RegistrationError(f"function {fn_id!r} has invalid timeouts: {exc}") from None
        ignored = tuple(key for key in (*IGNORED_CONFIG, *REFUSED_CONFIG) if config.get(key))
        return cls(
            id=fn_id,
            name=str(config.get("name") or fn_id),
            url=url,
            triggers=tuple(triggers),
            retries=DEFAULT_RETRIES if attempts is None else int(attempts),
            app_url=app_url,
            config=config,
            ignored_config=ignored,
            timeouts=timeouts,
        )


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One operation the SDK reported, and what the server did with it.

    ``op`` is the SDK's opcode (``StepRun``, ``StepError``, ``StepFailed``, ``StepPlanned``,
    ``Sleep``, ``WaitForEvent``, ``InvokeFunction``); ``data`` is the memoized value (the
    step's output, the matched event, or ``None`` after a sleep or a timed-out wait).
    """

    id: str
    op: str
    display_name: str
    data: Any = None
    error: dict[str, Any] | None = None
    attempt: int = 0
    opts: dict[str, Any] | None = None
    timed_out: bool = False


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """One call request sent to the app."""

    step_id: str
    attempt: int
    status: int
    signed: bool
    response_signature_ok: bool | None = None


@dataclasses.dataclass
class Run:
    """A function run. The server hands out copies; they do not change under you."""

    run_id: str
    function_id: str
    event: dict[str, Any]
    status: RunStatus = "Running"
    output: Any = None
    error: dict[str, Any] | None = None
    steps: list[StepRecord] = dataclasses.field(default_factory=list)
    calls: list[CallRecord] = dataclasses.field(default_factory=list)
    #: ``{"event": name, "if": expression, "timeout": ...}`` while a wait is pending.
    waiting_for: dict[str, Any] | None = None
    sleeping_until: datetime.datetime | None = None
    #: When the run was created, or, for a run queued until its event's ``ts``, started.
    started_at: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )
    ended_at: datetime.datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def ops(self) -> list[str]:
        """The opcodes reported so far, in order."""
        return [step.op for step in self.steps]

    def step(self, display_name: str) -> StepRecord:
        """The last record of the step called ``display_name`` (KeyError if none)."""
        for record in reversed(self.steps):
            if record.display_name == display_name:
                return record
        raise KeyError(f"run {self.run_id} has no step named {display_name!r}")

    def copy(self) -> Run:
        return dataclasses.replace(self, steps=list(self.steps), calls=list(self.calls))


@dataclasses.dataclass(frozen=True)
class PublishedMessage:
    """A ``POST /v1/realtime/publish`` the double received (``accepted`` False if refused)."""

    channel: str
    topic: str
    data: Any
    headers: dict[str, str]
    accepted: bool = True
