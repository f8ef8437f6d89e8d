"""Function ``timeouts`` and runs scheduled by a future event ``ts``, as Inngest has them.

Inngest docs, "Cancel on timeouts": "``timeouts.start``, which controls how long a function
can stay "queued" before they start"; "``timeouts.finish``, which controls how long a
function can execute once started"; "Runs that are cancelled due to a timeout trigger an
``inngest/function.cancelled`` event". Inngest's executor (``pkg/execution/executor``):
"Schedule functions in the future if there's a future event ``ts`` field".
"""

from __future__ import annotations

import pytest

from django_inngest_realtime.testing.inngest_server import InngestServerDouble, Run
from django_inngest_realtime.testing.inngest_server.timeouts import Timeouts
from django_inngest_realtime.testing.inngest_server.timing import now_ms

TIMEOUT = 60.0
HOUR_MS = 3_600_000


def fn(name: str) -> str:
    return f"double-app-{name}"


def run_of(server: InngestServerDouble, name: str, *, finished: bool = True) -> Run:
    return server.wait_for_run(lambda r: r.function_id == fn(name), TIMEOUT, finished=finished)


def test_timeouts_are_read_from_the_sync(synced: InngestServerDouble) -> None:
    """The Python SDK sends ``timeouts=inngest.Timeouts(finish=timedelta(minutes=10))`` as
    ``{"finish": "10m"}``; the double keeps it instead of ignoring it."""
    assert synced.functions[fn("finish-timeout")].timeouts == Timeouts(finish=600.0)
    assert synced.functions[fn("start-timeout")].timeouts == Timeouts(start=600.0)
    assert "timeouts" not in synced.functions[fn("finish-timeout")].ignored_config
    assert Timeouts.from_config({"start": "1m30s", "finish": "2h"}) == Timeouts(90.0, 7200.0)
    with pytest.raises(ValueError):
        Timeouts.from_config({"finish": "soon"})


def test_a_run_past_its_finish_timeout_is_cancelled(synced: InngestServerDouble) -> None:
    """Inngest: "``timeouts.finish`` - Adding timeouts to executing runs ... This example
    forces runs to cancel if it takes over 30 seconds to finish, once started"; "Inngest can
    stop a queued run before it starts or stop a sleeping run before its next step" (docs,
    "Cancellation"). The run sleeps an hour with a ten-minute finish timeout: it is
    cancelled during the sleep, and the step after it never runs. The cancellation sends
    ``inngest/function.cancelled`` whose ``error`` is "always "function cancelled""."""
    synced.configure(time_scale=0.0)  # the hour and the ten minutes keep their order
    synced.send_event("double/finish-timeout", {"minutes": 60})
    run = run_of(synced, "finish-timeout")
    assert run.status == "Cancelled"
    assert run.error == {"name": "Error", "message": "function cancelled"}
    assert [s.display_name for s in run.steps] == ["before"]
    cancelled = [e for e in synced.events if e["name"] == "inngest/function.cancelled"]
    assert len(cancelled) == 1
    data = cancelled[0]["data"]
    assert data["run_id"] == run.run_id and data["function_id"] == fn("finish-timeout")
    assert data["error"] == {"name": "Error", "message": "function cancelled"}
    assert data["event"]["name"] == "double/finish-timeout"
    handler = run_of(synced, "on-cancelled")
    assert handler.status == "Completed", handler.error
    assert handler.output["cancelled_run"] == run.run_id


def test_a_run_within_its_finish_timeout_completes(synced: InngestServerDouble) -> None:
    """Inngest: "Once started, the ``timeouts.finish`` duration limits how long a run can
    execute": a five-minute sleep under a ten-minute finish timeout is not cancelled, even
    with every delay compressed to nothing."""
    synced.configure(time_scale=0.0)
    synced.send_event("double/finish-timeout", {"minutes": 5})
    run = run_of(synced, "finish-timeout")
    assert run.status == "Completed", run.error
    assert run.output == "after"
    assert not [e for e in synced.events if e["name"] == "inngest/function.cancelled"]


def test_a_step_executing_at_the_deadline_finishes_then_the_run_is_cancelled(
    synced: InngestServerDouble,
) -> None:
    """Inngest: "Step duration is unaffected by timeouts" (docs, "Cancel on timeouts"); "If
    a step is already executing, that step finishes. The run is then marked canceled and
    later steps do not run" (docs, "Cancellation"). The step takes 1.5 s under a 1 s finish
    timeout: the app answers it (HTTP 206), its result is not kept, ``after`` never runs."""
    synced.send_event("double/slow-step")
    run = run_of(synced, "slow-step")
    assert run.status == "Cancelled"
    assert [call.status for call in run.calls] == [206]
    assert run.steps == []


def test_a_parallel_step_executing_when_another_branch_passes_the_deadline_finishes(
    synced: InngestServerDouble,
) -> None:
    """Inngest: "Cancelling a function that has a currently executing step will not stop
    the step's execution. Any actively executing steps will run to completion" (docs,
    "Cancellation"). In a parallel group one branch sleeps an hour under a ten-minute
    finish timeout while the other's step is executing: the run is cancelled, and the
    executing step's request still gets its answer."""
    synced.configure(time_scale=0.0)
    synced.send_event("double/parallel-timeout")
    run = run_of(synced, "parallel-timeout")
    assert run.status == "Cancelled"
    assert [call.status for call in run.calls] == [206, 206]  # discovery, then the step
    assert run.calls[1].step_id != "step"
    assert run.ops() == ["StepPlanned"]  # planned, never memoized


def test_a_run_not_started_within_its_start_timeout_is_cancelled(
    synced: InngestServerDouble,
) -> None:
    """Inngest: "``timeouts.start`` ... This example forces runs to cancel if it takes over
    10 seconds to successfully start the first step of a run"; the executor schedules a run
    at its event's future ``ts``. An event an hour ahead, a ten-minute start timeout: the
    run is cancelled before the app is ever called."""
    synced.configure(time_scale=0.0)
    synced.send_event({"name": "double/start-timeout", "ts": now_ms() + HOUR_MS})
    run = run_of(synced, "start-timeout")
    assert run.status == "Cancelled"
    assert run.calls == [] and run.steps == []


def test_a_run_started_within_its_start_timeout_runs(synced: InngestServerDouble) -> None:
    """Inngest: "Once the first attempt of a step begins, the ``timeouts.start`` property no
    longer applies": an event five minutes ahead starts its run within the ten minutes."""
    synced.configure(time_scale=0.0)
    synced.send_event({"name": "double/start-timeout", "ts": now_ms() + HOUR_MS // 12})
    run = run_of(synced, "start-timeout")
    assert run.status == "Completed", run.error
    assert run.output == "ran"


def test_a_future_ts_queues_the_run(synced: InngestServerDouble) -> None:
    """Inngest: "The ``ts`` field in the event payload should be set to the time you want
    the function to run" (docs, "Scheduling a one-off function"). At real speed the run
    stays ``Queued`` and the app is not called."""
    synced.send_event({"name": "double/steps", "data": {"n": 1}, "ts": now_ms() + HOUR_MS})
    run = run_of(synced, "steps", finished=False)
    assert run.status == "Queued"
    assert run.calls == [] and not run.finished
