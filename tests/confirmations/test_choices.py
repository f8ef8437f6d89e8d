"""Choices: named options (one, or several with ``multiple``), through every way in."""

from __future__ import annotations

import json
from typing import Any

import inngest
import pytest
from django.test import Client
from inngest.experimental import mocked

from django_inngest_realtime.confirmations import (
    InvalidChoice,
    InvalidResponse,
    decide,
)
from django_inngest_realtime.confirmations.choices import check_default, check_options
from django_inngest_realtime.models import Confirmation, ConfirmationReply
from django_inngest_realtime.signals import confirmation_requested
from django_inngest_realtime.testing.capture import capture_messages
from tests.confirmations.inngest_app import agent, agent_sync, functions
from tests.confirmations.test_admin import act, change_url, messages_of, staff

pytestmark = pytest.mark.django_db(transaction=True)
TARGETS = ["Staging", "Production", "Skip"]
SCHEMA = "tests.confirmations.inngest_app.Budget"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(c: Confirmation, client: Client, body: Any) -> Any:
    return client.post(
        f"/confirmations/{c.token}/decide", json.dumps(body), content_type="application/json"
    )


# -- the service ------------------------------------------------------------------------


def test_choosing_an_option_approves_with_it(make_user, make_confirmation, event_api):
    c = make_confirmation(options=TARGETS)
    with capture_messages() as captured:
        decision = decide(c.token, approved=True, user=make_user("alice"), chosen=["Production"])
    assert decision.chosen == ["Production"] and decision.choice == "Production"
    assert decision.approved and decision.status == "approved"
    c.refresh_from_db()
    assert (c.status, c.chosen) == ("approved", ["Production"])
    [event] = event_api.received()
    assert event["data"]["chosen"] == ["Production"]
    [state] = captured.data("agentic:t", "messages")
    assert state["chosen"] == ["Production"] and state["options"] == TARGETS
    assert state["multiple"] is False


def test_an_option_name_alone_is_one_choice(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS)
    assert decide(c.token, approved=True, user=make_user("alice"), chosen="Skip").chosen == ["Skip"]


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        (["Moon"], "Unknown option(s) 'Moon': choose from 'Staging', 'Production', 'Skip'."),
        (["Staging", "Production"], "Choose only one option, not 2: Staging, Production."),
        ([], "Choose one of: 'Staging', 'Production', 'Skip'."),
        (None, "Choose one of"),
        ([3], "Unknown option(s) 3"),
        ({"Staging": True}, "chosen takes a list of option names"),
    ],
)
def test_a_bad_choice_is_refused_and_changes_nothing(
    make_user, make_confirmation, event_api, chosen, message
):
    c = make_confirmation(options=TARGETS)
    with pytest.raises(InvalidChoice) as exc:
        decide(c.token, approved=True, user=make_user("alice"), chosen=chosen)
    assert message in str(exc.value)
    assert isinstance(exc.value, InvalidResponse) and exc.value.errors[0]["loc"] == ["chosen"]
    c.refresh_from_db()
    assert c.status == "pending" and c.chosen is None
    assert not ConfirmationReply.objects.exists() and event_api.received() == []


def test_several_options_in_the_offered_order(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS, multiple=True)
    decision = decide(
        c.token, approved=True, user=make_user("alice"), chosen=["Skip", "Staging", "Skip"]
    )
    assert decision.chosen == ["Staging", "Skip"]


def test_choices_on_a_yes_no_confirmation_and_on_a_rejection_are_refused(
    make_user, make_confirmation
):
    alice = make_user("alice")
    plain = make_confirmation()
    with pytest.raises(InvalidChoice, match="offers no options"):
        decide(plain.token, approved=True, user=alice, chosen=["Staging"])
    c = make_confirmation(options=TARGETS)
    with pytest.raises(InvalidChoice, match="A rejection chooses no option"):
        decide(c.token, approved=False, user=alice, chosen=["Staging"])
    rejected = decide(c.token, approved=False, user=alice)
    assert rejected.status == "rejected" and rejected.chosen == []


def test_the_response_schema_still_applies_beside_options(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS, response_schema=SCHEMA)
    alice = make_user("alice")
    with pytest.raises(InvalidResponse, match="amount"):
        decide(c.token, approved=True, user=alice, chosen=["Staging"], data={"amount": "x"})
    decision = decide(c.token, approved=True, user=alice, chosen=["Staging"], data={"amount": 5})
    assert decision.chosen == ["Staging"] and decision.data == {"amount": 5, "note": ""}


def test_request_time_checks_name_the_problem():
    assert check_options(TARGETS, False) == TARGETS
    for options, multiple, error, text in [
        ("Staging", False, TypeError, "not the string"),
        (["a", "a"], False, ValueError, "repeated: a"),
        ([], True, ValueError, "multiple=True needs options"),
        (["ok", ""], False, TypeError, "non-empty string"),
        (["x" * 201], False, ValueError, "longer than 200"),
        (["a"], "yes", TypeError, "multiple takes True or False"),
    ]:
        with pytest.raises(error, match=text):
            check_options(options, multiple)
    assert check_default("Skip", TARGETS, False) == ("choose", ["Skip"])
    assert check_default(["Skip", "Staging"], TARGETS, True) == ("choose", ["Staging", "Skip"])
    assert check_default(False, TARGETS, False) == ("reject", [])
    assert check_default(None, [], False) == ("", [])
    for default, options, multiple, text in [
        (True, TARGETS, False, "name the option"),
        ("Moon", TARGETS, False, "Unknown option"),
        (["Skip", "Staging"], TARGETS, False, "only one option"),
        ("Skip", [], False, "need options"),
        ([], TARGETS, True, "an option name or a list"),
    ]:
        with pytest.raises((TypeError, ValueError), match=text):
            check_default(default, options, multiple)


# -- the function side (the SDK's own executor) --------------------------------------------


def run(fn: Any = agent, event: str = "agent/run", stubs: Any = None, **data: Any) -> Any:
    res = mocked.trigger(
        fn, inngest.Event(name=event, data={"id": "1", **data}), functions, step_stubs=stubs
    )
    assert res.status is mocked.Status.COMPLETED, res.error
    return res.output


def test_the_function_gets_the_chosen_option(make_user):
    alice = make_user("alice")

    def choose(sender: Any, confirmation: Confirmation, **kwargs: Any) -> None:
        decide(confirmation.token, approved=True, user=alice, chosen=["Staging"])

    confirmation_requested.connect(choose)
    try:
        with capture_messages() as captured:
            out = run(options=TARGETS)
    finally:
        confirmation_requested.disconnect(choose)
    assert out["outcome"] == "approved" and out["chosen"] == ["Staging"]
    prompt = captured.data("agentic:1", "messages")[0]
    assert prompt["options"] == TARGETS and prompt["multiple"] is False
    assert Confirmation.objects.get().options == TARGETS


@pytest.mark.parametrize(("fn", "event"), [(agent, "agent/run"), (agent_sync, "agent/sync")])
def test_a_timeout_default_naming_an_option_returns_a_decision(fn, event):
    out = run(fn, event, {"confirmation:wait": mocked.Timeout}, options=TARGETS, default="Skip")
    assert out["outcome"] == "approved" and out["status"] == "expired"
    assert out["timed_out"] is True and out["chosen"] == ["Skip"] and out["by"] is None
    c = Confirmation.objects.get()
    assert (c.status, c.default_outcome, c.default_options) == ("expired", "choose", ["Skip"])


def test_several_default_options(make_user):
    out = run(
        stubs={"confirmation:wait": mocked.Timeout},
        options=TARGETS,
        multiple=True,
        default=["Skip", "Staging"],
    )
    assert out["chosen"] == ["Staging", "Skip"] and out["timed_out"] is True


def test_a_bad_default_fails_the_run_before_anything_is_created():
    res = mocked.trigger(
        agent,
        inngest.Event(name="agent/run", data={"id": "1", "options": TARGETS, "default": "Moon"}),
        functions,
    )
    assert res.status is mocked.Status.FAILED
    assert "Unknown option(s) 'Moon'" in str(res.error)
    assert not Confirmation.objects.exists()


# -- the JSON API ----------------------------------------------------------------------------


def test_api_chooses_and_refuses_bad_choices(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS)
    client = logged_in(make_user("alice"))
    unknown = api(c, client, {"chosen": ["Moon"]})
    assert unknown.status_code == 400
    assert "Unknown option(s) 'Moon'" in unknown.json()["error"]
    assert unknown.json()["errors"][0]["loc"] == ["chosen"]
    two = api(c, client, {"approved": True, "chosen": ["Staging", "Skip"]})
    assert two.status_code == 400 and "only one option" in two.json()["error"]
    assert api(c, client, {"approved": True}).status_code == 400

    res = api(c, client, {"chosen": ["Skip"]})

    assert res.status_code == 200, res.content
    body = res.json()
    assert (body["status"], body["approved"], body["chosen"]) == ("approved", True, ["Skip"])
    again = api(c, client, {"chosen": ["Staging"]})
    assert again.status_code == 409


# -- the page, without JavaScript ----------------------------------------------------------


def test_page_shows_a_button_per_option_and_records_the_choice(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS)
    client = logged_in(make_user("alice"))
    html = client.get(f"/confirmations/{c.token}/").content.decode()
    for option in TARGETS:
        assert f'name="choice" value="{option}"' in html
    assert 'value="approve"' not in html and 'value="reject"' not in html

    bad = client.post(f"/confirmations/{c.token}/", {"choice": "Moon"})
    assert bad.status_code == 400 and "Unknown option(s) &#x27;Moon&#x27;" in bad.content.decode()
    res = client.post(f"/confirmations/{c.token}/", {"choice": "Production"})

    assert res.status_code == 302
    page = client.get(f"/confirmations/{c.token}/").content.decode()
    assert "Confirmation approved: Production." in page
    assert "Chosen: <strong>Production</strong>" in page


def test_page_with_several_options_uses_checkboxes(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS, multiple=True)
    client = logged_in(make_user("alice"))
    html = client.get(f"/confirmations/{c.token}/").content.decode()
    assert html.count('type="checkbox" name="choice"') == 3
    none = client.post(f"/confirmations/{c.token}/", {"decision": "approve"})
    assert none.status_code == 400 and "Choose one of" in none.content.decode()

    client.post(
        f"/confirmations/{c.token}/", {"decision": "approve", "choice": ["Skip", "Staging"]}
    )

    c.refresh_from_db()
    assert (c.status, c.chosen) == ("approved", ["Staging", "Skip"])


# -- the admin -------------------------------------------------------------------------------


def test_admin_option_buttons(make_user, make_confirmation, event_api):
    c = make_confirmation(options=TARGETS)
    client = staff(make_user, "alice")
    html = client.get(change_url(c)).content.decode()
    for option in TARGETS:
        assert f'name="_choose" value="{option}"' in html
    assert 'name="_approve"' not in html and 'name="_reject"' not in html

    res = client.post(change_url(c), {"_choose": "Staging"}, follow=True)

    assert "Confirmation approved: Staging." in messages_of(res)
    c.refresh_from_db()
    assert (c.status, c.chosen) == ("approved", ["Staging"])
    assert event_api.received()[0]["data"]["chosen"] == ["Staging"]


def test_admin_checkboxes_for_several(make_user, make_confirmation):
    c = make_confirmation(options=TARGETS, multiple=True)
    client = staff(make_user, "alice")
    html = client.get(change_url(c)).content.decode()
    assert html.count('type="checkbox" name="_chosen"') == 3
    client.post(change_url(c), {"_approve": "1", "_chosen": ["Production", "Staging"]})
    c.refresh_from_db()
    assert c.chosen == ["Staging", "Production"]


def test_admin_bulk_approve_asks_to_open_a_confirmation_with_options(make_user, make_confirmation):
    plain, with_options = make_confirmation(), make_confirmation(options=TARGETS)
    res = act(staff(make_user, "alice"), "approve_selected", plain, with_options)
    msgs = messages_of(res)
    assert "Approved 1 confirmation(s)." in msgs
    assert any("Choose one of" in m and "Open it to choose." in m for m in msgs)
    with_options.refresh_from_db()
    assert with_options.status == "pending"
    # Rejecting needs no option.
    act(staff(make_user, "bob"), "reject_selected", with_options)
    with_options.refresh_from_db()
    assert with_options.status == "rejected"
