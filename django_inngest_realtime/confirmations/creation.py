"""Creating a confirmation inside the request step: arguments, the row, the prompt."""

from __future__ import annotations

import datetime
import re
import weakref
from typing import Any

import inngest
import pydantic
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from django_inngest_realtime.client import get_inngest_client
from django_inngest_realtime.conf import get_config
from django_inngest_realtime.confirmations.choices import check_default, check_options
from django_inngest_realtime.confirmations.notices import notify_assignees
from django_inngest_realtime.confirmations.state import message_for
from django_inngest_realtime.models import Confirmation
from django_inngest_realtime.publishing import publish, publish_sync
from django_inngest_realtime.run_context import current_run
from django_inngest_realtime.signals import confirmation_requested
from django_inngest_realtime.topics import ChannelRef, TopicMessage, registry

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_keys: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


class ConfirmationRequest(pydantic.BaseModel):
    """What ``request_confirmation`` returns: JSON-serializable, the row found by ``token``."""

    model_config = pydantic.ConfigDict(frozen=True)

    token: str
    key: str
    title: str
    message: str
    channel: str
    topic: str
    event_name: str
    status: str
    requested_at: datetime.datetime
    expires_at: datetime.datetime
    #: The options offered (empty: approve or reject) and whether several may be chosen.
    options: list[str] = []
    multiple: bool = False

    @classmethod
    def from_model(cls, confirmation: Confirmation) -> ConfirmationRequest:
        """Describe a ``Confirmation`` row."""
        return cls(
            token=str(confirmation.token),
            key=confirmation.step_id,
            title=confirmation.title,
            message=confirmation.message,
            channel=confirmation.channel,
            topic=confirmation.topic,
            event_name=confirmation.event_name,
            status=confirmation.status,
            requested_at=confirmation.requested_at,
            expires_at=confirmation.expires_at,
            options=list(confirmation.options or []),
            multiple=confirmation.multiple,
        )

    def get(self) -> Confirmation:
        """The ``Confirmation`` row, fresh from the database."""
        return Confirmation.objects.get(token=self.token)

    async def aget(self) -> Confirmation:
        """Async :meth:`get`."""
        return await Confirmation.objects.aget(token=self.token)


def parse_timeout(value: str | datetime.timedelta) -> datetime.timedelta:
    """``"15m"``, ``"1h30m"``, ``"2d"``, ``"500ms"`` or a ``timedelta``, as a ``timedelta``."""
    if isinstance(value, datetime.timedelta):
        delta = value
    elif isinstance(value, str) and value and _DURATION.sub("", value) == "":
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(value))
        delta = datetime.timedelta(seconds=seconds)
    else:
        raise ValueError(
            f"Confirmation timeout {value!r}: use a timedelta or a duration such as "
            "'30s', '15m', '1h30m', '2d'."
        )
    if delta <= datetime.timedelta(0):
        raise ValueError(f"Confirmation timeout must be positive, got {value!r}.")
    return delta


def _schema_path(schema: type[pydantic.BaseModel] | str | None) -> str:
    if schema is None:
        return ""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return f"{schema.__module__}.{schema.__qualname__}"
    raise TypeError("response_schema takes a pydantic model class or its dotted path.")


def _step_key(step: object, step_id: str) -> str:
    # Reusing a step id gets ``id:1``, ``id:2``... the same way on every replay.
    counts = _keys.setdefault(step, {})
    counts[step_id] = counts.get(step_id, 0) + 1
    n = counts[step_id]
    return step_id if n == 1 else f"{step_id}:{n - 1}"


def spec(
    ctx: inngest.Context | inngest.ContextSync,
    step_id: str,
    channel: ChannelRef | str,
    topic: str,
    message: str,
    timeout: str | datetime.timedelta,
    **options: Any,
) -> dict[str, Any]:
    """Check ``request_confirmation``'s arguments now and gather what the step needs."""
    ref = channel if isinstance(channel, ChannelRef) else registry.resolve(channel)
    ref.topic(topic)  # unknown topic: LookupError naming the channel's topics, now
    names = check_options(options["options"], options["multiple"])
    outcome, default_options = check_default(options["default"], names, options["multiple"])
    # The decision goes back to this run as an event sent by that client: without it the
    # run would wait until its timeout for a reply nobody can send. Fail now, by name.
    get_inngest_client()
    run = current_run()
    return {
        "run_id": ctx.run_id,
        "fn_id": run.fn_id if run else "",
        "key": _step_key(ctx.step, step_id),
        "channel": ref.name,
        "topic": topic,
        "message": message,
        "timeout": parse_timeout(timeout),
        "title": options["title"],
        "assignees": list(options["assignees"]),
        "groups": list(options["groups"]),
        "response_schema": _schema_path(options["response_schema"]),
        "options": names,
        "multiple": options["multiple"],
        "default_outcome": outcome,
        "default_options": default_options,
    }


def _lookup(model: Any, items: list[Any], field: str) -> list[Any]:
    found = []
    for item in items:
        if isinstance(item, model):
            found.append(item)
            continue
        lookup = {"pk": item} if isinstance(item, int) else {field: item}
        try:
            found.append(model._default_manager.get(**lookup))
        except model.DoesNotExist:
            raise inngest.NonRetriableError(
                f"Confirmation assignee {item!r}: no {model.__name__} with that "
                f"{'id' if isinstance(item, int) else field}."
            ) from None
    return found


def _create(spec: dict[str, Any]) -> tuple[Confirmation, bool, TopicMessage]:
    now = timezone.now()
    with transaction.atomic():
        confirmation, created = Confirmation.objects.get_or_create(
            run_id=spec["run_id"],
            step_id=spec["key"],
            defaults={
                "fn_id": spec["fn_id"],
                "title": spec["title"],
                "message": spec["message"],
                "channel": spec["channel"],
                "topic": spec["topic"],
                "event_name": get_config().CONFIRMATION_EVENT,
                "requested_at": now,
                "expires_at": now + spec["timeout"],
                "response_schema": spec["response_schema"],
                "options": spec["options"],
                "multiple": spec["multiple"],
                "default_outcome": spec["default_outcome"],
                "default_options": spec["default_options"],
            },
        )
        if created:
            user_model = get_user_model()
            users = _lookup(user_model, spec["assignees"], user_model.USERNAME_FIELD)
            confirmation.assignees.set(users)
            confirmation.assignee_groups.set(_lookup(Group, spec["groups"], "name"))
            notify_assignees(confirmation)  # in this transaction; sent once it commits
    return confirmation, created, message_for(confirmation)


def _announced(confirmation: Confirmation, created: bool) -> None:
    if created:
        confirmation_requested.send(sender=Confirmation, confirmation=confirmation)


def create_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """The request step (sync): create the row once, publish the prompt."""
    confirmation, created, prompt = _create(spec)
    try:
        publish_sync(prompt)
    finally:
        _announced(confirmation, created)
    return ConfirmationRequest.from_model(confirmation).model_dump(mode="json")


async def create_async(spec: dict[str, Any]) -> dict[str, Any]:
    """The request step (async): create the row once, publish the prompt."""
    confirmation, created, prompt = await sync_to_async(_create)(spec)
    try:
        await publish(prompt)
    finally:
        await sync_to_async(_announced)(confirmation, created)
    return ConfirmationRequest.from_model(confirmation).model_dump(mode="json")
