"""Size limits on what a run returns and keeps, enforced as Inngest does.

Inngest docs, "Usage Limits": "The limit for data returned by a step is ``4MB``";
"Function run state cannot exceed ``32MB``. Its state includes: Event data ..., Step-returned
data ...". Inngest's server (``pkg/consts/consts.go``): ``MaxStepOutputSize = 1024 * 1024 *
4``, ``DefaultMaxStateSizeLimit = 1024 * 1024 * 32``, ``MaxSDKResponseBodySize =
MaxStepOutputSize + MaxStepInputSize``.
"""

from __future__ import annotations

from django_inngest_realtime.testing.inngest_server import InngestServerDouble, Run
from django_inngest_realtime.testing.inngest_server.limits import json_size

TIMEOUT = 60.0
MIB = 1024 * 1024


def fn(name: str) -> str:
    return f"double-app-{name}"


def run_of(server: InngestServerDouble, name: str) -> Run:
    return server.wait_for_run(lambda r: r.function_id == fn(name), TIMEOUT)


def test_the_limits_are_inngests() -> None:
    """Inngest: step output 4 MB, run state 32 MB, a reply from the app at most
    ``MaxStepOutputSize + MaxStepInputSize`` (4 MiB + 4 MiB)."""
    double = InngestServerDouble()
    assert double.options.max_step_output_bytes == 4 * MIB
    assert double.options.max_state_bytes == 32 * MIB
    assert double.options.max_response_bytes == 8 * MIB


def test_a_step_output_over_4_mb_fails_the_run(synced: InngestServerDouble) -> None:
    """Inngest, ``pkg/execution/state``: ``GeneratorOpcode.Validate`` returns
    ``ErrStepOutputTooLarge`` ("step output size is greater than the limit") when the step's
    output, stored as ``{"data": ...}``, is longer than ``MaxStepOutputSize``. A step
    returning 4 MiB of text is over it (the wrapper adds 11 bytes)."""
    synced.send_event("double/big-step", {"size": 4 * MIB})
    run = run_of(synced, "big-step")
    assert run.status == "Failed"
    assert run.error == {"name": "Error", "message": "step output size is greater than the limit"}
    assert run.steps == []  # nothing was memoized


def test_a_step_output_just_under_4_mb_is_kept(synced: InngestServerDouble) -> None:
    """Inngest: the limit is on the stored ``{"data": ...}``; at 4 MiB minus the wrapper the
    step's output is kept and the run goes on."""
    size = 4 * MIB - len('{"data":""}')
    synced.send_event("double/big-step", {"size": size})
    run = run_of(synced, "big-step")
    assert run.status == "Completed", run.error
    assert run.output == size


def test_a_reply_over_the_response_limit_fails_the_attempt(synced: InngestServerDouble) -> None:
    """Inngest, ``tests/`` ``TestFunctionResponseTooLargeFailureWithRetry`` and
    ``TestFnOutputTooLarge``: a function returning ``MaxSDKResponseBodySize + 1`` bytes ends
    ``FAILED`` with ``syscode.CodeOutputTooLarge`` (``"output_too_large"``); the attempt is
    retried first (``retries: 1``)."""
    synced.send_event("double/big-output", {"size": 8 * MIB})  # + 2 quotes as JSON
    run = run_of(synced, "big-output")
    assert run.status == "Failed"
    assert run.error is not None and run.error["name"] == "output_too_large"
    assert [c.attempt for c in run.calls] == [0, 1]


def test_state_over_the_limit_fails_the_run(synced: InngestServerDouble) -> None:
    """Inngest, ``tests/`` state size test: with the function's state size limit set to 1
    byte the run ends ``FAILED`` with output ``{"error":{"error":"InngestErrStateOverflowed:
    The function run exceeded the state size limit of 1 bytes.","name":
    "InngestErrStateOverflowed","message":"The function run exceeded the state size limit of
    1 bytes."}}``."""
    synced.configure(max_state_bytes=1)
    synced.send_event("double/steps", {"n": 4})
    run = run_of(synced, "steps")
    assert run.status == "Failed"
    message = "The function run exceeded the state size limit of 1 bytes."
    assert run.error == {
        "error": f"InngestErrStateOverflowed: {message}",
        "name": "InngestErrStateOverflowed",
        "message": message,
    }


def test_state_counts_the_event_and_every_step(synced: InngestServerDouble) -> None:
    """Inngest: "Its state includes: Event data ..., Step-returned data"; the executor's
    ``validateStateSize`` refuses a step output when ``outputSize + StateSize`` passes the
    limit. A limit that holds the event and two step outputs fails the third step."""
    synced.send_event("double/steps", {"n": 4})
    first = run_of(synced, "steps")
    assert first.status == "Completed", first.error
    kept = json_size(first.event) + json_size({"data": 4}) + json_size({"data": 8})
    synced.configure(max_state_bytes=kept)
    synced.send_event("double/steps", {"n": 4})
    run = synced.wait_for_run(
        lambda r: r.function_id == fn("steps") and r.run_id != first.run_id, TIMEOUT
    )
    assert run.status == "Failed"
    assert run.error is not None and run.error["name"] == "InngestErrStateOverflowed"
    assert [s.error is None for s in run.steps] == [True, True, False]
