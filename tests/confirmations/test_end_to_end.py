"""The agentic workflow over real HTTP: the Inngest server double runs the function
(served by Django's live server), the reply event goes from decide() to the double."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from django_inngest_realtime.confirmations import Expired, decide
from django_inngest_realtime.models import Confirmation
from django_inngest_realtime.signals import confirmation_requested
from django_inngest_realtime.testing import pytest_plugin
from django_inngest_realtime.testing.inngest_server import InngestServerDouble
from tests.confirmations import e2e_app
from tests.confirmations.test_outbox import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
inngest_server = pytest_plugin.inngest_server


@pytest.fixture
def inngest_server_options() -> dict[str, Any]:
    return {"port": e2e_app.DOUBLE_PORT}


@pytest.fixture
def double(
    inngest_server: InngestServerDouble, live_server: Any, settings: Any
) -> InngestServerDouble:
    settings.ROOT_URLCONF = "tests.confirmations.e2e_app"
    settings.INNGEST_REALTIME = {
        **settings.INNGEST_REALTIME,
        "INNGEST_CLIENT": "tests.confirmations.e2e_app.client",
    }
    inngest_server.sync(f"{live_server.url}/api/inngest")
    return inngest_server


def waiting(run: Any) -> bool:
    return run.function_id.endswith("agent") and run.waiting_for is not None


def test_the_reply_resumes_the_waiting_function(double, make_user):
    double.send_event("e2e/agent", {"id": "e1"})
    run = double.wait_for_run(waiting, finished=False)
    c = Confirmation.objects.get()
    assert c.status == "pending" and c.run_id == run.run_id
    assert run.waiting_for["event"] == "inngest-realtime/confirmation.decided"
    assert run.waiting_for["if"] == f'async.data.token == "{c.token}"'

    decide(c.token, approved=True, user=make_user("alice"))

    done = double.wait_for_run(run.run_id)
    assert done.status == "Completed", done.error
    assert done.output == {"outcome": "approved", "by": "alice", "token": str(c.token)}
    assert done.ops() == ["StepRun", "StepRun", "WaitForEvent", "StepRun"]


def test_a_reply_sent_before_the_wait_is_not_missed(double, make_user):
    # The double, like Inngest, has no lookback: an event sent before the wait is not seen.
    alice = make_user("alice")

    def approve_at_once(sender: Any, confirmation: Confirmation, **kwargs: Any) -> None:
        decide(confirmation.token, approved=False, user=alice)

    confirmation_requested.connect(approve_at_once)
    try:
        double.send_event("e2e/agent", {"id": "e2"})
        done = double.wait_for_run(lambda r: r.function_id.endswith("agent"))
    finally:
        confirmation_requested.disconnect(approve_at_once)

    assert done.status == "Completed", done.error
    assert done.output["outcome"] == "rejected" and done.output["by"] == "alice"
    assert "WaitForEvent" not in done.ops()


def test_timeout_then_a_late_decision_is_refused(double, make_user):
    double.configure(max_sleep=0.2)
    double.send_event("e2e/agent", {"id": "e3"})
    done = double.wait_for_run(lambda r: r.function_id.endswith("agent"))
    assert done.status == "Completed", done.error
    assert done.output["outcome"] == "timeout"
    c = Confirmation.objects.get()
    assert c.status == "expired"
    with pytest.raises(Expired):
        decide(c.token, approved=True, user=make_user("alice"))


def test_the_chosen_option_reaches_the_waiting_function(double, make_user):
    double.send_event("e2e/agent", {"id": "e4", "options": ["Staging", "Production"]})
    run = double.wait_for_run(waiting, finished=False)
    c = Confirmation.objects.get()

    decide(c.token, approved=True, user=make_user("alice"), chosen=["Production"])

    done = double.wait_for_run(run.run_id)
    assert done.status == "Completed", done.error
    assert done.output == {
        "outcome": "approved",
        "by": "alice",
        "token": str(c.token),
        "chosen": ["Production"],
        "timed_out": False,
    }


def test_a_timeout_default_naming_an_option_returns_that_option(double):
    double.configure(max_sleep=0.2)
    double.send_event("e2e/agent", {"id": "e5", "options": ["Go", "Skip"], "default": "Skip"})
    done = double.wait_for_run(lambda r: r.function_id.endswith("agent"))
    assert done.status == "Completed", done.error
    token = str(Confirmation.objects.get().token)
    assert done.output == {
        "outcome": "expired",
        "by": None,
        "token": token,
        "chosen": ["Skip"],
        "timed_out": True,
    }


def test_the_assignee_is_emailed_follows_the_link_and_chooses(double, make_user, mailbox):
    """The whole loop: the run asks, the assignee gets an email (through a real SMTP
    server), opens its link, picks an option on the page, and the run goes on with it."""
    alice = make_user("alice")
    alice.email = "alice@example.com"
    alice.save()
    double.send_event("e2e/agent", {"id": "e6", "options": ["Go", "Skip"], "assignees": ["alice"]})
    run = double.wait_for_run(waiting, finished=False)
    c = Confirmation.objects.get()

    wait_until(lambda: len(mailbox.to("alice@example.com")) == 1)
    [email] = mailbox.to("alice@example.com")
    link = next(line for line in email.get_content().splitlines() if "/confirmations/" in line)
    assert link == f"https://approvals.example.com/confirmations/{c.token}/"
    client = Client()
    client.force_login(alice)
    path = urlsplit(link).path
    assert 'name="choice" value="Go"' in client.get(path).content.decode()
    assert client.post(path, {"choice": "Go"}).status_code == 302

    done = double.wait_for_run(run.run_id)
    assert done.status == "Completed", done.error
    assert done.output["chosen"] == ["Go"] and done.output["by"] == "alice"
