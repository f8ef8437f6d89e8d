"""``{% realtime_run_status %}``: the status of the last Inngest run heard of on a channel
(running, completed, failed with its error message, cancelled), kept live by ``widgets.js``
from the ``kind: "run"`` messages of ``run_status.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from django_inngest_realtime.brokers import get_broker
from django_inngest_realtime.envelope import Message
from django_inngest_realtime.run_channels import RUN_STATUSES
from django_inngest_realtime.topics import RESERVED_PREFIX, ChannelRef
from django_inngest_realtime.widgets import issue


def labels() -> dict[str, str]:
    """What the widget shows for each status (translatable), and before any run."""
    return {
        "none": gettext("No run yet"),
        "running": gettext("Running"),
        "completed": gettext("Completed"),
        "failed": gettext("Failed"),
        "cancelled": gettext("Cancelled"),
    }


def _error(data: dict[str, Any]) -> dict[str, str] | None:
    error = data.get("error")
    if not isinstance(error, dict):
        return None
    return {k: str(error.get(k, "")) for k in ("name", "message")}


def last_run(messages: Sequence[Message], topics: Sequence[str]) -> dict[str, Any] | None:
    """The last run heard of on ``topics``: ``{id, status, error}``, as ``realtime.js``
    tracks it (a data message of a run: running; a run's end is final)."""
    runs: dict[str, dict[str, Any]] = {}
    last: dict[str, Any] | None = None
    for m in messages:
        if m.topic not in topics or not m.run_id:
            continue
        known = runs.get(m.run_id)
        if known is not None and known["status"] != "running":
            continue  # ended: told already
        data = m.data if isinstance(m.data, dict) else {}
        if m.kind == "run" and data.get("status") in RUN_STATUSES:
            last = {"id": m.run_id, "status": data["status"], "error": _error(data)}
        elif m.kind == "data" and known is None:
            last = {"id": m.run_id, "status": "running", "error": None}
        else:
            continue
        runs[m.run_id] = last
    return last


def _recorded(channel: str) -> dict[str, Any] | None:
    """A run channel's run from its ``RunRecord`` (its messages gone from history)."""
    from django_inngest_realtime.models import RunRecord

    if not channel.startswith(RESERVED_PREFIX):
        return None
    run_id = channel[len(RESERVED_PREFIX) :]
    status = RunRecord.objects.filter(run_id=run_id).values_list("status", flat=True).first()
    return {"id": run_id, "status": status, "error": None} if status else None


def run_status(
    request: HttpRequest | None, channel: ChannelRef | str, topics: Sequence[str] | None = None
) -> SafeString:
    """The status of the last run that published on ``channel`` (``topics``), or of the run
    whose channel it is (``run_channel_ref(run_id)``), kept live."""
    token = issue(request, channel, topics)
    if isinstance(token, SafeString):
        return token
    replay = get_broker().history_sync(token["channel"], 0)
    run = last_run(replay.messages, token["topics"]) or _recorded(token["channel"])
    names = labels()
    status = run["status"] if run else "none"
    error = (run or {}).get("error") or {}
    return mark_safe(
        render_to_string(
            "django_inngest_realtime/widgets/run_status.html",
            {
                "token": token,
                "position": replay.position,
                "run": json.dumps(run) if run else "",
                "status": status,
                "label": names[status],
                "labels": names,
                "error": error.get("message", "") if status == "failed" else "",
            },
        )
    )
