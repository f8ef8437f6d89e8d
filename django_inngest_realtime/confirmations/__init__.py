"""Human-in-the-loop confirmations: ask from an Inngest function, decide once, never lose the reply.

Function side: :func:`request_confirmation` and :func:`wait_for_confirmation` (and their
``_sync`` twins). Deciding side: :func:`decide` (and :func:`cancel`), which the admin,
the views and the JSON API all call. Assignees are told through ``CONFIRMATION_NOTIFIER``
(:func:`send_email` by default), by way of the outbox.
"""

from __future__ import annotations

from django_inngest_realtime.confirmations.creation import ConfirmationRequest, parse_timeout
from django_inngest_realtime.confirmations.errors import (
    AlreadyDecided,
    ConfirmationError,
    Expired,
    InvalidChoice,
    InvalidResponse,
    PermissionDenied,
)
from django_inngest_realtime.confirmations.notices import notify_assignees
from django_inngest_realtime.confirmations.notifiers import Notice, NoticeSkipped, send_email
from django_inngest_realtime.confirmations.outbox import DrainResult, drain
from django_inngest_realtime.confirmations.service import (
    PERMISSION,
    can_decide,
    cancel,
    cancel_async,
    decide,
    decide_async,
    get_confirmation,
)
from django_inngest_realtime.confirmations.state import Decision
from django_inngest_realtime.confirmations.steps import (
    request_confirmation,
    request_confirmation_sync,
    wait_for_confirmation,
    wait_for_confirmation_sync,
)

__all__ = [
    "PERMISSION",
    "AlreadyDecided",
    "ConfirmationError",
    "ConfirmationRequest",
    "Decision",
    "DrainResult",
    "Expired",
    "InvalidChoice",
    "InvalidResponse",
    "Notice",
    "NoticeSkipped",
    "PermissionDenied",
    "can_decide",
    "cancel",
    "cancel_async",
    "decide",
    "decide_async",
    "drain",
    "get_confirmation",
    "notify_assignees",
    "parse_timeout",
    "request_confirmation",
    "request_confirmation_sync",
    "send_email",
    "wait_for_confirmation",
    "wait_for_confirmation_sync",
]
