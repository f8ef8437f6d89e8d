"""``decide()``: the one way every entry point (admin, views, API, code) decides."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pydantic
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from django_inngest_realtime.confirmations import outbox
from django_inngest_realtime.confirmations.choices import validate_chosen
from django_inngest_realtime.confirmations.errors import (
    AlreadyDecided,
    Expired,
    InvalidResponse,
    PermissionDenied,
)
from django_inngest_realtime.confirmations.state import (
    Decision,
    Status,
    decision_of,
    expire,
    logger,
    publish_state,
    username,
)
from django_inngest_realtime.locked import when_unlocked
from django_inngest_realtime.models import Confirmation, ConfirmationReply
from django_inngest_realtime.signals import confirmation_decided

PERMISSION = "django_inngest_realtime.decide_confirmation"


def get_confirmation(token: object) -> Confirmation:
    """The confirmation with this token; ``Confirmation.DoesNotExist`` if there is none."""
    try:
        key = token if isinstance(token, uuid.UUID) else uuid.UUID(str(token))
    except ValueError:
        raise Confirmation.DoesNotExist(f"{token!r} is not a confirmation token.") from None
    try:
        return Confirmation.objects.get(token=key)
    except Confirmation.DoesNotExist:
        raise Confirmation.DoesNotExist(f"No confirmation has the token {key}.") from None


def is_assignee(user: Any, confirmation: Confirmation) -> bool:
    """True if ``user`` is an assignee of ``confirmation`` or in one of its groups."""
    if confirmation.assignees.filter(pk=user.pk).exists():
        return True
    groups = getattr(user, "groups", None)
    return groups is not None and (
        confirmation.assignee_groups.filter(pk__in=groups.values("pk")).exists()
    )


def refusal(user: Any, confirmation: Confirmation) -> str | None:
    """Why ``user`` may not decide ``confirmation``; ``None`` if they may."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "Log in to decide confirmations."
    if not getattr(user, "is_active", True):
        return f"User {user.get_username()} is inactive."
    if not user.has_perm(PERMISSION):
        return f"User {user.get_username()} lacks the permission {PERMISSION}."
    if not confirmation.assignees.exists() and not confirmation.assignee_groups.exists():
        return None
    if is_assignee(user, confirmation):
        return None
    return (
        f"User {user.get_username()} is not among the assignees of confirmation "
        f"{confirmation.token}."
    )


def can_decide(user: Any, confirmation: Confirmation) -> bool:
    """True if ``user`` may approve, reject or cancel ``confirmation``."""
    return refusal(user, confirmation) is None


def validate_response(confirmation: Confirmation, data: Any, *, approving: bool) -> Any:
    """Return ``data`` validated against the confirmation's schema, as JSON-compatible data."""
    path = confirmation.response_schema
    if not path:
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise InvalidResponse(f"Response data must be JSON-serializable: {exc}") from None
        return data
    if data is None and not approving:
        return None
    try:
        schema = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Confirmation {confirmation.token} names the response schema {path!r}, "
            f"which cannot be imported: {exc}"
        ) from exc
    try:
        value = schema.model_validate({} if data is None else data)
    except pydantic.ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(data)'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidResponse(
            f"Response data does not match {schema.__name__}: {details}",
            json.loads(exc.json(include_url=False)),
        ) from None
    return value.model_dump(mode="json")


def _already(confirmation: Confirmation) -> AlreadyDecided | Expired:
    if confirmation.status == Status.EXPIRED:
        return Expired(str(confirmation.token), confirmation.expires_at)
    return AlreadyDecided(
        str(confirmation.token),
        confirmation.status,
        username(confirmation),
        confirmation.decided_at,
    )


def _close(token: object, status: Status, user: Any, data: Any, chosen: Any = None) -> Decision:
    """Decide once. On SQLite, where concurrent writers get "database is locked" at once
    instead of waiting on a row lock, the decision's transaction is run again (with a
    short backoff) so the losers see the winner and answer ``AlreadyDecided``."""
    return when_unlocked(lambda: _close_once(token, status, user, data, chosen))


def _close_once(token: object, status: Status, user: Any, data: Any, chosen: Any) -> Decision:
    confirmation = get_confirmation(token)
    overdue = False
    with transaction.atomic():
        # Lock the row: a concurrent decision waits here, then sees this one's result.
        confirmation = Confirmation.objects.select_for_update().get(pk=confirmation.pk)
        reason = refusal(user, confirmation)
        if reason is not None:
            raise PermissionDenied(reason)
        if confirmation.status != Status.PENDING:
            raise _already(confirmation)
        if confirmation.is_overdue:
            overdue = True
        else:
            approving = status == Status.APPROVED
            picked = validate_chosen(confirmation, chosen, approving=approving)
            clean = validate_response(confirmation, data, approving=approving)
            now = timezone.now()
            # Conditional on ``pending``: once-only even where the row lock is a no-op (SQLite).
            changed = Confirmation.objects.filter(pk=confirmation.pk, status=Status.PENDING).update(
                status=status, decided_at=now, decided_by=user, response_data=clean, chosen=picked
            )
            if not changed:
                confirmation.refresh_from_db()
                raise _already(confirmation)
            confirmation.refresh_from_db()
            decision = _decision(confirmation)
            reply = ConfirmationReply.objects.create(
                event_id=outbox.reply_event_id(confirmation.token),
                name=confirmation.event_name,
                data=decision.to_dict(),
                confirmation=confirmation,
            )
            transaction.on_commit(
                functools.partial(_after_decision, confirmation, decision, user, reply.pk),
                robust=True,
            )
    if overdue:
        raise _already(expire(confirmation))
    return _decision(confirmation)


def _decision(confirmation: Confirmation) -> Decision:
    decision = decision_of(confirmation)
    if decision is None:  # pragma: no cover - decided rows always have one
        raise AssertionError(f"Confirmation {confirmation.token} is {confirmation.status}.")
    return decision


def _after_decision(confirmation: Confirmation, decision: Decision, user: Any, pk: int) -> None:
    try:
        outbox.send_now(pk)
    except Exception:  # the reply stays in the outbox for the drain command
        logger.exception("Could not send confirmation reply %s", pk)
    publish_state(confirmation)
    confirmation_decided.send(
        sender=Confirmation, confirmation=confirmation, decision=decision, user=user
    )


def decide(
    token: object,
    *,
    approved: bool,
    user: Any,
    data: Any = None,
    chosen: str | Sequence[str] | None = None,
) -> Decision:
    """Approve or reject a pending confirmation, once; the reply goes to Inngest on commit.

    A confirmation with options is approved with the ``chosen`` option name(s). Raises
    ``PermissionDenied``, ``AlreadyDecided``, ``Expired``, ``InvalidResponse`` (``InvalidChoice``
    for options) or ``Confirmation.DoesNotExist``.
    """
    status = Status.APPROVED if approved else Status.REJECTED
    return _close(token, status, user, data, chosen)


def cancel(token: object, *, user: Any) -> Decision:
    """Cancel a pending confirmation: the waiting function gets a rejection marked cancelled."""
    return _close(token, Status.CANCELLED, user, None)


async def decide_async(
    token: object,
    *,
    approved: bool,
    user: Any,
    data: Any = None,
    chosen: str | Sequence[str] | None = None,
) -> Decision:
    """Async :func:`decide`, for async views and consumers."""
    return await sync_to_async(decide)(
        token, approved=approved, user=user, data=data, chosen=chosen
    )


async def cancel_async(token: object, *, user: Any) -> Decision:
    """Async :func:`cancel`."""
    return await sync_to_async(cancel)(token, user=user)
