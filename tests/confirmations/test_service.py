"""decide(): once only, permissions, schema, expiry, outbox row, signals, live update."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from django_inngest_realtime.confirmations import (
    AlreadyDecided,
    Expired,
    InvalidResponse,
    PermissionDenied,
    cancel,
    decide,
    decide_async,
)
from django_inngest_realtime.models import Confirmation, ConfirmationReply
from django_inngest_realtime.signals import confirmation_decided
from django_inngest_realtime.testing.capture import capture_messages

pytestmark = pytest.mark.django_db(transaction=True)
SCHEMA = "tests.confirmations.inngest_app.Budget"


def test_decide_records_the_decision_and_sends_the_reply(make_user, make_confirmation, event_api):
    alice = make_user("alice")
    c = make_confirmation()

    decision = decide(c.token, approved=True, user=alice, data={"note": "ship it"})

    assert (decision.approved, decision.decided_by, decision.data) == (
        True,
        "alice",
        {"note": "ship it"},
    )
    c.refresh_from_db()
    assert c.status == "approved" and c.decided_by == alice and c.decided_at is not None
    reply = ConfirmationReply.objects.get()
    assert reply.event_id == f"confirmation-decided-{c.token}"
    assert reply.delivered_at is not None
    [event] = event_api.received()
    assert event["id"] == reply.event_id
    assert event["name"] == "inngest-realtime/confirmation.decided"
    assert event["data"]["token"] == str(c.token)
    assert event["data"]["status"] == "approved" and event["data"]["decided_by"] == "alice"


def test_second_decision_is_refused_naming_who_and_when(make_user, make_confirmation):
    alice, bob = make_user("alice"), make_user("bob")
    c = make_confirmation()
    first = decide(c.token, approved=True, user=alice)

    with pytest.raises(AlreadyDecided) as exc:
        decide(c.token, approved=False, user=bob)

    assert exc.value.decided_by == "alice" and exc.value.status == "approved"
    assert "already approved by alice at" in str(exc.value)
    assert exc.value.decided_at == first.decided_at
    c.refresh_from_db()
    assert c.status == "approved" and c.decided_by == alice
    assert ConfirmationReply.objects.count() == 1


def test_anonymous_and_users_without_permission_are_refused(make_user, make_confirmation):
    from django.contrib.auth.models import AnonymousUser

    c = make_confirmation()
    for user, reason in [
        (AnonymousUser(), "Log in"),
        (None, "Log in"),
        (make_user("carol", decide=False), "lacks the permission"),
    ]:
        with pytest.raises(PermissionDenied, match=reason):
            decide(c.token, approved=True, user=user)
    c.refresh_from_db()
    assert c.status == "pending"
    assert not ConfirmationReply.objects.exists()


def test_only_assignees_may_decide(make_user, make_confirmation, django_user_model):
    alice, bob, dan = make_user("alice"), make_user("bob"), make_user("dan")
    ops = Group.objects.create(name="ops")
    dan.groups.add(ops)
    c = make_confirmation(assignees=[alice], groups=[ops])

    with pytest.raises(PermissionDenied, match="bob is not among the assignees"):
        decide(c.token, approved=True, user=bob)
    admin = django_user_model.objects.create_superuser("root", password="pw")
    with pytest.raises(PermissionDenied, match="not among the assignees"):
        decide(c.token, approved=True, user=admin)
    assert decide(c.token, approved=False, user=dan).decided_by == "dan"


def test_django_permission_denied_catches_it(make_user, make_confirmation):
    from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

    with pytest.raises(DjangoPermissionDenied):
        decide(make_confirmation().token, approved=True, user=make_user("eve", decide=False))


def test_late_decision_is_refused_and_marks_it_expired(make_user, make_confirmation):
    c = make_confirmation(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    with pytest.raises(Expired, match="expired at"):
        decide(c.token, approved=True, user=make_user("alice"))

    c.refresh_from_db()
    assert c.status == "expired" and c.decided_by is None
    assert not ConfirmationReply.objects.exists()
    with pytest.raises(Expired):
        decide(c.token, approved=True, user=make_user("bob"))


def test_response_is_validated_against_the_schema(make_user, make_confirmation):
    alice = make_user("alice")
    c = make_confirmation(response_schema=SCHEMA)

    with pytest.raises(InvalidResponse, match="amount") as exc:
        decide(c.token, approved=True, user=alice, data={"amount": "lots"})
    assert exc.value.errors[0]["loc"] == ["amount"]
    with pytest.raises(InvalidResponse, match="amount: Field required"):
        decide(c.token, approved=True, user=alice)
    c.refresh_from_db()
    assert c.status == "pending" and not ConfirmationReply.objects.exists()

    decision = decide(c.token, approved=True, user=alice, data={"amount": "12"})
    assert decision.data == {"amount": 12, "note": ""}


def test_rejecting_needs_no_response_data(make_user, make_confirmation):
    c = make_confirmation(response_schema=SCHEMA)
    assert decide(c.token, approved=False, user=make_user("alice")).data is None


def test_data_must_be_json(make_user, make_confirmation):
    with pytest.raises(InvalidResponse, match="JSON"):
        decide(make_confirmation().token, approved=True, user=make_user("a"), data={1, 2})


def test_unknown_token(make_user):
    with pytest.raises(Confirmation.DoesNotExist, match="No confirmation has the token"):
        decide(uuid.uuid4(), approved=True, user=make_user("alice"))
    with pytest.raises(Confirmation.DoesNotExist, match="not a confirmation token"):
        decide("nope", approved=True, user=make_user("bob"))


def test_cancel_sends_a_cancelled_reply(make_user, make_confirmation, event_api):
    c = make_confirmation()
    decision = cancel(c.token, user=make_user("alice"))
    assert (decision.status, decision.approved) == ("cancelled", False)
    [event] = event_api.received()
    assert event["data"]["status"] == "cancelled" and event["data"]["approved"] is False


def test_decision_is_published_and_signalled(make_user, make_confirmation):
    alice = make_user("alice")
    c = make_confirmation()
    seen: list[dict[str, Any]] = []

    def receiver(
        sender: Any, confirmation: Confirmation, decision: Any, user: Any, **kw: Any
    ) -> None:
        seen.append({"status": confirmation.status, "approved": decision.approved, "user": user})

    confirmation_decided.connect(receiver)
    try:
        with capture_messages() as captured:
            decide(c.token, approved=False, user=alice)
    finally:
        confirmation_decided.disconnect(receiver)

    assert seen == [{"status": "rejected", "approved": False, "user": alice}]
    [update] = captured.data("agentic:t", "messages")
    assert update["type"] == "confirmation" and update["token"] == str(c.token)
    assert update["status"] == "rejected" and update["decided_by"] == "alice"
    assert update["url"] == f"/confirmations/{c.token}/"


def test_nothing_is_sent_when_the_transaction_rolls_back(make_user, make_confirmation, event_api):
    from django.db import transaction

    c = make_confirmation()
    with pytest.raises(RuntimeError), transaction.atomic():
        decide(c.token, approved=True, user=make_user("alice"))
        raise RuntimeError("the caller's transaction fails")
    c.refresh_from_db()
    assert c.status == "pending"
    assert not ConfirmationReply.objects.exists() and event_api.received() == []


async def test_decide_async(make_user, make_confirmation, event_api):
    from asgiref.sync import sync_to_async

    alice = await sync_to_async(make_user)("alice")
    c = await sync_to_async(make_confirmation)()
    decision = await decide_async(c.token, approved=True, user=alice)
    assert decision.decided_by == "alice"
    assert [e["data"]["token"] for e in event_api.received()] == [str(c.token)]
