"""SQLite in a file, as a project has it (the embedded default), with another connection
writing at the same moment: the app's own writes wait the writer out instead of failing
with "database is locked" (which would fail the Inngest run that made them).

SQLite refuses a transaction that has read and then wants to write while another
connection writes (to avoid a deadlock it answers "locked" at once, without waiting for its
timeout); the test database is in memory, where that does not show, so this runs a small
project of its own on a database file, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# A project of its own (its settings and database): the same in every configuration.
pytestmark = pytest.mark.config_independent

SCRIPT = r"""
import json, sqlite3, sys, threading
import django
from django.conf import settings

settings.configure(
    SECRET_KEY="test",
    INSTALLED_APPS=[
        "django.contrib.contenttypes", "django.contrib.auth", "django_inngest_realtime",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command

call_command("migrate", verbosity=0)
from django_inngest_realtime import run_status
from django_inngest_realtime.models import RunRecord

def hold(seconds):
    # Another connection takes the write lock and keeps it a moment.
    other = sqlite3.connect(sys.argv[1], isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE django_content_type SET model = model")
    threading.Timer(seconds, other.execute, ["COMMIT"]).start()

RunRecord.objects.exists()  # the connection is open, as in a running server
hold(0.5)
started = run_status.begin_sync("run-1", "fn")
hold(0.5)
ended = run_status.end_sync("run-1", "fn", run_status.Outcome.completed(3), [("c", "t")])
print(json.dumps({
    "started": [m.data for m in started],
    "ended": sorted((m.channel, m.data["status"]) for m in ended),
    "status": RunRecord.objects.get(run_id="run-1").status,
}))
"""


def test_run_status_waits_out_another_writer(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "started": [{"status": "running"}],
        "ended": [["$run:run-1", "completed"], ["c", "completed"]],
        "status": "completed",
    }
