"""What a confirmation looks like to its function, its reply event and its live widgets."""

from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from django_inngest_realtime.models import Confirmation
from django_inngest_realtime.signals import confirmation_expired
from django_inngest_realtime.topics import TopicMessage, registry

logger = logging.getLogger("django_inngest_realtime.confirmations")

Status = Confirmation.Status
#: Statuses a person's decision leads to.
DECIDED = frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED})
#: The confirmation page, in the app's one URL namespace (``django_inngest_realtime.urls``).
URL_NAME = "django_inngest_realtime:confirmation"


@dataclasses.dataclass(frozen=True)
class Decision:
    """The outcome a waiting function receives."""

    approved: bool
    data: Any = None
    #: Username of who decided; ``None`` for a default outcome applied on timeout.
    decided_by: str | None = None
    decided_at: datetime.datetime | None = None
    #: ``approved``, ``rejected``, ``cancelled``, or ``expired`` (a default outcome).
    status: str = Status.APPROVED.value
    token: str = ""
    #: The options chosen, in the order the confirmation offers them; empty without options.
    chosen: list[str] = dataclasses.field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        """True when nobody decided and this is the confirmation's default outcome."""
        return self.status == Status.EXPIRED

    @property
    def choice(self) -> str | None:
        """The first chosen option (the only one when ``multiple`` is off); ``None`` if none."""
        return self.chosen[0] if self.chosen else None

    @property
    def summary(self) -> str:
        """The status, with the chosen options: ``"approved: Staging, Production"``."""
        return f"{self.status}: {', '.join(self.chosen)}" if self.chosen else self.status

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (step outputs, event data, API responses)."""
        return {
            "token": self.token,
            "status": self.status,
            "approved": self.approved,
            "data": self.data,
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "chosen": list(self.chosen),
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Decision:
        """Inverse of :meth:`to_dict`."""
        at = value.get("decided_at")
        return cls(
            approved=bool(value["approved"]),
            data=value.get("data"),
            decided_by=value.get("decided_by"),
            decided_at=datetime.datetime.fromisoformat(at) if at else None,
            status=str(value.get("status", "")),
            token=str(value.get("token", "")),
            chosen=[str(c) for c in value.get("chosen") or []],
        )


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def username(confirmation: Confirmation) -> str | None:
    """Who decided ``confirmation``, by username."""
    user = confirmation.decided_by
    return user.get_username() if user is not None else None


def decision_of(confirmation: Confirmation) -> Decision | None:
    """The decision a closed confirmation stands for; ``None`` if none applies."""
    status = confirmation.status
    if status in DECIDED:
        return Decision(
            approved=status == Status.APPROVED,
            data=confirmation.response_data,
            decided_by=username(confirmation),
            decided_at=confirmation.decided_at,
            status=status,
            token=str(confirmation.token),
            chosen=list(confirmation.chosen or []),
        )
    outcome = confirmation.default_outcome
    if status == Status.EXPIRED and outcome:
        return Decision(
            approved=outcome in (Confirmation.Outcome.APPROVE, Confirmation.Outcome.CHOOSE),
            decided_at=confirmation.expires_at,
            status=status,
            token=str(confirmation.token),
            chosen=list(confirmation.default_options or [])
            if outcome == Confirmation.Outcome.CHOOSE
            else [],
        )
    return None


def confirmation_url(confirmation: Confirmation) -> str | None:
    """The confirmation page's path, when the app's URLs are installed."""
    try:
        return reverse(URL_NAME, args=[confirmation.token])
    except NoReverseMatch:
        return None


def payload(confirmation: Confirmation) -> dict[str, Any]:
    """The data published on the confirmation's channel and topic, prompt and updates alike."""
    data: dict[str, Any] = {
        "type": "confirmation",
        "token": str(confirmation.token),
        "title": confirmation.title,
        "message": confirmation.message,
        "status": confirmation.status,
        "requested_at": _iso(confirmation.requested_at),
        "expires_at": _iso(confirmation.expires_at),
    }
    if confirmation.options:
        data["options"] = list(confirmation.options)
        data["multiple"] = confirmation.multiple
    if confirmation.status in DECIDED:
        data["decided_by"] = username(confirmation)
        data["decided_at"] = _iso(confirmation.decided_at)
    decision = decision_of(confirmation)
    if decision is not None and decision.chosen:
        data["chosen"] = decision.chosen
    url = confirmation_url(confirmation)
    if url:
        data["url"] = url
    return data


def message_for(confirmation: Confirmation) -> TopicMessage:
    """The :class:`~django_inngest_realtime.topics.TopicMessage` announcing its current state."""
    ref = registry.resolve(confirmation.channel)
    return ref.topic(confirmation.topic)(payload(confirmation))


def publish_state(confirmation: Confirmation) -> None:
    """Publish the current state so every open widget updates; failures are only logged."""
    from django_inngest_realtime.publishing import publish_sync

    try:
        publish_sync(message_for(confirmation))
    except Exception:
        logger.exception(
            "Could not publish the %s state of confirmation %s on channel %r topic %r",
            confirmation.status,
            confirmation.token,
            confirmation.channel,
            confirmation.topic,
        )


def expire(confirmation: Confirmation) -> Confirmation:
    """Mark a pending confirmation expired (only if still pending); return the fresh row."""
    changed = Confirmation.objects.filter(pk=confirmation.pk, status=Status.PENDING).update(
        status=Status.EXPIRED
    )
    confirmation.refresh_from_db()
    if changed:
        publish_state(confirmation)
        confirmation_expired.send(sender=Confirmation, confirmation=confirmation)
    return confirmation


def remaining(confirmation: Confirmation) -> datetime.timedelta:
    """Time left before ``expires_at`` (never negative)."""
    return max(confirmation.expires_at - timezone.now(), datetime.timedelta(0))
