"""Models: human-in-the-loop confirmations, the outbox of their reply events and notices;
the ``channels`` broker's history; Inngest runs' status (``run_models.py``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Runs' status models live in a module of their own; they are this app's models all the same.
from django_inngest_realtime.run_models import RunRecord, RunTarget


class Confirmation(models.Model):
    """A question an Inngest function asked a person, and their answer."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        NONE = "", _("None (the wait returns nothing)")
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")
        CHOOSE = "choose", _("Choose the default options")

    token = models.UUIDField(_("token"), default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200, blank=True)
    message = models.TextField(_("message"))
    channel = models.CharField(_("channel"), max_length=256)
    topic = models.CharField(_("topic"), max_length=200)
    run_id = models.CharField(_("run id"), max_length=128, blank=True)
    fn_id = models.CharField(_("function id"), max_length=255, blank=True)
    step_id = models.CharField(_("step id"), max_length=255, blank=True)
    event_name = models.CharField(_("reply event name"), max_length=255)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    response_data = models.JSONField(_("response data"), null=True, blank=True)
    response_schema = models.CharField(
        _("response schema"),
        max_length=255,
        blank=True,
        help_text=_("Dotted path to the pydantic model the response data must match."),
    )
    default_outcome = models.CharField(
        _("outcome on timeout"), max_length=8, choices=Outcome.choices, blank=True
    )
    options = models.JSONField(
        _("options"),
        default=list,
        blank=True,
        help_text=_("Names the person chooses from; empty: approve or reject."),
    )
    multiple = models.BooleanField(_("several options may be chosen"), default=False)
    chosen = models.JSONField(_("chosen options"), null=True, blank=True)
    default_options = models.JSONField(_("options chosen on timeout"), default=list, blank=True)
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignees"),
        blank=True,
        related_name="inngest_confirmations",
        help_text=_("Who may decide; if none (nor groups): all with the permission."),
    )
    assignee_groups = models.ManyToManyField(
        Group,
        verbose_name=_("assignee groups"),
        blank=True,
        related_name="inngest_confirmations",
    )

    class Meta:
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")
        ordering = ["-requested_at"]
        permissions = [("decide_confirmation", _("Can approve or reject confirmations"))]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="dir_confirmation_status"),
            models.Index(fields=["fn_id", "status"], name="dir_confirmation_fn"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "step_id"],
                condition=~Q(run_id=""),
                name="dir_confirmation_once_per_step",
            )
        ]

    def __str__(self) -> str:
        label = self.title or self.message[:60]
        return f"{label} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        """True while nobody decided and the confirmation has not expired."""
        return self.status == self.Status.PENDING and not self.is_overdue

    @property
    def is_overdue(self) -> bool:
        """True once ``expires_at`` has passed."""
        return self.expires_at <= timezone.now()


class ConfirmationReply(models.Model):
    """An outbox row: a reply event to send to Inngest, written with the decision."""

    event_id = models.CharField(_("event id"), max_length=128, unique=True)
    name = models.CharField(_("event name"), max_length=255)
    data = models.JSONField(_("event data"))
    confirmation = models.ForeignKey(
        Confirmation,
        verbose_name=_("confirmation"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="replies",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("confirmation reply")
        verbose_name_plural = _("confirmation replies")
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["delivered_at", "next_attempt_at"], name="dir_reply_due"),
        ]

    def __str__(self) -> str:
        state = "delivered" if self.delivered_at else f"pending, {self.attempts} attempt(s)"
        return f"{self.name} {self.event_id} ({state})"


class ConfirmationNotice(models.Model):
    """An outbox row: a notice telling one assignee a confirmation waits for them (sent on
    commit of its creation) or reminding them before it expires (sent when due)."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("Request")
        REMINDER = "reminder", _("Reminder")

    confirmation = models.ForeignKey(
        Confirmation,
        verbose_name=_("confirmation"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    #: When it is due: at once for a request, before ``expires_at`` for a reminder.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    #: When it was sent, or found not to be sendable (``skipped`` says why).
    delivered_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    skipped = models.CharField(_("not sent because"), max_length=255, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("confirmation notice")
        verbose_name_plural = _("confirmation notices")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["delivered_at", "next_attempt_at"], name="dir_notice_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["confirmation", "user", "kind"], name="dir_notice_once_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to user {self.user_id} ({self.confirmation_id})"


class StoredChannel(models.Model):
    """A channel's position in the ``channels`` broker's history (``brokers/channels.py``)."""

    #: SHA-256 of the channel's name: names may be longer than an index allows.
    key = models.CharField(_("key"), max_length=64, unique=True)
    channel = models.TextField(_("channel"))
    start = models.BigIntegerField(_("first position"))
    seq = models.BigIntegerField(_("last position"))
    #: The last position published on each topic.
    last = models.JSONField(_("last position per topic"), default=dict)

    class Meta:
        verbose_name = _("stored channel")
        verbose_name_plural = _("stored channels")

    def __str__(self) -> str:
        return f"{self.channel} @ {self.seq}"


class StoredMessage(models.Model):
    """One message kept in the ``channels`` broker's history, as its JSON frame."""

    key = models.CharField(_("channel key"), max_length=64)
    seq = models.BigIntegerField(_("position"))
    topic = models.TextField(_("topic"))
    frame = models.TextField(_("frame"))
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("stored message")
        verbose_name_plural = _("stored messages")
        constraints = [
            models.UniqueConstraint(fields=["key", "seq"], name="inngest_rt_stored_message_seq")
        ]

    def __str__(self) -> str:
        return f"{self.key[:12]} #{self.seq} ({self.topic})"


class PresenceProcess(models.Model):
    """A server process holding presence members (``channels`` broker), and its last beat."""

    process = models.CharField(_("process"), max_length=200, unique=True)
    beat_at = models.DateTimeField(_("last beat"), db_index=True)

    class Meta:
        verbose_name = _("presence process")
        verbose_name_plural = _("presence processes")

    def __str__(self) -> str:
        return self.process


class PresenceMember(models.Model):
    """One subscription present on a ``presence=True`` channel (``channels`` broker)."""

    member_id = models.CharField(_("member"), max_length=64, unique=True)
    channel_key = models.CharField(_("channel key"), max_length=64, db_index=True)
    channel = models.TextField(_("channel"))
    #: The subscriber's username; empty for an anonymous or server-side subscriber.
    user = models.CharField(_("user"), max_length=255, blank=True)
    joined_at = models.DateTimeField(_("joined at"))
    process = models.CharField(_("process"), max_length=200, db_index=True)

    class Meta:
        verbose_name = _("presence member")
        verbose_name_plural = _("presence members")

    def __str__(self) -> str:
        return f"{self.user or 'anonymous'} on {self.channel}"


__all__ = [
    "Confirmation",
    "ConfirmationNotice",
    "ConfirmationReply",
    "PresenceMember",
    "PresenceProcess",
    "RunRecord",
    "RunTarget",
    "StoredChannel",
    "StoredMessage",
]
