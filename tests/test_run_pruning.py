"""Finished runs' status rows are pruned after ``RUN_STATUS_TTL`` (``run_status.py``)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from django_inngest_realtime import run_status
from django_inngest_realtime.models import RunRecord, RunTarget
from django_inngest_realtime.run_channels import target_key
from tests.helpers import realtime_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_other_runs() -> None:
    """Only this test's runs: others' may be left in the database by transactional tests
    (the SDK's test runner names every run "test")."""
    RunTarget.objects.all().delete()
    RunRecord.objects.all().delete()


def record(run_id: str, status: str, age: datetime.timedelta) -> None:
    when = timezone.now() - age
    RunRecord.objects.create(run_id=run_id, status=status, started_at=when, updated_at=when)
    RunTarget.objects.create(
        run_id=run_id,
        key=target_key(f"live:{run_id}", "logs"),
        channel=f"live:{run_id}",
        topic="logs",
    )


def runs() -> set[str]:
    return set(RunRecord.objects.values_list("run_id", flat=True))


def targets() -> set[str]:
    return set(RunTarget.objects.values_list("run_id", flat=True))


def test_new_runs_prune_finished_runs_older_than_the_ttl_now_and_then() -> None:
    week = datetime.timedelta(days=7)
    for status in ("completed", "failed", "cancelled"):
        record(f"old-{status}", status, week + datetime.timedelta(minutes=1))
    record("old-running", "running", week * 4)  # still running: kept, however old
    record("recent", "completed", week - datetime.timedelta(minutes=1))
    started = []
    with realtime_settings(BROKER="local"):
        for i in range(run_status.PRUNE_EVERY):
            started.append(f"new-{i}")
            assert run_status.begin_sync(f"new-{i}", "fn")  # each start sent once
            if "old-completed" not in runs():
                break
    assert runs() == {"old-running", "recent", *started}
    assert targets() == {"old-running", "recent"}


def test_the_ttl_is_a_setting() -> None:
    record("two-hours", "failed", datetime.timedelta(hours=2))
    record("half-hour", "completed", datetime.timedelta(minutes=30))
    assert run_status.prune_runs() == 0  # the default keeps a week
    with realtime_settings(RUN_STATUS_TTL=3600):
        assert run_status.prune_runs() == 1
    assert runs() == targets() == {"half-hour"}
