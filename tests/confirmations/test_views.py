"""The confirmation page (no JavaScript needed) and the JSON decision API."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from django_inngest_realtime.models import ConfirmationReply

pytestmark = pytest.mark.django_db(transaction=True)
SCHEMA = "tests.confirmations.inngest_app.Budget"


def page(c) -> str:
    return f"/confirmations/{c.token}/"


def api(c, client: Client, body, **extra):
    return client.post(
        f"/confirmations/{c.token}/decide",
        json.dumps(body),
        content_type="application/json",
        **extra,
    )


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_page_shows_the_prompt_and_buttons(make_user, make_confirmation):
    c = make_confirmation(message="Deploy v2 to production?")
    res = logged_in(make_user("alice")).get(page(c))
    assert res.status_code == 200
    html = res.content.decode()
    assert "Deploy v2 to production?" in html and "Pending" in html
    assert 'name="decision" value="approve"' in html and 'name="decision" value="reject"' in html


def test_approving_from_the_page_redirects_back_and_shows_who(
    make_user, make_confirmation, event_api
):
    c = make_confirmation()
    client = logged_in(make_user("alice"))

    res = client.post(page(c), {"decision": "approve"})

    assert res.status_code == 302 and res["Location"] == page(c)
    html = client.get(page(c)).content.decode()
    assert "Approved" in html and "by alice" in html and "Confirmation approved." in html
    assert 'value="approve"' not in html
    assert [e["data"]["status"] for e in event_api.received()] == ["approved"]


def test_a_second_decision_from_the_page_is_reported(make_user, make_confirmation):
    c = make_confirmation()
    alice, bob = logged_in(make_user("alice")), logged_in(make_user("bob"))
    alice.post(page(c), {"decision": "approve"})

    res = bob.post(page(c), {"decision": "reject"}, follow=True)

    assert "already approved by alice" in res.content.decode()
    c.refresh_from_db()
    assert c.status == "approved"


def test_page_with_schema_shows_the_fields_and_rejects_bad_data(make_user, make_confirmation):
    c = make_confirmation(response_schema=SCHEMA)
    client = logged_in(make_user("alice"))
    assert "amount (int, required)" in client.get(page(c)).content.decode()

    res = client.post(page(c), {"decision": "approve", "response": '{"amount": "lots"}'})

    assert res.status_code == 400
    assert "amount" in res.content.decode() and "valid integer" in res.content.decode()
    c.refresh_from_db()
    assert c.status == "pending"
    client.post(page(c), {"decision": "approve", "response": '{"amount": 5}'})
    c.refresh_from_db()
    assert c.response_data == {"amount": 5, "note": ""}


def test_who_sees_the_page(make_user, make_confirmation):
    alice = make_user("alice")
    c = make_confirmation(assignees=[alice])
    assert Client().get(page(c)).status_code == 302  # to the login page
    assert logged_in(make_user("mallory", decide=False)).get(page(c)).status_code == 403
    other = logged_in(make_user("bob"))  # has the permission but is not an assignee
    assert other.get(page(c)).status_code == 403
    viewer = logged_in(make_user("vic", decide=False, view=True)).get(page(c))
    assert viewer.status_code == 200 and 'value="approve"' not in viewer.content.decode()
    assert 'value="approve"' in logged_in(alice).get(page(c)).content.decode()
    assert Client().get(f"/confirmations/{uuid.uuid4()}/").status_code == 302
    assert logged_in(alice).get(f"/confirmations/{uuid.uuid4()}/").status_code == 404


def test_api_decides(make_user, make_confirmation, event_api):
    c = make_confirmation()
    res = api(c, logged_in(make_user("alice")), {"approved": False, "data": {"why": "not now"}})
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "rejected" and body["approved"] is False
    assert body["decided_by"] == "alice" and body["data"] == {"why": "not now"}
    assert body["decided_at"]
    assert [e["data"]["status"] for e in event_api.received()] == ["rejected"]


def test_api_status_codes(make_user, make_confirmation):
    alice = logged_in(make_user("alice"))
    c = make_confirmation()
    assert api(c, alice, {"approved": True}).status_code == 200

    late = api(c, logged_in(make_user("bob")), {"approved": False})
    assert late.status_code == 409
    assert late.json()["decided_by"] == "alice" and late.json()["status"] == "approved"

    expired = make_confirmation(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    res = api(expired, alice, {"approved": True})
    assert res.status_code == 410 and res.json()["status"] == "expired"

    fresh = make_confirmation(response_schema=SCHEMA)
    res = api(fresh, alice, {"approved": True, "data": {"amount": []}})
    assert res.status_code == 400 and res.json()["errors"][0]["loc"] == ["amount"]
    assert api(fresh, alice, {"approve": "yes"}).status_code == 400
    bad_json = alice.post(
        f"/confirmations/{fresh.token}/decide", "{", content_type="application/json"
    )
    assert bad_json.status_code == 400

    assert api(fresh, Client(), {"approved": True}).status_code == 403
    assert (
        api(fresh, logged_in(make_user("carol", decide=False)), {"approved": True}).status_code
        == 403
    )
    fresh.refresh_from_db()
    assert fresh.status == "pending"

    ghost = make_confirmation()
    ghost.token = uuid.uuid4()
    assert api(ghost, alice, {"approved": True}).status_code == 404
    assert alice.get(f"/confirmations/{fresh.token}/decide").status_code == 405


def test_api_refuses_non_assignees(make_user, make_confirmation):
    c = make_confirmation(assignees=[make_user("alice")])
    res = api(c, logged_in(make_user("bob")), {"approved": True})
    assert res.status_code == 403 and "not among the assignees" in res.json()["error"]
    assert not ConfirmationReply.objects.exists()


def test_csrf_is_enforced_for_session_users(make_user, make_confirmation):
    c = make_confirmation()
    client = logged_in(make_user("alice"), enforce_csrf_checks=True)

    assert api(c, client, {"approved": True}).status_code == 403
    assert client.post(page(c), {"decision": "approve"}).status_code == 403
    c.refresh_from_db()
    assert c.status == "pending"

    client.get(page(c))  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert api(c, client, {"approved": True}, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_the_page_is_styled_without_javascript(make_user, make_confirmation):
    from django.contrib.staticfiles import finders

    c = make_confirmation(message="Ship it?")
    html = logged_in(make_user("alice")).get(page(c)).content.decode()
    assert 'href="/static/django_inngest_realtime/confirmation.css"' in html
    assert "<script" not in html
    assert 'class="inngest-approve"' in html and 'class="inngest-reject"' in html
    stylesheet = finders.find("django_inngest_realtime/confirmation.css")
    assert stylesheet is not None
    css = open(stylesheet).read()
    assert ".inngest-approve" in css and ".inngest-confirmation-page" in css


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_400_and_decides_nothing(make_user, make_confirmation, depth):
    """Nested past the limit (or past Python's recursion limit): a JSON error, not a 500,
    on the API and on the page's form; the confirmation stays pending."""
    alice = logged_in(make_user("alice"))
    c = make_confirmation()
    deep = '{"approved": true, "data": ' + "[" * depth + "]" * depth + "}"
    res = alice.post(f"/confirmations/{c.token}/decide", deep, content_type="application/json")
    assert res.status_code == 400
    assert "nested deeper than" in res.json()["error"]
    form = alice.post(page(c), {"decision": "approve", "response": "[" * depth + "]" * depth})
    assert form.status_code == 400
    assert "nested deeper than" in form.content.decode()
    c.refresh_from_db()
    assert c.status == "pending"
