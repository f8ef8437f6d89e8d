"""``{% realtime_run_status %}``: the first render, from the channel's history."""

from __future__ import annotations

import html as html_lib
import json
import re
import uuid

import pytest

from django_inngest_realtime import run_status
from django_inngest_realtime.envelope import Message
from django_inngest_realtime.publishing import _deliver_sync
from django_inngest_realtime.run_status import Outcome
from tests.templatetags.test_inngest_realtime import render, split_token

# The run's rows (and the channels broker's history) are in the database.
pytestmark = pytest.mark.django_db

TAG = '{% realtime_run_status ch "logs" %}'


def publish_in_run(name: str, run_id: str, text: str) -> None:
    """What a run's publish sends: a data message carrying the run's id."""
    _deliver_sync(Message(channel=name, topic="logs", data=text, run_id=run_id, fn_id="fn"))


def shown(page: str) -> tuple[str, str, str]:
    """(data-run-status, the status text, the error text) of the widget."""
    status = re.search(r'class="inngest-realtime-run-status" data-run-status="(\w+)"', page)
    text = re.search(r'class="inngest-realtime-run-status"[^>]*>([^<]*)<', page)
    error = re.search(r'class="inngest-realtime-run-error">([^<]*)<', page)
    assert status and text and error, page
    return status.group(1), html_lib.unescape(text.group(1)), html_lib.unescape(error.group(1))


def data_run(page: str) -> dict[str, object] | None:
    found = re.search(r'data-run="([^"]*)"', page)
    return json.loads(html_lib.unescape(found.group(1))) if found else None


def test_no_run_yet_then_running_then_failed_with_its_message_as_text() -> None:
    name, run_id = f"live:{uuid.uuid4().hex}", uuid.uuid4().hex
    page, token = split_token(render(TAG, ch=name))
    assert shown(page) == ("none", "No run yet", "")
    assert data_run(page) is None
    assert token["channel"] == name and token["topics"] == ["logs"]
    assert 'data-inngest-realtime="run"' in page and 'data-since="0"' in page
    assert 'data-label-completed="Completed"' in page

    run_status.begin_sync(run_id, "fn")
    publish_in_run(name, run_id, "working")
    page = render(TAG, ch=name)
    assert shown(page) == ("running", "Running", "")
    assert data_run(page) == {"id": run_id, "status": "running", "error": None}

    failure = Outcome.failed("ValueError", "<b>no</b> such order")
    run_status.end_sync(run_id, "fn", failure, [(name, "logs")])
    page = render(TAG, ch=name)
    assert shown(page) == ("failed", "Failed", "<b>no</b> such order")
    assert "<b>" not in page  # escaped, in the text and in data-run
    error = {"name": "ValueError", "message": "<b>no</b> such order"}
    assert data_run(page) == {"id": run_id, "status": "failed", "error": error}


def test_the_last_run_wins_and_an_ended_run_stays_ended() -> None:
    name, first, second = f"live:{uuid.uuid4().hex}", uuid.uuid4().hex, uuid.uuid4().hex
    publish_in_run(name, first, "one")
    run_status.end_sync(first, "fn", Outcome.completed({"n": 1}), [(name, "logs")])
    assert shown(render(TAG, ch=name))[0] == "completed"
    publish_in_run(name, second, "two")
    assert data_run(render(TAG, ch=name)) == {"id": second, "status": "running", "error": None}
    run_status.end_sync(second, "fn", Outcome.cancelled(), [(name, "logs")])
    assert shown(render(TAG, ch=name)) == ("cancelled", "Cancelled", "")


def test_a_run_channel_shows_its_run_and_is_refused_before_the_run_published() -> None:
    name, run_id = f"live:{uuid.uuid4().hex}", uuid.uuid4().hex
    run_status.begin_sync(run_id, "fn")
    refused = render("{% realtime_run_status ch %}", ch=f"$run:{run_id}")
    assert refused.startswith("<!-- inngest-realtime: not allowed to subscribe")
    publish_in_run(name, run_id, "working")
    run_status.end_sync(run_id, "fn", Outcome.completed("ok"), [(name, "logs")])
    page, token = split_token(render("{% realtime_run_status ch %}", ch=f"$run:{run_id}"))
    assert token["channel"] == f"$run:{run_id}" and token["topics"] == ["run"]
    assert shown(page) == ("completed", "Completed", "")


def test_a_run_channel_whose_history_expired_shows_the_recorded_status() -> None:
    from django_inngest_realtime.models import RunRecord, RunTarget
    from django_inngest_realtime.run_channels import target_key

    name, run_id = f"live:{uuid.uuid4().hex}", uuid.uuid4().hex
    RunRecord.objects.create(run_id=run_id, fn_id="fn", status="completed")
    RunTarget.objects.create(
        run_id=run_id, key=target_key(name, "logs"), channel=name, topic="logs"
    )
    page = render("{% realtime_run_status ch %}", ch=f"$run:{run_id}")
    assert shown(page) == ("completed", "Completed", "")
    assert data_run(page) == {"id": run_id, "status": "completed", "error": None}
