"""Helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.test import override_settings

from django_inngest_realtime import channel, topic


def realtime_settings(**overrides: Any) -> override_settings:
    """``override_settings`` of ``INNGEST_REALTIME`` keys, merged over the active ones, so a
    test in the scaled run keeps the Redis broker (a whole new dict would drop it)."""
    return override_settings(
        INNGEST_REALTIME={**getattr(settings, "INNGEST_REALTIME", {}), **overrides}
    )


#: The channel the publisher processes of the cross-process tests publish on.
cross = channel("r-cross:{id}").add_topic(topic("logs").type(str))

PUBLISHER = """
import django, sys
django.setup()
from django_inngest_realtime import channel, topic, publish_sync
cross = channel("r-cross:{id}").add_topic(topic("logs").type(str))
for i in range(int(sys.argv[2])):
    publish_sync(cross(sys.argv[1]).logs(f"m{i}"))
"""


def run_publisher(channel_id: str, count: int, broker: str | None = None) -> None:
    """Publish ``count`` messages on ``cross(channel_id)`` from a child process."""
    from tests.conftest import child_env

    env = {**os.environ, **child_env()}
    if broker:
        env["TEST_BROKER"] = broker
    subprocess.run(
        [sys.executable, "-c", PUBLISHER, channel_id, str(count)], check=True, env=env, timeout=60
    )
