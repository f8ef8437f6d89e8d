"""Sending one approval notice: the ``Notice`` a notifier receives, the default notifier
(Django's email) and what the outbox calls for each notice row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from django_inngest_realtime.conf import get_config
from django_inngest_realtime.models import Confirmation, ConfirmationNotice

SUBJECT_TEMPLATE = "django_inngest_realtime/confirmations/notice_subject.txt"
BODY_TEMPLATE = "django_inngest_realtime/confirmations/notice_body.txt"


class NoticeSkipped(Exception):
    """Raised by a notifier for a notice it will not send (no address, say): never retried."""


def site_url() -> str:
    """``SITE_URL``, else ``API_BASE_URL``: the absolute base of links sent out of band."""
    config = get_config()
    base = config.SITE_URL or config.API_BASE_URL
    if not base:
        raise ImproperlyConfigured(
            "A confirmation notice links to the confirmation page by an absolute URL: set "
            "INNGEST_REALTIME['SITE_URL'] (for example 'https://example.com/') or "
            "INNGEST_REALTIME['API_BASE_URL']. The notice is kept and sent once it is set."
        )
    if not base.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"INNGEST_REALTIME['SITE_URL'] must be an absolute http(s) URL such as "
            f"'https://example.com/', not {base!r}."
        )
    return base


def page_url(confirmation: Confirmation) -> str:
    """The absolute URL of the confirmation's page (it asks to log in)."""
    try:
        path = reverse("django_inngest_realtime:confirmation", args=[confirmation.token])
    except NoReverseMatch:
        raise ImproperlyConfigured(
            "Confirmation notices link to the confirmation page: include "
            "'django_inngest_realtime.urls' in your URLconf."
        ) from None
    return urljoin(site_url(), path)


@dataclasses.dataclass(frozen=True)
class Notice:
    """What a notifier gets: tell ``user`` that ``confirmation`` waits for them."""

    #: ``"request"`` (it was just asked) or ``"reminder"`` (it expires soon).
    kind: str
    user: Any
    confirmation: Confirmation
    #: Stable across retries: ``confirmation-<token>-<user pk>-<kind>``, for deduplication.
    id: str

    @property
    def url(self) -> str:
        """The absolute link to the confirmation's page (``SITE_URL`` or ``API_BASE_URL``)."""
        return page_url(self.confirmation)

    @property
    def is_reminder(self) -> bool:
        """True for the reminder sent before expiry."""
        return self.kind == ConfirmationNotice.Kind.REMINDER


def send_email(notice: Notice) -> None:
    """The default notifier: an email through Django's ``EMAIL_BACKEND``, from
    ``DEFAULT_FROM_EMAIL``, with the prompt and a link to the confirmation page."""
    user = notice.user
    address = getattr(user, user.get_email_field_name(), "") or ""
    if not address:
        raise NoticeSkipped(f"user {user.get_username()} has no email address")
    context = {
        "notice": notice,
        "user": user,
        "confirmation": notice.confirmation,
        "url": notice.url,
        "reminder": notice.is_reminder,
    }
    subject = " ".join(render_to_string(SUBJECT_TEMPLATE, context).split())
    body = render_to_string(BODY_TEMPLATE, context)
    host = urlsplit(notice.url).hostname or "localhost"
    headers = {"Message-ID": f"<{notice.id}@{host}>"}  # the same on a retry
    EmailMessage(subject, body, to=[address], headers=headers).send(fail_silently=False)


def get_notifier() -> Callable[[Notice], None] | None:
    """The ``CONFIRMATION_NOTIFIER`` callable; ``None`` when notices are off."""
    path = get_config().CONFIRMATION_NOTIFIER
    if not path:
        return None
    try:
        notifier = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"INNGEST_REALTIME['CONFIRMATION_NOTIFIER'] = {path!r} cannot be imported: {exc}"
        ) from exc
    if not callable(notifier):
        raise ImproperlyConfigured(
            f"INNGEST_REALTIME['CONFIRMATION_NOTIFIER'] = {path!r} is not callable."
        )
    return notifier  # type: ignore[no-any-return]


def _why_not(row: ConfirmationNotice) -> str:
    confirmation = row.confirmation
    if confirmation.status != Confirmation.Status.PENDING:
        return f"the confirmation is {confirmation.status}"
    if confirmation.expires_at <= timezone.now():
        return "the confirmation expired"
    if not getattr(row.user, "is_active", True):
        return f"user {row.user.get_username()} is inactive"
    return ""


def deliver(row: ConfirmationNotice) -> None:
    """Send one notice row through the notifier; the outbox retries when this raises.

    A notice for a confirmation no longer pending, or one the notifier skips
    (``NoticeSkipped``), is recorded as not sent, with the reason.
    """
    reason = _why_not(row)
    notifier = get_notifier()
    if not reason and notifier is None:
        reason = "CONFIRMATION_NOTIFIER is empty"
    if not reason and notifier is not None:
        token = row.confirmation.token
        notice = Notice(
            kind=row.kind,
            user=row.user,
            confirmation=row.confirmation,
            id=f"confirmation-{token}-{row.user_id}-{row.kind}",
        )
        try:
            notifier(notice)
        except NoticeSkipped as exc:
            reason = str(exc) or type(exc).__name__
    if reason:
        ConfirmationNotice.objects.filter(pk=row.pk).update(skipped=reason[:255])
