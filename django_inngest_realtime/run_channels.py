"""Each Inngest run's own channel, ``$run:<run_id>``: its status messages (``run_status.py``).

Whoever may subscribe to a channel the run published to may subscribe to the run's channel:
its ``authorize`` runs the ``authorize`` of those channels.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from django_inngest_realtime.topics import RESERVED_PREFIX, Channel, ChannelRef, Topic

#: The topic a run's channel carries, and the topic of its status messages there.
RUN_TOPIC = "run"
#: The statuses that end a run.
TERMINAL_STATUSES = ("completed", "failed", "cancelled")
#: Every status a run's message may carry.
RUN_STATUSES = ("running", *TERMINAL_STATUSES)


def _may_watch(user: Any, run_id: str, request: HttpRequest | None = None) -> bool:
    """True if ``user`` may subscribe to a channel the run published to."""
    from django_inngest_realtime.models import RunTarget
    from django_inngest_realtime.tokens import authorize

    channels = RunTarget.objects.filter(run_id=run_id).values_list("channel", flat=True)
    for name in dict.fromkeys(channels):
        try:
            authorize(name, user, request)
        except (PermissionDenied, LookupError):
            continue
        return True
    return False


run_channel = Channel(f"{RESERVED_PREFIX}{{run_id}}", authorize=_may_watch, reserved=True)
run_channel.add_topic(Topic(RUN_TOPIC))


def run_channel_ref(run_id: str) -> ChannelRef:
    """The channel of run ``run_id`` (``$run:<run_id>``), for tokens and ``subscribe()``."""
    return run_channel(run_id=run_id)


def target_key(channel: str, topic: str) -> str:
    """A fixed-length key for a (channel, topic) pair (``RunTarget.key``)."""
    return hashlib.sha256(f"{channel}\x00{topic}".encode()).hexdigest()


def ended_run(frame: str) -> str | None:
    """The run id if the JSON ``frame`` is a run's end (``kind: "run"``, terminal status)."""
    if '"kind":"run"' not in frame:  # cheap: most frames are data
        return None
    message = json.loads(frame)
    data = message.get("data")
    if message.get("kind") != "run" or not isinstance(data, dict):
        return None
    if data.get("status") not in TERMINAL_STATUSES:
        return None
    return str(message.get("run_id") or "")
