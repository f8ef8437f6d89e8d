"""request_confirmation / wait_for_confirmation run by the SDK's own executor (mocked.trigger).

``mocked.trigger`` replays the function once per step, as Inngest does. Step stubs stand for
what Inngest recorded: a stubbed ``confirmation:check`` is a check that read "pending", a
stubbed ``confirmation:wait`` is the reply event (or ``mocked.Timeout``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import inngest
import pytest
from inngest.experimental import mocked

from django_inngest_realtime.confirmations import Expired, decide, parse_timeout
from django_inngest_realtime.models import Confirmation
from django_inngest_realtime.signals import confirmation_requested
from django_inngest_realtime.testing.capture import capture_messages
from tests.confirmations.inngest_app import agent, agent_sync, functions, two_asks

pytestmark = pytest.mark.django_db(transaction=True)
PENDING_CHECK = {"pending": True, "timeout_s": 900}


def run(
    fn: Any = agent, event: str = "agent/run", stubs: dict[str, Any] | None = None, **data: Any
) -> Any:
    res = mocked.trigger(
        fn, inngest.Event(name=event, data={"id": "1", **data}), functions, step_stubs=stubs
    )
    assert res.status is mocked.Status.COMPLETED, res.error
    return res.output


@pytest.fixture
def approver(make_user: Any) -> Iterator[list[str]]:
    """Someone who approves each confirmation the moment it is created."""
    alice = make_user("alice")
    tokens: list[str] = []

    def approve(sender: Any, confirmation: Confirmation, **kwargs: Any) -> None:
        tokens.append(str(confirmation.token))
        decide(confirmation.token, approved=True, user=alice, data={"note": "go"})

    confirmation_requested.connect(approve)
    yield tokens
    confirmation_requested.disconnect(approve)


def reply(token: str, status: str = "approved") -> dict[str, Any]:
    return {
        "name": "inngest-realtime/confirmation.decided",
        "data": {"token": token, "status": status},
    }


def test_decision_before_the_wait_is_returned_without_waiting(approver, event_api):
    # No stub for the wait step: had the function waited, mocked.trigger would fail it.
    with capture_messages() as captured:
        out = run()
    assert out["outcome"] == "approved" and out["by"] == "alice" and out["data"] == {"note": "go"}
    assert approver == [out["token"]]
    statuses = [m["status"] for m in captured.data("agentic:1", "messages")]
    assert statuses == ["pending", "approved"]
    prompt = captured.data("agentic:1", "messages")[0]
    assert prompt["message"] == "Confirm to proceed?" and prompt["title"] == "Deploy"
    assert prompt["token"] == out["token"] and prompt["expires_at"]
    assert [e["data"]["token"] for e in event_api.received()] == [out["token"]]


def test_replays_create_one_confirmation(approver):
    created: list[str] = []
    confirmation_requested.connect(
        lambda sender, confirmation, **kw: created.append(str(confirmation.token)), weak=False
    )
    try:
        first = run()
        # The same run executed again from scratch (Inngest lost the step's result).
        again = run()
    finally:
        confirmation_requested.receivers.clear()
    assert Confirmation.objects.count() == 1
    assert first["token"] == again["token"] == str(Confirmation.objects.get().token)
    assert created == [first["token"]]
    c = Confirmation.objects.get()
    assert (c.run_id, c.step_id, c.fn_id) == ("test", "confirmation", "confirmation-tests-agent")


def test_reply_event_resumes_with_the_decision_in_the_database(approver):
    # The check read "pending", then the person decided and the reply event arrived.
    out = run(stubs={"confirmation:check": PENDING_CHECK, "confirmation:wait": reply("x")})
    assert out["outcome"] == "approved" and out["by"] == "alice"


def test_decision_that_races_the_timeout_wins(approver):
    out = run(stubs={"confirmation:check": PENDING_CHECK, "confirmation:wait": mocked.Timeout})
    assert out["outcome"] == "approved" and out["timed_out"] is False
    assert Confirmation.objects.get().status == "approved"


def test_timeout_expires_it_and_a_late_decision_is_refused(make_user):
    with capture_messages() as captured:
        out = run(stubs={"confirmation:wait": mocked.Timeout})
    assert out == {"token": out["token"], "outcome": "timeout"}
    c = Confirmation.objects.get()
    assert c.status == "expired"
    assert [m["status"] for m in captured.data("agentic:1", "messages")] == ["pending", "expired"]
    with pytest.raises(Expired):
        decide(c.token, approved=True, user=make_user("alice"))


@pytest.mark.parametrize(("default", "outcome"), [(True, "approved"), (False, "rejected")])
def test_timeout_applies_the_default_outcome(default, outcome):
    out = run(stubs={"confirmation:wait": mocked.Timeout}, default=default)
    assert out["outcome"] == outcome and out["timed_out"] is True and out["by"] is None
    assert Confirmation.objects.get().status == "expired"


def test_a_reply_for_a_row_still_pending_retries_the_step():
    # A reply event the database does not reflect (e.g. a lagging replica) is not trusted.
    res = mocked.trigger(
        agent,
        inngest.Event(name="agent/run", data={"id": "1"}),
        functions,
        step_stubs={"confirmation:wait": reply("forged")},
    )
    assert res.status is mocked.Status.FAILED
    assert "still shows it pending" in str(res.error)
    assert Confirmation.objects.get().status == "pending"


def test_assignees_are_recorded(make_user):
    bob = make_user("bob")
    run(stubs={"confirmation:wait": mocked.Timeout}, assignees=["bob"])
    assert list(Confirmation.objects.get().assignees.all()) == [bob]


def test_unknown_assignee_fails_the_run_clearly():
    res = mocked.trigger(
        agent, inngest.Event(name="agent/run", data={"id": "1", "assignees": ["nobody"]}), functions
    )
    assert res.status is mocked.Status.FAILED
    assert "no User with that username" in str(res.error)


def test_no_inngest_client_fails_the_run_before_anything_is_created(settings):
    settings.INNGEST_REALTIME = {**settings.INNGEST_REALTIME, "INNGEST_CLIENT": ""}
    res = mocked.trigger(agent, inngest.Event(name="agent/run", data={"id": "1"}), functions)
    assert res.status is mocked.Status.FAILED
    assert "INNGEST_CLIENT" in str(res.error)
    assert not Confirmation.objects.exists()


def test_sync_function(approver):
    out = run(agent_sync, "agent/sync")
    assert out["outcome"] == "approved" and out["by"] == "alice"
    assert Confirmation.objects.get().fn_id == "confirmation-tests-agent-sync"


def test_sync_function_timeout():
    out = run(agent_sync, "agent/sync", stubs={"confirmation:wait": mocked.Timeout})
    assert out["outcome"] == "timeout"


def test_the_same_step_id_twice_asks_twice():
    tokens = run(two_asks, "agent/two")
    assert len(set(tokens)) == 2
    assert sorted(Confirmation.objects.values_list("step_id", flat=True)) == [
        "confirmation",
        "confirmation:1",
    ]
    assert run(two_asks, "agent/two") == tokens  # and replays keep them apart


def test_timeouts():
    assert parse_timeout("1h30m") == datetime.timedelta(hours=1, minutes=30)
    assert parse_timeout("500ms") == datetime.timedelta(milliseconds=500)
    assert parse_timeout(datetime.timedelta(days=2)) == datetime.timedelta(days=2)
    for bad in ("", "15", "15 minutes", "0s"):
        with pytest.raises(ValueError, match="timeout"):
            parse_timeout(bad)
