"""End to end: Django under Daphne serves Inngest functions; the double runs them."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import inngest
import pytest

from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.testing.inngest_server import InngestServerDouble, Run

TIMEOUT = 60.0


def fn(name: str) -> str:
    return f"double-app-{name}"


def run_of(server: InngestServerDouble, name: str, **kwargs: Any) -> Run:
    return server.wait_for_run(lambda r: r.function_id == fn(name), TIMEOUT, **kwargs)


def test_sync_registers_functions_and_triggers(synced: InngestServerDouble) -> None:
    functions = synced.functions
    assert fn("steps") in functions
    assert [t.event for t in functions[fn("steps")].triggers] == ["double/steps"]
    assert functions[fn("flaky")].retries == 2
    assert functions[fn("steps")].retries == 4  # Inngest's default
    assert functions[fn("broken-failure")].triggers[0].event == "inngest/function.failed"


def test_several_steps(synced: InngestServerDouble) -> None:
    synced.send_event("double/steps", {"n": 4})
    run = run_of(synced, "steps")
    assert run.status == "Completed", run.error
    assert run.output == {"n": 4, "doubled": 8, "repeats": [0, 1], "attempt": 0}
    assert run.ops() == ["StepRun"] * 4
    assert [s.display_name for s in run.steps] == ["read", "double", "repeat", "repeat"]
    assert [s.data for s in run.steps] == [4, 8, 0, 1]
    # Reused ids are hashed as "repeat" and "repeat:1" (SDK spec 5.1.2).
    assert run.steps[2].id != run.steps[3].id
    assert all(not call.signed for call in run.calls)
    assert run.event["data"] == {"n": 4} and run.event["id"]


def test_sleep_is_time_compressed(synced: InngestServerDouble) -> None:
    synced.configure(time_scale=0.0)  # the function sleeps for an hour
    synced.send_event("double/sleep")
    run = run_of(synced, "sleeper")
    assert run.status == "Completed", run.error
    assert run.output == "woke"
    assert run.ops() == ["StepRun", "Sleep", "StepRun"]
    assert run.step("nap").data is None


def test_wait_for_event_resumed_by_a_matching_event(synced: InngestServerDouble) -> None:
    request_id = uuid.uuid4().hex
    synced.send_event("double/approval.requested", {"request_id": request_id})
    waiting = run_of(synced, "approval", finished=False)
    waiting = synced.wait_for_run(
        lambda r: r.run_id == waiting.run_id and r.waiting_for is not None, TIMEOUT, finished=False
    )
    assert waiting.waiting_for is not None
    assert waiting.waiting_for["event"] == "double/approval.decided"
    # Neither another request's decision nor another kind of event resumes it.
    synced.send_event("double/approval.decided", {"request_id": "other", "kind": "approval"})
    synced.send_event("double/approval.decided", {"request_id": request_id, "kind": "comment"})
    synced.send_event(
        "double/approval.decided", {"request_id": request_id, "kind": "approval", "ok": True}
    )
    run = synced.wait_for_run(waiting.run_id, TIMEOUT)
    assert run.status == "Completed", run.error
    assert run.output == {"decision": {"request_id": request_id, "kind": "approval", "ok": True}}
    wait = run.step("wait-decision")
    assert wait.op == "WaitForEvent" and not wait.timed_out
    assert wait.data["name"] == "double/approval.decided"


def test_wait_for_event_timeout_returns_none(synced: InngestServerDouble) -> None:
    synced.configure(max_sleep=0.1)  # the wait's one-hour timeout, capped
    synced.send_event("double/approval.requested", {"request_id": "nobody-answers"})
    run = run_of(synced, "approval")
    assert run.status == "Completed", run.error
    assert run.output == {"decision": None}
    assert run.step("wait-decision").timed_out


def test_a_failing_step_is_retried(synced: InngestServerDouble) -> None:
    synced.send_event("double/flaky")
    run = run_of(synced, "flaky")
    assert run.status == "Completed", run.error
    assert run.output == "ok on attempt 1"
    assert run.ops() == ["StepError", "StepRun"]
    first, second = run.steps
    assert first.attempt == 0 and first.error is not None
    assert first.error["message"] == "first attempt fails"
    assert second.attempt == 1


def test_function_errors_use_the_retry_count_then_on_failure_runs(
    synced: InngestServerDouble,
) -> None:
    synced.send_event("double/broken")
    run = run_of(synced, "broken")
    assert run.status == "Failed"
    assert run.error is not None and run.error["message"] == "broken on attempt 1"
    assert [c.attempt for c in run.calls] == [0, 1]  # retries=1
    handler = run_of(synced, "broken-failure")
    assert handler.status == "Completed", handler.error
    assert handler.output["failed_run"] == run.run_id
    assert handler.output["error"]["name"] == "RuntimeError"


def test_non_retriable_error_is_not_retried(synced: InngestServerDouble) -> None:
    synced.send_event("double/non-retriable")
    run = run_of(synced, "non-retriable")
    assert run.status == "Failed"
    assert run.error is not None
    assert run.error["name"] == "NonRetriableError"
    assert run.error["message"] == "do not retry me"
    assert len(run.calls) == 1


def test_parallel_steps_are_planned_then_run(synced: InngestServerDouble) -> None:
    synced.send_event("double/parallel")
    run = run_of(synced, "parallel")
    assert run.status == "Completed", run.error
    assert run.output == ["L", "R", "A"]
    assert run.ops()[:2] == ["StepPlanned", "StepPlanned"]
    assert sorted(s.display_name for s in run.steps if s.op == "StepRun") == [
        "after-parallel",
        "left",
        "right",
    ]
    assert {c.step_id for c in run.calls} > {"step"}  # targeted requests


def test_invoke_runs_the_other_function(synced: InngestServerDouble) -> None:
    synced.send_event("double/invoke")
    run = run_of(synced, "invoker")
    assert run.status == "Completed", run.error
    assert run.output["doubled"] == 42
    assert run.ops() == ["InvokeFunction"]
    child = run_of(synced, "steps")
    assert child.event["name"] == "inngest/function.invoked"


def test_sync_function(synced: InngestServerDouble) -> None:
    synced.send_event("double/sync")
    run = run_of(synced, "sync-steps")
    assert run.status == "Completed", run.error
    assert run.output == "12"


def test_unsupported_opcode_fails_loudly(synced: InngestServerDouble) -> None:
    synced.send_event("double/ai")
    run = run_of(synced, "ai")
    assert run.status == "Failed"
    assert run.error is not None and run.error["name"] == "UnsupportedOpcode"
    assert "AIGateway" in run.error["message"]
    assert run.ops() == ["AIGateway"]


def test_unsupported_expression_fails_loudly(synced: InngestServerDouble) -> None:
    synced.send_event("double/bad-expression")
    run = run_of(synced, "bad-expression")
    assert run.status == "Failed"
    assert run.error is not None and run.error["name"] == "UnsupportedExpression"
    assert "size(async.data.items) > 2" in run.error["message"]


def test_send_from_django_reaches_the_double(
    synced: InngestServerDouble, app: DaphneServer
) -> None:
    res = httpx.post(f"{app.url}/send/double/steps", json={"n": 5}, timeout=TIMEOUT)
    res.raise_for_status()
    ids = res.json()["ids"]
    assert len(ids) == 1
    assert any(e["name"] == "double/steps" and e["data"] == {"n": 5} for e in synced.events)
    run = run_of(synced, "steps")
    assert run.output["doubled"] == 10


async def test_publish_reaches_a_subscriber_and_the_realtime_endpoint(
    synced: InngestServerDouble, app: DaphneServer
) -> None:
    name = f"double:{uuid.uuid4().hex}"
    frames: list[dict[str, Any]] = []

    async def subscriber() -> None:
        url = f"{app.url}/stream/{name}"
        params = {"since": "0", "topic": "logs"}
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            async with client.stream("GET", url, params=params) as res:
                async for line in res.aiter_lines():
                    if line.startswith("data:"):
                        frame = json.loads(line[5:])
                        if frame.get("kind") == "data":
                            frames.append(frame)
                            return

    task = asyncio.create_task(subscriber())
    synced.send_event("double/publish", {"id": name.split(":", 1)[1]})
    run = await synced.wait_for_run_async(lambda r: r.function_id == fn("publisher"), TIMEOUT)
    assert run.status == "Completed", run.error
    await asyncio.wait_for(task, TIMEOUT)
    assert frames[0]["data"] == "x"
    assert frames[0]["channel"] == name
    assert frames[0]["run_id"] == run.run_id
    assert frames[0]["fn_id"] == fn("publisher")
    assert run.ops() == ["StepRun"]
    assert run.steps[0].display_name == f"publish:{name}"
    published = [m for m in synced.published if m.channel == name]
    assert [(m.topic, m.data, m.accepted) for m in published] == [("logs", "x", True)]


def test_refused_realtime_publish_fails_the_run_clearly(synced: InngestServerDouble) -> None:
    synced.refuse_publish(401, "no such key")
    synced.send_event("double/publish", {"id": "refused"})
    run = run_of(synced, "publisher")
    assert run.status == "Failed"
    assert run.error is not None
    assert "refused the forward" in run.error["message"]
    assert "401" in run.error["message"]
    refused = [m for m in synced.published if m.channel == "double:refused"]
    assert refused and not any(m.accepted for m in refused)


async def test_client_send_with_constructor_urls(inngest_server: InngestServerDouble) -> None:
    client = inngest.Inngest(
        app_id="elsewhere",
        is_production=False,
        api_base_url=inngest_server.url,
        event_api_base_url=inngest_server.url,
    )
    ids = await client.send(
        [inngest.Event(name="double/one", data={"a": 1}), inngest.Event(name="double/two")]
    )
    assert len(ids) == 2 and len(set(ids)) == 2
    assert [e["name"] for e in inngest_server.events] == ["double/one", "double/two"]


def test_client_send_with_the_fixture_environment(inngest_server: InngestServerDouble) -> None:
    client = inngest.Inngest(app_id="from-env")  # reads INNGEST_DEV set by the fixture
    assert client.event_api_origin.rstrip("/") == inngest_server.url
    ids = client.send_sync(inngest.Event(name="double/env", data={"b": 2}))
    assert len(ids) == 1
    assert inngest_server.events[-1]["data"] == {"b": 2}


def test_runs_lists_every_run(synced: InngestServerDouble) -> None:
    synced.send_event([{"name": "double/sync"}, {"name": "double/sync"}])
    synced.wait_for_run(
        lambda r: r.function_id == fn("sync-steps") and len(synced.runs(fn("sync-steps"))) == 2,
        TIMEOUT,
    )
    runs = synced.runs(fn("sync-steps"))
    assert len(runs) == 2 and len({r.run_id for r in runs}) == 2


@pytest.mark.parametrize("event_id", ["same-id"])
def test_events_with_the_same_id_run_once(synced: InngestServerDouble, event_id: str) -> None:
    synced.send_event({"name": "double/sync", "id": event_id})
    synced.send_event({"name": "double/sync", "id": event_id})
    run_of(synced, "sync-steps")
    assert len([e for e in synced.events if e["id"] == event_id]) == 2
    assert len(synced.runs(fn("sync-steps"))) == 1


async def test_the_double_on_the_tests_own_event_loop(app: DaphneServer, double_port: int) -> None:
    async with InngestServerDouble(port=double_port) as server:
        with pytest.raises(RuntimeError, match="sync_async"):
            server.sync(f"{app.url}/api/inngest")
        assert fn("steps") in await server.sync_async(f"{app.url}/api/inngest")
        server.send_event("double/steps", {"n": 1})
        with pytest.raises(RuntimeError, match="wait_for_run_async"):
            server.wait_for_run(lambda r: True)
        run = await server.wait_for_run_async(lambda r: r.function_id == fn("steps"), TIMEOUT)
        assert run.status == "Completed", run.error
        assert run.output["doubled"] == 2
