"""Run lifecycle messages: ``kind: "run"``, in the shape Inngest's v4 JavaScript client
reads (``useRealtime``'s ``runStatus`` and ``result``).

``{"status": "running"}`` when a run starts, then one of ``{"status": "completed",
"output": ...}``, ``{"status": "failed", "error": {"name", "message"}}`` or
``{"status": "cancelled"}``. The start goes to the run's own channel (``$run:<run_id>``);
the end goes there and to every (channel, topic) the run published on, so every
subscriber of those topics learns it. Each is sent once per run: a ``RunRecord`` row
holds the run's status, and only the request that moves it (one conditional ``UPDATE``)
sends; message ids are derived from the run and the status, so a client can also
dedupe. Everything goes through the broker like any publish (``publishing._deliver``).
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Iterable
from typing import Any

import pydantic_core
from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.utils import timezone

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.envelope import Message
from django_inngest_realtime.locked import when_unlocked
from django_inngest_realtime.publishing import _deliver, _deliver_sync
from django_inngest_realtime.run_channels import RUN_TOPIC, run_channel_ref, target_key

RUNNING, COMPLETED, FAILED, CANCELLED = "running", "completed", "failed", "cancelled"
_NAMESPACE = uuid.UUID("0b8f3c52-3f0e-4f7a-9d55-3c7c8f1f2a61")
#: Longest error message sent, in characters.
MAX_ERROR_MESSAGE = 2000
#: Runs recorded between two prunes of finished runs older than ``RUN_STATUS_TTL``.
PRUNE_EVERY = 64


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a run ended (or started): the status and what its message carries."""

    status: str
    data: dict[str, Any]

    @classmethod
    def running(cls) -> Outcome:
        return cls(RUNNING, {"status": RUNNING})

    @classmethod
    def completed(cls, output: Any) -> Outcome:
        """Completed; ``output`` is sent when it is JSON within ``MAX_PAYLOAD_BYTES``."""
        data: dict[str, Any] = {"status": COMPLETED}
        try:
            encoded = pydantic_core.to_json(output)
        except pydantic_core.PydanticSerializationError:
            encoded = None
        if encoded is not None and len(encoded) <= get_config().MAX_PAYLOAD_BYTES - 64:
            data["output"] = pydantic_core.from_json(encoded)
        else:
            data["output_omitted"] = True
        return cls(COMPLETED, data)

    @classmethod
    def failed(cls, name: str, message: str) -> Outcome:
        error = {"name": str(name)[:200], "message": str(message)[:MAX_ERROR_MESSAGE]}
        return cls(FAILED, {"status": FAILED, "error": error})

    @classmethod
    def cancelled(cls) -> Outcome:
        return cls(CANCELLED, {"status": CANCELLED})


def _messages(
    run_id: str, fn_id: str, outcome: Outcome, targets: Iterable[tuple[str, str]]
) -> list[Message]:
    own = (run_channel_ref(run_id).name, RUN_TOPIC)
    return [
        Message(
            id=uuid.uuid5(_NAMESPACE, f"{run_id}\x00{outcome.status}\x00{c}\x00{t}").hex,
            kind="run",
            channel=c,
            topic=t,
            data=outcome.data,
            run_id=run_id,
            fn_id=fn_id or None,
        )
        for c, t in dict.fromkeys([*targets, own])
    ]


def _record_targets(run_id: str, targets: Iterable[tuple[str, str]]) -> None:
    from django_inngest_realtime.models import RunTarget

    rows = [RunTarget(run_id=run_id, key=target_key(c, t), channel=c, topic=t) for c, t in targets]
    if rows:
        when_unlocked(lambda: RunTarget.objects.bulk_create(rows, ignore_conflicts=True))


def _begin(run_id: str, fn_id: str) -> list[Message]:
    """Record the run as running; its start message if this call recorded it."""
    from django_inngest_realtime.models import RunRecord

    try:  # not in a transaction of ours: on SQLite, a read then a write there is refused
        record, created = when_unlocked(
            lambda: RunRecord.objects.get_or_create(run_id=run_id, defaults={"fn_id": fn_id})
        )
    except IntegrityError:  # another request of the run recorded it meanwhile
        return []
    if not created:
        return []
    if record.pk % PRUNE_EVERY == 0:  # now and then, not on every run (as history is)
        prune_runs()
    return _messages(run_id, fn_id, Outcome.running(), ())


def prune_runs() -> int:
    """Delete the rows of runs that finished more than ``RUN_STATUS_TTL`` seconds ago;
    returns how many runs. Running runs are kept, however old."""
    from django_inngest_realtime.models import RunRecord, RunTarget

    cutoff = timezone.now() - datetime.timedelta(seconds=get_config().RUN_STATUS_TTL)
    old = RunRecord.objects.filter(updated_at__lt=cutoff).exclude(status=RUNNING)
    ids = list(old.values_list("run_id", flat=True)[:1000])
    if not ids:
        return 0

    def delete() -> int:
        with transaction.atomic():
            RunTarget.objects.filter(run_id__in=ids).delete()
            return RunRecord.objects.filter(run_id__in=ids).exclude(status=RUNNING).delete()[0]

    return when_unlocked(delete)


def _end(
    run_id: str,
    fn_id: str,
    outcome: Outcome,
    new_targets: Iterable[tuple[str, str]],
    known_only: bool = False,
) -> list[Message]:
    """Record this request's targets and, with an outcome, move the run to it: its messages
    if this call moved it (a run already ended, by this or another request, gets none).
    ``known_only``: a run with no record (not one of ours) is left alone."""
    from django_inngest_realtime.models import RunRecord, RunTarget

    _record_targets(run_id, new_targets)
    if outcome.status == RUNNING:
        return []
    now = timezone.now()
    running = RunRecord.objects.filter(run_id=run_id, status=RUNNING)
    moved = when_unlocked(lambda: running.update(status=outcome.status, updated_at=now))
    if not moved:
        if known_only or RunRecord.objects.filter(run_id=run_id).exists():
            return []  # ended already, or not a run of this app

        def create() -> None:
            with transaction.atomic():
                RunRecord.objects.create(
                    run_id=run_id, fn_id=fn_id, status=outcome.status, updated_at=now
                )

        try:  # a run that started before run status was on
            when_unlocked(create)
        except IntegrityError:
            return []
    targets = RunTarget.objects.filter(run_id=run_id).values_list("channel", "topic")
    return _messages(run_id, fn_id, outcome, list(targets))


def _undo(run_id: str, status: str) -> None:
    """Sending the messages of ``status`` failed: let a retry of the request send them."""
    from django_inngest_realtime.models import RunRecord

    rows = RunRecord.objects.filter(run_id=run_id, status=status)
    if status == RUNNING:
        when_unlocked(rows.delete)
    else:
        when_unlocked(lambda: rows.update(status=RUNNING))


def begin_sync(run_id: str, fn_id: str) -> list[Message]:
    """Send the run's start once (from synchronous code); returns what was sent."""
    return _send_sync(run_id, RUNNING, _begin(run_id, fn_id))


async def begin(run_id: str, fn_id: str) -> list[Message]:
    """Send the run's start once; returns what was sent."""
    return await _send(run_id, RUNNING, await sync_to_async(_begin)(run_id, fn_id))


def end_sync(
    run_id: str,
    fn_id: str,
    outcome: Outcome,
    new_targets: Iterable[tuple[str, str]] = (),
    *,
    known_only: bool = False,
) -> list[Message]:
    """Record new targets; send the run's end once (from synchronous code)."""
    messages = _end(run_id, fn_id, outcome, new_targets, known_only)
    return _send_sync(run_id, outcome.status, messages)


async def end(
    run_id: str, fn_id: str, outcome: Outcome, new_targets: Iterable[tuple[str, str]] = ()
) -> list[Message]:
    """Record new targets; send the run's end once."""
    messages = await sync_to_async(_end)(run_id, fn_id, outcome, list(new_targets))
    return await _send(run_id, outcome.status, messages)


def _send_sync(run_id: str, status: str, messages: list[Message]) -> list[Message]:
    try:
        return [_deliver_sync(m) for m in messages]
    except BaseException:
        if messages:
            _undo(run_id, status)
        raise


async def _send(run_id: str, status: str, messages: list[Message]) -> list[Message]:
    try:
        return [await _deliver(m) for m in messages]
    except BaseException:
        if messages:
            await sync_to_async(_undo)(run_id, status)
        raise
