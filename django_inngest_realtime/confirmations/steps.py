"""Function-side API: ``request_confirmation`` / ``wait_for_confirmation`` and sync twins.

Each call is made of memoized steps, so Inngest's replays never repeat their effects:

- ``<key>`` (``step.run``) creates the row, idempotent per (run id, step key), and
  publishes the prompt;
- ``<key>:check`` (``step.run``) reads the row: a decision made before the wait began
  is returned at once (Inngest has no lookback for ``wait_for_event``);
- ``<key>:wait`` (``step.wait_for_event``) waits for the reply event of this token;
- ``<key>:resolve`` (``step.run``) reads the row again: it, not the event, is the
  truth; on timeout it marks the row expired unless a decision beat the timeout.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Sequence
from typing import Any

import inngest
import pydantic
from asgiref.sync import sync_to_async

from django_inngest_realtime.confirmations.creation import (
    ConfirmationRequest,
    create_async,
    create_sync,
    spec,
)
from django_inngest_realtime.confirmations.state import (
    Decision,
    Status,
    decision_of,
    expire,
    remaining,
)
from django_inngest_realtime.models import Confirmation
from django_inngest_realtime.topics import ChannelRef


def _check(token: str) -> dict[str, Any]:
    confirmation = Confirmation.objects.select_related("decided_by").get(token=token)
    if confirmation.status == Status.PENDING and not confirmation.is_overdue:
        left = remaining(confirmation)
        # Inngest takes whole seconds; rounding up keeps the wait past ``expires_at``.
        return {"pending": True, "timeout_s": max(math.ceil(left.total_seconds()), 1)}
    if confirmation.status == Status.PENDING:
        confirmation = expire(confirmation)
    return {"pending": False, "decision": _as_dict(confirmation)}


def _resolve(token: str, timed_out: bool) -> dict[str, Any] | None:
    confirmation = Confirmation.objects.select_related("decided_by").get(token=token)
    if confirmation.status == Status.PENDING:
        if not timed_out:
            # The reply is only sent after the decision commits: a lagging replica. Retry.
            raise RuntimeError(
                f"A reply event for confirmation {token} arrived but the database still "
                "shows it pending; retrying the step."
            )
        confirmation = expire(confirmation)
    return _as_dict(confirmation)


def _as_dict(confirmation: Confirmation) -> dict[str, Any] | None:
    decision = decision_of(confirmation)
    return decision.to_dict() if decision else None


def _wait_args(confirmation: ConfirmationRequest, timeout_s: int) -> dict[str, Any]:
    return {
        "event": confirmation.event_name,
        "if_exp": f'async.data.token == "{confirmation.token}"',
        "timeout": datetime.timedelta(seconds=timeout_s),
    }


def _decision(value: dict[str, Any] | None) -> Decision | None:
    return Decision.from_dict(value) if value else None


def _handle(confirmation: ConfirmationRequest | Confirmation) -> ConfirmationRequest:
    if isinstance(confirmation, Confirmation):
        return ConfirmationRequest.from_model(confirmation)
    if isinstance(confirmation, ConfirmationRequest):
        return confirmation
    raise TypeError("Pass what request_confirmation() returned (or a Confirmation).")


async def request_confirmation(
    ctx: inngest.Context,
    *,
    channel: ChannelRef | str,
    topic: str,
    message: str,
    timeout: str | datetime.timedelta,
    title: str = "",
    assignees: Iterable[Any] = (),
    groups: Iterable[Any] = (),
    response_schema: type[pydantic.BaseModel] | str | None = None,
    options: Sequence[str] = (),
    multiple: bool = False,
    default: bool | str | Sequence[str] | None = None,
    step_id: str = "confirmation",
) -> ConfirmationRequest:
    """Create a confirmation (once per run and step) and publish its prompt."""
    spec_ = spec(
        ctx, step_id, channel, topic, message, timeout, title=title, assignees=assignees,
        groups=groups, response_schema=response_schema, options=options, multiple=multiple,
        default=default,
    )  # fmt: skip
    out = await ctx.step.run(spec_["key"], create_async, spec_)
    return ConfirmationRequest.model_validate(out)


def request_confirmation_sync(
    ctx: inngest.ContextSync,
    *,
    channel: ChannelRef | str,
    topic: str,
    message: str,
    timeout: str | datetime.timedelta,
    title: str = "",
    assignees: Iterable[Any] = (),
    groups: Iterable[Any] = (),
    response_schema: type[pydantic.BaseModel] | str | None = None,
    options: Sequence[str] = (),
    multiple: bool = False,
    default: bool | str | Sequence[str] | None = None,
    step_id: str = "confirmation",
) -> ConfirmationRequest:
    """Synchronous :func:`request_confirmation`, for sync Inngest functions."""
    spec_ = spec(
        ctx, step_id, channel, topic, message, timeout, title=title, assignees=assignees,
        groups=groups, response_schema=response_schema, options=options, multiple=multiple,
        default=default,
    )  # fmt: skip
    out = ctx.step.run(spec_["key"], create_sync, spec_)
    return ConfirmationRequest.model_validate(out)


async def wait_for_confirmation(
    ctx: inngest.Context, confirmation: ConfirmationRequest | Confirmation
) -> Decision | None:
    """Wait for the decision; on timeout, the default as a ``Decision`` (``timed_out``), or
    ``None`` when the confirmation has no default."""
    handle = _handle(confirmation)
    key, token = handle.key, handle.token
    first = await ctx.step.run(f"{key}:check", sync_to_async(_check), token)
    if not first["pending"]:
        return _decision(first["decision"])
    event = await ctx.step.wait_for_event(f"{key}:wait", **_wait_args(handle, first["timeout_s"]))
    final = await ctx.step.run(f"{key}:resolve", sync_to_async(_resolve), token, event is None)
    return _decision(final)


def wait_for_confirmation_sync(
    ctx: inngest.ContextSync, confirmation: ConfirmationRequest | Confirmation
) -> Decision | None:
    """Synchronous :func:`wait_for_confirmation`, for sync Inngest functions."""
    handle = _handle(confirmation)
    key, token = handle.key, handle.token
    first = ctx.step.run(f"{key}:check", _check, token)
    if not first["pending"]:
        return _decision(first["decision"])
    event = ctx.step.wait_for_event(f"{key}:wait", **_wait_args(handle, first["timeout_s"]))
    final = ctx.step.run(f"{key}:resolve", _resolve, token, event is None)
    return _decision(final)
