"""The admin: pending first, actions and change-page buttons, all through decide()."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from django_inngest_realtime.confirmations import decide
from django_inngest_realtime.models import Confirmation

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/django_inngest_realtime/confirmation/"
SCHEMA = "tests.confirmations.inngest_app.Budget"


def staff(make_user, name: str, *, decide: bool = True) -> Client:
    client = Client()
    client.force_login(make_user(name, decide=decide, view=True, staff=True))
    return client


def change_url(c: Confirmation) -> str:
    return f"{CHANGELIST}{c.pk}/change/"


def messages_of(res) -> list[str]:
    return [str(m) for m in get_messages(res.wsgi_request)]


def act(client: Client, action: str, *confirmations: Confirmation):
    data = {"action": action, "_selected_action": [c.pk for c in confirmations]}
    return client.post(CHANGELIST, data, follow=True)


def test_changelist_lists_pending_first(make_user, make_confirmation):
    old_pending = make_confirmation(title="old pending")
    old_pending.requested_at = timezone.now() - datetime.timedelta(days=1)
    old_pending.save()
    decided = make_confirmation(title="decided", status="approved")
    new_pending = make_confirmation(title="new pending")

    res = staff(make_user, "alice").get(CHANGELIST)

    assert res.status_code == 200
    shown = list(res.context["cl"].result_list)
    assert shown == [new_pending, old_pending, decided]


def test_changelist_filters_and_search(make_user, make_confirmation):
    make_confirmation(title="deploy", fn_id="app-deploy")
    make_confirmation(title="refund", fn_id="app-refund", status="rejected")
    client = staff(make_user, "alice")
    titles = lambda res: [c.title for c in res.context["cl"].result_list]  # noqa: E731
    assert titles(client.get(CHANGELIST, {"status__exact": "rejected"})) == ["refund"]
    assert titles(client.get(CHANGELIST, {"fn_id__exact": "app-deploy"})) == ["deploy"]
    assert titles(client.get(CHANGELIST, {"q": "refund"})) == ["refund"]


def test_approve_action_goes_through_decide(make_user, make_confirmation, event_api):
    first, second = make_confirmation(), make_confirmation()
    done = make_confirmation()
    client = staff(make_user, "alice")
    act(staff(make_user, "bob"), "reject_selected", done)

    res = act(client, "approve_selected", first, second, done)

    msgs = messages_of(res)
    assert "Approved 2 confirmation(s)." in msgs
    assert any("already rejected by bob" in m for m in msgs)
    statuses = dict(Confirmation.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "approved", second.pk: "approved", done.pk: "rejected"}
    assert Confirmation.objects.get(pk=first.pk).decided_by.username == "alice"
    assert len(event_api.received()) == 3


def test_cancel_action(make_user, make_confirmation):
    c = make_confirmation()
    res = act(staff(make_user, "alice"), "cancel_selected", c)
    assert "Cancelled 1 confirmation(s)." in messages_of(res)
    c.refresh_from_db()
    assert c.status == "cancelled"


def test_actions_need_the_permission(make_user, make_confirmation):
    c = make_confirmation()
    client = staff(make_user, "viewer", decide=False)
    form = client.get(CHANGELIST).context["action_form"]  # None: no action at all
    choices = [name for name, _ in form.fields["action"].choices] if form else []
    assert "approve_selected" not in choices
    act(client, "approve_selected", c)
    c.refresh_from_db()
    assert c.status == "pending"


def test_action_refuses_non_assignees(make_user, make_confirmation):
    c = make_confirmation(assignees=[make_user("alice")])
    res = act(staff(make_user, "bob"), "approve_selected", c)
    assert any("bob is not among the assignees" in m for m in messages_of(res))
    c.refresh_from_db()
    assert c.status == "pending"


def test_change_page_buttons(make_user, make_confirmation, event_api):
    c = make_confirmation()
    client = staff(make_user, "alice")
    html = client.get(change_url(c)).content.decode()
    assert 'name="_approve"' in html and 'name="_reject"' in html

    res = client.post(change_url(c), {"_reject": "Reject"}, follow=True)

    assert "Confirmation rejected." in messages_of(res)
    c.refresh_from_db()
    assert c.status == "rejected" and c.decided_by.username == "alice"
    assert 'name="_approve"' not in res.content.decode()
    late = client.post(change_url(c), {"_approve": "Approve"}, follow=True)
    assert any("already rejected by alice" in m for m in messages_of(late))


def test_change_page_without_permission(make_user, make_confirmation):
    c = make_confirmation()
    client = staff(make_user, "viewer", decide=False)
    html = client.get(change_url(c)).content.decode()
    assert "Confirm to proceed?" in html and 'name="_approve"' not in html

    res = client.post(change_url(c), {"_approve": "Approve"}, follow=True)

    assert any("lacks the permission" in m for m in messages_of(res))
    c.refresh_from_db()
    assert c.status == "pending"


def test_change_page_expired(make_user, make_confirmation):
    c = make_confirmation(expires_at=timezone.now() - datetime.timedelta(seconds=5))
    client = staff(make_user, "alice")
    assert 'name="_approve"' not in client.get(change_url(c)).content.decode()
    res = client.post(change_url(c), {"_approve": "Approve"}, follow=True)
    assert any("expired at" in m for m in messages_of(res))


def test_change_page_response_form(make_user, make_confirmation):
    c = make_confirmation(response_schema=SCHEMA)
    client = staff(make_user, "alice")
    assert "amount (int, required)" in client.get(change_url(c)).content.decode()

    bad = client.post(
        change_url(c), {"_approve": "1", "_decision-response": '{"note": 1}'}, follow=True
    )
    assert any("amount: Field required" in m for m in messages_of(bad))
    broken = client.post(change_url(c), {"_approve": "1", "_decision-response": "{"}, follow=True)
    assert any("Response data" in m for m in messages_of(broken))
    c.refresh_from_db()
    assert c.status == "pending"

    client.post(change_url(c), {"_approve": "1", "_decision-response": '{"amount": 3}'})
    c.refresh_from_db()
    assert (c.status, c.response_data) == ("approved", {"amount": 3, "note": ""})


def test_no_add_and_audit_fields_are_read_only(make_user, make_confirmation):
    c = make_confirmation()
    editor = make_user("editor", staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_confirmation"))
    client = Client()
    client.force_login(editor)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    form = client.get(change_url(c)).context["adminform"].form
    assert set(form.fields) == {"assignees", "assignee_groups"}
    decide(c.token, approved=True, user=editor)
    assert set(client.get(change_url(c)).context["adminform"].form.fields) == set()


def test_change_page_puts_the_decision_above_the_fields(make_user, make_confirmation):
    c = make_confirmation(message="Deploy v2?\n" + "A long explanation.\n" * 200)
    html = staff(make_user, "alice").get(change_url(c)).content.decode()
    decision = html.index('id="confirmation-decision"')
    assert decision < html.index('name="_approve"') < html.index("field-token")
    assert decision < html.index("field-assignees")
    assert html.index("Deploy v2?") < html.index('name="_approve"')
