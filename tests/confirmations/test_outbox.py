"""The reply outbox: Inngest unreachable, decision kept, reply delivered once it is back."""

from __future__ import annotations

import datetime
import io
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_inngest_realtime.confirmations import decide, outbox
from django_inngest_realtime.models import Confirmation, ConfirmationReply

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met")
        time.sleep(0.05)


def decide_while_down(event_api, make_user, make_confirmation) -> Confirmation:
    c = make_confirmation()
    event_api.down()
    decision = decide(c.token, approved=True, user=make_user("alice"))
    assert decision.approved
    return c


def test_unreachable_inngest_keeps_the_decision_and_the_command_delivers_it(
    event_api, make_user, make_confirmation, settings
):
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "OUTBOX_RETRY_BASE": 3600.0,
        "OUTBOX_RETRY_MAX": 3600.0,
    }
    c = decide_while_down(event_api, make_user, make_confirmation)

    c.refresh_from_db()
    assert c.status == "approved"
    reply = ConfirmationReply.objects.get()
    assert reply.delivered_at is None and reply.attempts == 1
    assert "SendEventsError" in reply.last_error
    assert reply.next_attempt_at > timezone.now() + datetime.timedelta(minutes=50)

    event_api.up()
    out = io.StringIO()
    call_command("drain_confirmation_outbox", stdout=out)
    assert out.getvalue().strip() == "Delivered 0, failed 0, 1 still pending."  # not due yet
    call_command("drain_confirmation_outbox", "--all", stdout=out)
    assert "Delivered 1, failed 0, 0 still pending." in out.getvalue()

    reply.refresh_from_db()
    assert reply.delivered_at is not None and reply.last_error == "" and reply.attempts == 2
    [event] = event_api.received()
    assert event["id"] == f"confirmation-decided-{c.token}"
    assert event["data"]["status"] == "approved"


def test_the_background_retry_delivers_once_inngest_is_back(
    event_api, make_user, make_confirmation, settings
):
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "OUTBOX_RETRY_BASE": 0.2}
    c = decide_while_down(event_api, make_user, make_confirmation)
    assert ConfirmationReply.objects.get().delivered_at is None

    event_api.up()
    wait_until(lambda: ConfirmationReply.objects.filter(delivered_at__isnull=False).exists())
    assert [e["id"] for e in event_api.received()] == [f"confirmation-decided-{c.token}"]


def test_the_next_decision_drains_earlier_replies(
    event_api, make_user, make_confirmation, settings
):
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "OUTBOX_RETRY_BASE": 3600.0}
    first = decide_while_down(event_api, make_user, make_confirmation)
    outbox.retrier.stop()
    event_api.up()
    # The backoff has run out by the time the next decision is made.
    ConfirmationReply.objects.update(next_attempt_at=timezone.now())
    second = make_confirmation()

    decide(second.token, approved=False, user=make_user("bob"))

    assert sorted(e["id"] for e in event_api.received()) == sorted(
        f"confirmation-decided-{c.token}" for c in (first, second)
    )
    assert not ConfirmationReply.objects.filter(delivered_at__isnull=True).exists()


def test_backoff_doubles_up_to_the_maximum(settings):
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "OUTBOX_RETRY_BASE": 2.0,
        "OUTBOX_RETRY_MAX": 10.0,
    }
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 10, 10]


def test_a_missing_inngest_client_setting_leaves_the_reply_pending(
    make_user, make_confirmation, settings
):
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "INNGEST_CLIENT": "",
        "OUTBOX_RETRY_BASE": 3600.0,
    }
    c = make_confirmation()
    decide(c.token, approved=True, user=make_user("alice"))
    reply = ConfirmationReply.objects.get()
    assert reply.delivered_at is None
    assert "ImproperlyConfigured" in reply.last_error and "INNGEST_CLIENT" in reply.last_error


def test_inngest_answering_500_keeps_the_reply_until_it_accepts(
    event_api, make_user, make_confirmation, settings
):
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "OUTBOX_RETRY_BASE": 0.2}
    c = make_confirmation()
    event_api.failing_status = 500
    try:
        assert decide(c.token, approved=False, user=make_user("alice")).status == "rejected"
        reply = ConfirmationReply.objects.get()
        assert reply.delivered_at is None and reply.last_error
        wait_until(lambda: ConfirmationReply.objects.get().attempts >= 2)  # still retrying
        assert event_api.received() == []
    finally:
        event_api.failing_status = None
    wait_until(lambda: ConfirmationReply.objects.get().delivered_at is not None)
    assert outbox.drain().delivered == 0  # nothing is left to send again
    [event] = event_api.received()
    assert event["id"] == f"confirmation-decided-{c.token}"
    assert event["data"]["status"] == "rejected"
