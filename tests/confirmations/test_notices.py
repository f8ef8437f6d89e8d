"""Approval notices through a real SMTP server: one email per assignee and request (even when
the server refuses once), a reminder before expiry, nothing for a rolled-back or decided
confirmation, and the admin showing who was notified."""

from __future__ import annotations

import datetime
import io
import threading
import time
from typing import Any

import inngest
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import OperationalError, connections, transaction
from django.test import Client
from django.utils import timezone
from inngest.experimental import mocked

from django_inngest_realtime.confirmations import Notice, NoticeSkipped, decide, outbox
from django_inngest_realtime.models import Confirmation, ConfirmationNotice
from tests.confirmations.inngest_app import ask, functions
from tests.confirmations.smtp import Mailbox
from tests.confirmations.test_admin import change_url
from tests.confirmations.test_outbox import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
SITE = "https://approvals.example.com"


def request(**data: Any) -> Confirmation:
    """Run the ``ask`` function (run id "test", as Inngest replays it) and load its row."""
    event = inngest.Event(name="agent/ask", data={"id": "n", "title": "Deploy", **data})
    res = mocked.trigger(ask, event, functions)
    assert res.status is mocked.Status.COMPLETED, res.error
    return Confirmation.objects.get(token=res.output)


def handled(kind: str = "request") -> bool:
    """Every notice of this kind sent or skipped (False while SQLite's in-memory test database,
    shared between this thread and the outbox's, reports the table locked by a writer)."""
    rows = ConfirmationNotice.objects.filter(kind=kind)
    try:
        return rows.exists() and not rows.filter(delivered_at__isnull=True).exists()
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False


def drain_all() -> str:
    out = io.StringIO()
    call_command("drain_confirmation_outbox", "--all", stdout=out)
    return out.getvalue()


@pytest.fixture
def team(make_user: Any) -> dict[str, Any]:
    """alice and bob (with addresses), carol (none), dave (inactive); ops: alice, bob, dave."""
    people = {name: make_user(name) for name in ("alice", "bob", "carol", "dave")}
    for name in ("alice", "bob", "dave"):
        people[name].email = f"{name}@example.com"
    people["dave"].is_active = False
    for user in people.values():
        user.save()
    ops = Group.objects.create(name="ops")
    ops.user_set.add(people["alice"], people["bob"], people["dave"])
    return people


def test_each_assignee_gets_one_email_even_when_the_smtp_server_fails_once(
    mailbox: Mailbox, team: dict[str, Any]
) -> None:
    mailbox.refuse_next = 1
    c = request(assignees=["alice", "carol"], groups=["ops"], message="Ship v2 to production?")

    wait_until(lambda: handled("request"))

    assert mailbox.refused == 1
    assert sorted(m["To"] for m in mailbox.messages) == ["alice@example.com", "bob@example.com"]
    rows = ConfirmationNotice.objects.filter(kind="request")
    assert sorted(r.user.username for r in rows) == ["alice", "bob", "carol"]  # not dave
    sent = rows.filter(skipped="")
    assert sorted(sent.values_list("attempts", flat=True)) == [1, 2]  # one retried
    assert rows.get(user=team["carol"]).skipped == "user carol has no email address"
    [message] = mailbox.to("alice@example.com")
    assert message["Subject"] == "Deploy (your decision is needed)"
    assert message["From"] == "approvals@example.com"
    token, alice = c.token, team["alice"]
    message_id = f"<confirmation-{token}-{alice.pk}-request@approvals.example.com>"
    assert message["Message-ID"].strip() == message_id  # the same on every attempt
    body = message.get_content()
    assert "Ship v2 to production?" in body and "Hello alice," in body
    assert f"{SITE}/confirmations/{token}/" in body

    # Inngest replays the step; the outbox is drained again: nothing more is sent.
    assert request(assignees=["alice", "carol"], groups=["ops"]).token == token
    assert ConfirmationNotice.objects.filter(kind="request").count() == 3
    drain_all()
    drain_all()
    assert mailbox.count() == 2

    # The link asks to log in, then shows the confirmation.
    path = f"/confirmations/{token}/"
    assert Client().get(path)["Location"].startswith("/accounts/login/")
    client = Client()
    client.force_login(alice)
    assert "Ship v2 to production?" in client.get(path).content.decode()


def test_a_reminder_arrives_once_before_expiry(
    mailbox: Mailbox, team: dict[str, Any], settings: Any
) -> None:
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "CONFIRMATION_REMINDER_BEFORE": 3599}
    c = request(assignees=["alice"], timeout="1h", options=["Staging", "Production"])

    wait_until(lambda: len(mailbox.to("alice@example.com")) == 2)
    wait_until(lambda: handled("reminder"))
    drain_all()
    drain_all()

    first, reminder = mailbox.to("alice@example.com")
    assert reminder["Subject"] == "Reminder: Deploy"
    assert reminder["Message-ID"] != first["Message-ID"]
    body = reminder.get_content()
    assert "still waits for your decision" in body
    assert "Options: Staging, Production" in body and f"{SITE}/confirmations/{c.token}/" in body
    assert mailbox.count() == 2


def test_the_drain_command_fires_a_due_reminder(
    mailbox: Mailbox, team: dict[str, Any], settings: Any
) -> None:
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "CONFIRMATION_REMINDER_BEFORE": 3599}
    request(assignees=["alice"], timeout="1h")
    wait_until(lambda: handled("request"))
    outbox.retrier.stop()  # this process's retrier is gone: only the command can send it
    reminder = ConfirmationNotice.objects.get(kind="reminder")
    assert reminder.delivered_at is None and reminder.attempts == 0
    assert "Delivered 0" in drain_all()  # not due yet: --all does not send reminders early

    def drained() -> bool:
        call_command("drain_confirmation_outbox", stdout=io.StringIO())
        return len(mailbox.to("alice@example.com")) == 2

    wait_until(drained)
    assert mailbox.to("alice@example.com")[1]["Subject"] == "Reminder: Deploy"


def test_no_reminder_once_decided(mailbox: Mailbox, team: dict[str, Any], settings: Any) -> None:
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "CONFIRMATION_REMINDER_BEFORE": 3599}
    c = request(assignees=["alice"], timeout="1h")
    wait_until(lambda: handled("request"))

    decide(c.token, approved=True, user=team["alice"])

    wait_until(lambda: handled("reminder"))
    assert ConfirmationNotice.objects.get(kind="reminder").skipped == (
        "the confirmation is approved"
    )
    assert len(mailbox.to("alice@example.com")) == 1


def test_a_rolled_back_confirmation_notifies_nobody(mailbox: Mailbox, team: dict[str, Any]) -> None:
    from django.db import transaction

    from django_inngest_realtime.confirmations.notices import notify_assignees

    with pytest.raises(RuntimeError), transaction.atomic():
        c = Confirmation.objects.create(
            message="Never committed", channel="agentic:t", topic="messages", event_name="e",
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        )  # fmt: skip
        c.assignees.set([team["alice"]])
        assert notify_assignees(c) == 1
        raise RuntimeError("the step failed")
    assert not ConfirmationNotice.objects.exists()
    drain_all()
    assert mailbox.count() == 0


def test_without_a_site_url_the_notice_waits_with_a_clear_error(
    mailbox: Mailbox, team: dict[str, Any], settings: Any
) -> None:
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "SITE_URL": "",
        "API_BASE_URL": "",
        "OUTBOX_RETRY_BASE": 3600.0,
    }
    c = request(assignees=["alice"])
    wait_until(lambda: ConfirmationNotice.objects.get(kind="request").attempts == 1)
    notice = ConfirmationNotice.objects.get(kind="request")
    assert notice.delivered_at is None and "set INNGEST_REALTIME['SITE_URL']" in notice.last_error
    assert mailbox.count() == 0

    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "API_BASE_URL": "https://rt.example/"}
    assert "Delivered 1" in drain_all()
    [message] = mailbox.messages
    assert f"https://rt.example/confirmations/{c.token}/" in message.get_content()


#: What the custom notifier below was given.
noticed: list[Notice] = []


def remember(notice: Notice) -> None:
    """A custom notifier: ``CONFIRMATION_NOTIFIER`` names it by its dotted path."""
    if notice.user.username == "bob":
        raise NoticeSkipped("bob is on holiday")
    noticed.append(notice)


def test_a_custom_notifier_and_notices_off(team: dict[str, Any], settings: Any) -> None:
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "SITE_URL": SITE,
        "CONFIRMATION_NOTIFIER": "tests.confirmations.test_notices.remember",
    }
    noticed.clear()
    c = request(assignees=["alice", "bob"])
    wait_until(lambda: handled("request"))
    [notice] = noticed
    assert (notice.kind, notice.user, notice.confirmation) == ("request", team["alice"], c)
    assert notice.url == f"{SITE}/confirmations/{c.token}/" and not notice.is_reminder
    assert ConfirmationNotice.objects.get(user=team["bob"]).skipped == "bob is on holiday"

    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "CONFIRMATION_NOTIFIER": ""}
    Confirmation.objects.all().delete()
    request(assignees=["alice", "bob"])
    assert not ConfirmationNotice.objects.exists()


def test_admin_shows_who_was_notified_and_notifies_added_assignees(
    mailbox: Mailbox, team: dict[str, Any], make_user: Any
) -> None:  # an editor may change assignees (decide_confirmation is not needed for that)
    c = request(assignees=["alice"])
    wait_until(lambda: handled("request"))
    editor = make_user("editor", view=True, staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_confirmation"))
    client = Client()
    client.force_login(editor)
    page = client.get(change_url(c))
    html = page.content.decode()
    assert "notices (who was notified, and when)" in html.lower()
    assert "alice" in html and "sent " in html

    # Add bob as an assignee on the change page (the whole form, as a browser posts it).
    form = page.context["adminform"].form
    formset = page.context["inline_admin_formsets"][0].formset
    data = {
        f"{formset.prefix}-{k}": v
        for k, v in formset.management_form.initial.items()  # type: ignore[union-attr]
    }
    data.update(assignees=[team["alice"].pk, team["bob"].pk], assignee_groups=[], _save="Save")
    assert form.fields.keys() == {"assignees", "assignee_groups"}
    res = client.post(change_url(c), data)
    assert res.status_code == 302, res.content.decode()[:2000]

    wait_until(lambda: len(mailbox.to("bob@example.com")) == 1)
    wait_until(lambda: handled("request"))
    assert len(mailbox.to("alice@example.com")) == 1
    html = client.get(change_url(c)).content.decode()
    assert html.count("sent ") >= 2 and "bob" in html


#: Notices the notifier below sent.
held: list[Notice] = []


def hold_the_table(notice: Notice) -> None:
    """A notifier during which another connection writes the notice's row and keeps its
    transaction open a moment: the outbox records the send meanwhile (on SQLite, "database
    table is locked"; on PostgreSQL, a row lock)."""
    written = threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                rows = ConfirmationNotice.objects.filter(confirmation=notice.confirmation)
                rows.update(last_error="held by another writer")
                written.set()
                time.sleep(0.5)  # the lock held while the outbox records the send
        finally:
            connections.close_all()

    threading.Thread(target=writer, daemon=True).start()
    assert written.wait(30)
    held.append(notice)


def test_a_locked_database_neither_loses_nor_repeats_a_sent_notice(
    team: dict[str, Any], settings: Any
) -> None:
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "SITE_URL": SITE,
        "CONFIRMATION_NOTIFIER": "tests.confirmations.test_notices.hold_the_table",
        "OUTBOX_RETRY_BASE": 3600.0,
        "OUTBOX_RETRY_MAX": 3600.0,
        # The run's own status row is written as the run ends, while the writer above may
        # hold SQLite's in-memory table lock (which does not wait): this test is the
        # outbox's, so the run status is off here (tests/test_run_status.py has its own).
        "RUN_STATUS": False,
    }
    held.clear()
    request(assignees=["alice"])
    wait_until(lambda: handled("request"))
    notice = ConfirmationNotice.objects.get(kind="request")
    assert (notice.attempts, notice.last_error, notice.skipped) == (1, "", "")
    drain_all()
    assert len(held) == 1
