"""Approval notices: which assignees are told a confirmation waits for them, and when.

The rows are written in the caller's transaction (the one creating the confirmation, or
the admin's saving its assignees) and sent by the outbox after it commits: a notice is
never sent for a confirmation that rolled back, never lost when the notifier fails, and
never doubled (one row per confirmation, user and kind).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.confirmations import outbox
from django_inngest_realtime.models import Confirmation, ConfirmationNotice

Kind = ConfirmationNotice.Kind


def recipients(confirmation: Confirmation) -> QuerySet[Any]:
    """The active assignees and members of the assignee groups, each once."""
    model = get_user_model()
    fields = {f.name for f in model._meta.get_fields()}
    wanted = Q(pk__in=confirmation.assignees.values("pk"))
    if "groups" in fields:
        wanted |= Q(groups__in=confirmation.assignee_groups.values("pk"))
    users = model._default_manager.filter(wanted)
    if "is_active" in fields:
        users = users.filter(is_active=True)
    return users.distinct().order_by("pk")


def reminder_at(confirmation: Confirmation) -> datetime.datetime | None:
    """When assignees are reminded: ``CONFIRMATION_REMINDER_BEFORE`` before ``expires_at``;
    ``None`` when reminders are off or that moment has already passed."""
    before = get_config().CONFIRMATION_REMINDER_BEFORE
    if before <= 0:
        return None
    at = confirmation.expires_at - datetime.timedelta(seconds=before)
    return at if at > max(confirmation.requested_at, timezone.now()) else None


def notify_assignees(confirmation: Confirmation) -> int:
    """Queue a notice (and a reminder) for each assignee not yet queued; sent on commit.

    ``request_confirmation`` calls it when it creates the confirmation and the admin when
    it saves the assignees; call it after changing them in code. Returns the rows written.
    """
    if not get_config().CONFIRMATION_NOTIFIER:
        return 0
    if confirmation.status != Confirmation.Status.PENDING:
        return 0
    remind = reminder_at(confirmation)
    due = [(Kind.REQUEST.value, timezone.now())]
    if remind is not None:
        due.append((Kind.REMINDER.value, remind))
    known = set(
        ConfirmationNotice.objects.filter(confirmation=confirmation).values_list("user", "kind")
    )
    new = [
        ConfirmationNotice(confirmation=confirmation, user=user, kind=kind, next_attempt_at=at)
        for user in recipients(confirmation)
        for kind, at in due
        if (user.pk, kind) not in known
    ]
    # The unique constraint keeps a concurrent writer from doubling a row.
    ConfirmationNotice.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        transaction.on_commit(outbox.notify_now, robust=True)
    return len(new)
